"""Arena's built-in load generator: vllm bench serve and llama-benchy semantics, one clock."""

from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import Progress, ProgressSink, SampleSink
from arena.agent.generator.open_loop import ClientLoad
from arena.agent.generator.runner import run_benchmark
from arena.agent.generator.tokens import (
    LocalTokenizer,
    ServerTokenizer,
    Tokenizer,
    TokenizerError,
    make_tokenizer,
)

__all__ = [
    "ClientLoad",
    "Endpoint",
    "JobClock",
    "LocalTokenizer",
    "Progress",
    "ProgressSink",
    "SampleSink",
    "ServerTokenizer",
    "Tokenizer",
    "TokenizerError",
    "make_tokenizer",
    "run_benchmark",
]
