"""A program imported without its extra's packages names the extra to install."""

import pytest

from arena.common.extras import require_extra


def test_a_missing_package_names_the_extra_and_every_missing_module() -> None:
    with pytest.raises(ImportError) as raised:
        require_extra("arena.agent", "agent", ("json", "no_such_module_a", "no_such_module_b"))
    assert str(raised.value) == (
        "arena.agent needs the agent extra (missing: no_such_module_a, no_such_module_b): "
        "pip install 'arena[agent]'"
    )
    assert raised.value.name == "no_such_module_a"


def test_installed_packages_pass() -> None:
    require_extra("arena.agent", "agent", ("json", "sqlite3"))
