"""Figures read across stored results (cross-run aggregation, rankings, capacity, the Pareto
frontier): pure computation, shown by arenactl."""
