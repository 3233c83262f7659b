"""Built-in benchmark sets and the suite-file loader."""
