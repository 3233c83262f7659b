"""The synthetic ShareGPT-format stand-in shipped with Arena (ShareGPT V3 itself is not bundled).

It has ShareGPT V3's shape and plausible turn lengths, but made-up text: results obtained with it
are labelled, never passed off as ShareGPT results.
"""

from pathlib import Path

SHAREGPT_STANDIN_RELPATH = "shared/arena/common/suites/data/sharegpt-synthetic.json"


def sharegpt_standin_path() -> Path:
    """Where the stand-in lives in this installation: the file an agent loads when a ShareGPT
    benchmark has no ``dataset_path``."""
    return Path(__file__).resolve().parent / "data" / "sharegpt-synthetic.json"


def sharegpt_standin_note(benchmark_id: str) -> str:
    return (
        f"{benchmark_id}: synthetic ShareGPT-format stand-in ({SHAREGPT_STANDIN_RELPATH}), "
        "not the real ShareGPT V3"
    )
