"""Alembic revisions of the controller's schema (docs/database.md: adding one)."""
