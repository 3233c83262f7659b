"""Session traces: Arena's own versioned format, Mooncake files, and the seeded generator."""
