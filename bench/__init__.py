"""Measurement scripts: timing fidelity, client capacity and parity with the reference tools."""
