"""Arena's version, read from the installed distribution: pyproject.toml is the one place it is
written."""

import importlib.metadata


def arena_version() -> str:
    try:
        return importlib.metadata.version("arena")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"  # running from a checkout that was never installed
