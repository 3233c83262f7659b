"""Arena's built-in load generator: vllm bench serve and llama-benchy semantics, one clock."""

from agent.generator.client import Endpoint
from agent.generator.clock import JobClock
from agent.generator.context import Progress, ProgressSink, SampleSink
from agent.generator.runner import run_benchmark
from agent.generator.tokens import ServerTokenizer, Tokenizer, TokenizerError

__all__ = [
    "Endpoint",
    "JobClock",
    "Progress",
    "ProgressSink",
    "SampleSink",
    "ServerTokenizer",
    "Tokenizer",
    "TokenizerError",
    "run_benchmark",
]
