"""Rows of computed metrics (``AggregateRow``); what they hold is decided in
``arena.controller.results``."""

SUMMARY_RUN = -1
"""``AggregateRow.run`` of the summary over a variant's runs (a measured run is 0, 1, …)."""
