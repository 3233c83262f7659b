"""Signed provenance: what a job ran and measured, hashed into a manifest its agent signs."""
