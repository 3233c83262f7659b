"""The Arena controller: stores suites, runs, jobs and samples, and schedules jobs to agents."""
