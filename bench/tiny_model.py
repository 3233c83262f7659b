"""Build the parity model: a random-weight 2-layer Llama GGUF plus its tokenizer as files.

Follows ../shared/recipes/llama-cpp/make_gguf.py, but also saves ``tokenizer.json`` and a
``tokenizer_config.json`` beside the GGUF, so that every client (Arena, vllm bench serve,
llama-benchy) counts tokens with exactly the tokenizer llama-server uses. Needs ``gguf``,
``tokenizers`` and ``numpy`` (run it with a tools venv's python).

Usage: ``tiny_model.py OUT_DIR [HIDDEN LAYERS]``; the parity bench uses 512 × 8 (31 M
parameters, a few ms per token on a CPU) so that server time, not client overhead, dominates.
"""

import glob
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB = 4096


@dataclass(frozen=True)
class Shape:
    hidden: int = 64
    layers: int = 2
    heads: int = 4

    @property
    def ffn(self) -> int:
        return 3 * self.hidden if self.hidden > 64 else 128


TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def train_tokenizer() -> Tokenizer:
    sources = sorted(glob.glob("/usr/lib/python3*/**/*.py", recursive=True))[:200]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train(sources, trainer)
    return tokenizer


def write_gguf(path: Path, tokenizer: Tokenizer, shape: Shape) -> None:
    spec = json.loads(tokenizer.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    tokens = [""] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    merges = [" ".join(m) if isinstance(m, list) else m for m in spec["model"]["merges"]]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("arena-tiny")
    writer.add_context_length(4096)
    hidden, ffn = shape.hidden, shape.ffn
    writer.add_embedding_length(hidden)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.heads)
    writer.add_rope_dimension_count(hidden // shape.heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in ("<s>", "</s>") else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(1)
    writer.add_chat_template(TEMPLATE)
    rng = np.random.default_rng(42)

    def weights(name: str, shape: tuple[int, ...]) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    weights("token_embd.weight", (len(tokens), hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    weights("output.weight", (len(tokens), hidden))
    for layer in range(shape.layers):
        writer.add_tensor(f"blk.{layer}.attn_norm.weight", np.ones(hidden, np.float32))
        writer.add_tensor(f"blk.{layer}.ffn_norm.weight", np.ones(hidden, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            weights(f"blk.{layer}.{name}.weight", (hidden, hidden))
        weights(f"blk.{layer}.ffn_gate.weight", (ffn, hidden))
        weights(f"blk.{layer}.ffn_up.weight", (ffn, hidden))
        weights(f"blk.{layer}.ffn_down.weight", (hidden, ffn))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(out_dir: Path, shape: Shape) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer()
    tokenizer.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "chat_template": TEMPLATE,
        "model_max_length": 4096,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    write_gguf(out_dir / "tiny.gguf", tokenizer, shape)


if __name__ == "__main__":
    sizes = [int(arg) for arg in sys.argv[2:4]]
    main(Path(sys.argv[1]), Shape(*sizes))
