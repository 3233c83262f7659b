"""Results in the reference tools' own file formats, so their existing readers work unchanged."""

from arena.common.exports.llama_benchy import BenchyVariant, llama_benchy_json
from arena.common.exports.vllm import VllmRunInfo, vllm_save_result

__all__ = ["BenchyVariant", "VllmRunInfo", "llama_benchy_json", "vllm_save_result"]
