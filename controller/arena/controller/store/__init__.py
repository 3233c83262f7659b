"""Persistence through SQLModel: table definitions, the engine, and the repository."""
