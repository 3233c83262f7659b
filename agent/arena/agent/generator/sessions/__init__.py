"""Session benchmarks: multi-turn conversations replayed from a trace, on the open loop's clock."""
