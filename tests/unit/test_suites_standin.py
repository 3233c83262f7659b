"""The synthetic ShareGPT stand-in: V3's shape, plausible lengths, reproducible from its script."""

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from arena.common.suites.standin import SHAREGPT_STANDIN_RELPATH, sharegpt_standin_path

REPO = Path(__file__).resolve().parents[2]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "standin", REPO / "scripts/make_sharegpt_standin.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_path_is_the_packaged_file() -> None:
    path = sharegpt_standin_path()
    assert path == REPO / SHAREGPT_STANDIN_RELPATH
    assert path.stat().st_size < 1.5e6


def test_sharegpt_v3_shape_and_lengths() -> None:
    data = json.loads(sharegpt_standin_path().read_text(encoding="utf-8"))
    assert isinstance(data, list) and 350 <= len(data) <= 450
    assert len({item["id"] for item in data}) == len(data)
    for item in data:
        assert set(item) == {"id", "conversations"}
        for index, turn in enumerate(item["conversations"]):
            assert set(turn) == {"from", "value"}
            assert turn["from"] == ("human" if index % 2 == 0 else "gpt")
            words = len(turn["value"].split())
            assert (10 <= words <= 400) if turn["from"] == "human" else (20 <= words <= 600)
    turns = [len(item["conversations"]) for item in data]
    assert 0.05 < turns.count(1) / len(turns) < 0.25  # the ≥ 2-turn filter has work to do
    assert max(turns) >= 4


def test_committed_file_matches_its_generator() -> None:
    module = generator()
    assert module.render(module.generate()) == sharegpt_standin_path().read_text(encoding="utf-8")
    assert module.generate(seed=1, count=5) != module.generate(seed=2, count=5)
