"""Figures read across stored results (capacity, Pareto frontier, rankings): pure computation."""
