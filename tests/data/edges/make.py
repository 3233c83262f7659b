"""Two profile folders with the edges the reference set has too rarely to test, made from
copies of reference folders (never edited in place):

- ``failed-sweep/…/bf16``: ministral-3-3b's folder as a runner leaves it when the server dies
  before the first rate-sweep step: summary without steps, no step files, telemetry kept;
  a spec-decode vLLM result; a telemetry cell of ``[N/A]``; and a benchmark where half the
  requests failed.
- ``failing-step/…/mxfp4``: gpt-oss-20b's folder whose 1.0 req/s sweep step lost 40 % of its
  requests.

Usage: ``python tests/data/edges/make.py SOURCE_RESULTS_DIR TARGET_DIR``
"""

import json
import shutil
import sys
from pathlib import Path

SPEC_DECODE = {
    "spec_decode_acceptance_rate": 62.5,
    "spec_decode_acceptance_length": 2.875,
    "spec_decode_num_drafts": 1200,
    "spec_decode_draft_tokens": 3600,
    "spec_decode_accepted_tokens": 2250,
}


def _edit_json(path: Path, **changes: object) -> None:
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document, indent=2))


def failed_sweep(source: Path, target: Path) -> Path:
    folder = target / "failed-sweep/ministral-3-3b-instruct/bf16"
    shutil.copytree(source / "ministral-3/ministral-3-3b-instruct/bf16", folder)
    for step in folder.glob("11-rate-sweep-*.json"):
        step.unlink()
    _edit_json(
        folder / "11-rate-sweep.json",
        aborted_at_rps=None,
        capacity_by_slo_ms={"2000": None, "5000": None, "10000": None},
        queue_knee_rps=None,
        steps=[],
    )
    sharegpt = folder / "08-sharegpt.json"
    _edit_json(sharegpt, **SPEC_DECODE)
    reasoning = folder / "09-reasoning.json"
    document = json.loads(reasoning.read_text())
    half = document["completed"] // 2
    _edit_json(reasoning, completed=document["completed"] - half, failed=half)
    telemetry = folder / "01-telemetry.csv"
    lines = telemetry.read_text().splitlines()
    cells = lines[2].split(",")
    cells[1] = "[N/A]"
    lines[2] = ",".join(cells)
    telemetry.write_text("\n".join(lines) + "\n")
    return folder


def failing_step(source: Path, target: Path) -> Path:
    folder = target / "failing-step/gpt-oss-20b/mxfp4"
    shutil.copytree(source / "gpt-oss/gpt-oss-20b/mxfp4", folder)
    summary = folder / "11-rate-sweep.json"
    document = json.loads(summary.read_text())
    for step in document["steps"]:
        if step["configured_rps"] == 1.0:
            step["completed"] = int(step["total_requests"] * 0.6)
    summary.write_text(json.dumps(document, indent=2))
    return folder


def main(source: Path, target: Path) -> None:
    failed_sweep(source, target)
    failing_step(source, target)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
