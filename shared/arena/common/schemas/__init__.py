"""Pydantic schemas at every boundary: suite files, samples, agents, jobs, results."""
