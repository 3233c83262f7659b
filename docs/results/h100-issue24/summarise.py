"""Per closed-loop variant of an export folder: tg t/s of each run, the mean and the spread.

Usage: python summarise.py FOLDER... (PYTHONPATH with the checkout's shared/, controller/, agent/)
"""

import sys
from collections import defaultdict

from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.schemas.sample import RequestSample


def summarise(folder: str) -> None:
    runs: dict[tuple[str, str, int], list[RequestSample]] = defaultdict(list)
    with open(f"{folder}/samples.jsonl") as lines:
        for line in lines:
            sample = RequestSample.model_validate_json(line)
            runs[(sample.benchmark, sample.variant, sample.run)].append(sample)
    table: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for (bench, variant, run), samples in sorted(runs.items()):
        concurrency = int(variant.rsplit("/c", 1)[1])
        tg = closed_loop_metrics(samples, concurrency=concurrency)["tg_throughput"]
        table[(bench, variant)][run] = tg or 0.0
    print(folder)  # noqa: T201 (a script that prints its table)
    for (bench, variant), per_run in table.items():
        values = [per_run[run] for run in sorted(per_run)]
        mean = sum(values) / len(values)
        spread = max(abs(value - mean) for value in values) / mean * 100
        shown = " ".join(f"{value:8.1f}" for value in values)
        print(f"  {bench:16} {variant:20} {shown}  mean {mean:8.1f}  ±{spread:4.1f} %")  # noqa: T201


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        summarise(argument)
