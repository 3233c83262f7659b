"""Arena's built-in load generator: vllm bench serve and llama-benchy semantics, one clock."""

from agent.generator.client import Endpoint
from agent.generator.clock import JobClock
from agent.generator.context import Progress, ProgressSink, SampleSink
from agent.generator.open_loop import ClientLoad
from agent.generator.runner import run_benchmark
from agent.generator.tokens import (
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
