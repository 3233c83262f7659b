"""Analysis across the runs the store holds: cross-run aggregation and reference rankings."""
