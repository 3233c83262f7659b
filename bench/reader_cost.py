"""What the stream reader costs per chunk, this tree against a baseline tree, side by side.

The reader (``client._StreamReader``) runs for every chunk of every request inside the
measurement window. Since issue 24 it also tells reasoning from content (for TTFC) and keeps
each chunk's text, still JSON-escaped, for the tokenizer to count after the run; this bench
shows what that costs. One llama.cpp-shaped and one vLLM-shaped chunk of each channel are fed
``--chunks`` times to fresh readers of 1,000 chunks each (a request's worth); the best of
``--repeats`` runs is printed in µs per chunk, with the ratio to the baseline. The two trees
take turns for ``--rounds`` rounds and each keeps its best, so that a busy moment of a shared
machine does not land on one side only.

Usage: ``python -m bench.reader_cost [--baseline DIR] [--chunks 200000] [--repeats 5]
[--rounds 3]``;
``DIR`` holds another checkout's ``agent`` and ``shared`` folders (e.g. ``git archive main``).
"""

import argparse
import json
import os
import subprocess
import sys
import time

LLAMA = (
    '{"choices":[{"finish_reason":null,"index":0,"delta":{"%s":" word"}}],'
    '"created":1796656808,"id":"chatcmpl-3f1c2a","model":"tiny","system_fingerprint":'
    '"b6500-2a4b5c","object":"chat.completion.chunk"}'
)
VLLM = (
    '{"id":"chatcmpl-9c0e6b2d","object":"chat.completion.chunk","created":1796656808,'
    '"model":"tiny","choices":[{"index":0,"delta":{"%s":" word"},"logprobs":null,'
    '"finish_reason":null}]}'
)
CASES = {
    "llama.cpp content": LLAMA % "content",
    "llama.cpp reasoning_content": LLAMA % "reasoning_content",
    "vLLM content": VLLM % "content",
    "vLLM reasoning": VLLM % "reasoning",
}
PER_REQUEST = 1000


def cost_us(payload: str, chunks: int, repeats: int) -> float:
    """Best-of-``repeats`` µs per chunk of ``_StreamReader.apply`` on ``payload``."""
    from arena.agent.generator.client import Measurement, _StreamReader

    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(chunks // PER_REQUEST):
            reader = _StreamReader(Measurement(sent_s=0.0))
            for position in range(PER_REQUEST):
                reader.apply(payload, float(position))
        best = min(best, time.perf_counter() - started)
    return best / chunks * 1e6


def measure(chunks: int, repeats: int) -> dict[str, float]:
    return {name: cost_us(payload, chunks, repeats) for name, payload in CASES.items()}


def baseline(folder: str, chunks: int, repeats: int) -> dict[str, float]:
    """The same measurement in a child process whose ``arena`` comes from ``folder``."""
    paths = [os.path.join(folder, part) for part in ("agent", "shared")]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(paths)}
    argv = [sys.executable, "-m", "bench.reader_cost", "--json"]
    argv += ["--chunks", str(chunks), "--repeats", str(repeats)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = json.loads(out)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", metavar="DIR")
    parser.add_argument("--chunks", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chunks < PER_REQUEST or args.repeats < 1 or args.rounds < 1:
        parser.error(f"--chunks must be at least {PER_REQUEST}, --repeats and --rounds 1")
    if args.json:
        print(json.dumps(measure(args.chunks, args.repeats)))
        return
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for _ in range(args.rounds):
        if args.baseline:
            earlier = baseline(args.baseline, args.chunks, args.repeats)
            before = {k: min(v, before.get(k, v)) for k, v in earlier.items()}
        now = measure(args.chunks, args.repeats)
        after = {k: min(v, after.get(k, v)) for k, v in now.items()}
    print(
        f"stream reader, µs per chunk (best of {args.rounds} rounds × {args.repeats} × "
        f"{args.chunks:,} chunks)"
    )
    print(f"{'chunk':<30} {'baseline':>9} {'this tree':>9} {'ratio':>6}")
    for name, best in after.items():
        then = before.get(name)
        ratio = f"{best / then:6.2f}" if then else "     —"
        shown = f"{then:9.3f}" if then else "        —"
        print(f"{name:<30} {shown} {best:9.3f} {ratio}")


if __name__ == "__main__":
    main()
