"""What the ingest checks cost, measured side by side in one process: a 200-sample batch (the
agent's default) of 256-chunk samples through ``columns_pass`` (what ingest runs on every
batch) and ``batch_problems`` (only for a batch the columns do not pass), against reading the
same messages into columns (what ingest does anyway), log-line redaction, and the sample
digest a manifest signs (computed once per job).

    .venv/bin/python -m bench.sanity_cost
"""

import time
from collections.abc import Callable

from arena.common.metrics.sanity import SampleBounds, SampleColumns, batch_problems, columns_pass
from arena.common.pb.arena.v2 import common_pb2
from arena.common.provenance.manifest import samples_sha256
from arena.common.redact import SHAPES_ONLY
from arena.common.schemas.sample import RequestSample
from arena.common.wire import flat_columns, to_message

BATCH, CHUNKS, ROUNDS = 200, 256, 20


def sample(index: int) -> RequestSample:
    chunks = [1.0 + 0.01 * i for i in range(CHUNKS)]
    return RequestSample(
        benchmark="chat",
        variant="v",
        run=0,
        index=index,
        sent_s=0.5,
        first_response_s=0.9,
        first_token_s=1.0,
        end_s=chunks[-1],
        chunk_times_s=chunks,
        prompt_tokens=1024,
        completion_tokens=CHUNKS,
        max_tokens=CHUNKS,
    )


def per_round(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(ROUNDS):
        work()
    return (time.perf_counter() - start) / ROUNDS


def main() -> None:
    samples = [sample(i) for i in range(BATCH)]
    messages = [to_message(s, common_pb2.RequestSample) for s in samples]
    columns = SampleColumns.of(samples)
    bounds = SampleBounds({"chat": {"v": CHUNKS}}, 3, 1e6, 1 << 20, 1 << 20)
    assert not batch_problems(samples, bounds) and columns_pass(columns, bounds)
    lines = [f"INFO 12-03 engine step {i}: 256 tokens, prompt_tokens=1024 ok" for i in range(BATCH)]
    quick = per_round(lambda: columns_pass(columns, bounds))
    check = per_round(lambda: batch_problems(columns.records(), bounds))
    parse = per_round(lambda: flat_columns(messages, RequestSample))
    redact = per_round(lambda: [SHAPES_ONLY.text(line) for line in lines])
    digest = per_round(lambda: samples_sha256(samples))
    print(f"batch of {BATCH} samples × {CHUNKS} chunks, mean of {ROUNDS} rounds")
    print(f"  column checks   {quick * 1e3:8.2f} ms  ({quick / BATCH * 1e6:.1f} µs/sample)")
    print(
        f"  sample checks   {check * 1e3:8.2f} ms  (only for a batch the columns refuse; "
        f"{check / quick:.0f}x)"
    )
    print(
        f"  proto → columns {parse * 1e3:8.2f} ms  (ratio column checks/parse {quick / parse:.2f})"
    )
    print(f"  redact {BATCH} log lines {redact * 1e3:8.2f} ms")
    print(f"  manifest digest {digest * 1e3:8.2f} ms  (once per job, at the end)")


if __name__ == "__main__":
    main()
