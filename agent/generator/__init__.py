"""Arena's built-in load generator: vllm bench serve and llama-benchy semantics, one clock."""
