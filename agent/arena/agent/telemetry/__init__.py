"""GPU telemetry while a job runs: NVML readings on the job's clock, streamed like samples."""
