"""Arena's simulated inference engine: an OpenAI-compatible server with predictable speed.

It models prefill and decode with continuous batching, so tests and the no-GPU demo can
assert TTFT and throughput; every response it sends says it is simulated.
"""
