"""Write one random-weight Llama as GGUF files (F16, Q8_0) and as a Hugging Face folder.

The same weights feed every engine and box: llama.cpp on a GPU and on a CPU reads the GGUF,
``transformers serve`` reads the Hugging Face folder (safetensors, F16). Random weights give
realistic speed and meaningless text, so suites mark such a model ``random_weights: true``.
Nothing is downloaded: the byte-level BPE is trained on the machine's Python sources, and
``--tokenizer`` reuses one already trained, which is how two boxes make byte-identical files
(``model.json`` lists each file's sha256 to check). Weights are drawn in Hugging Face's layout
from one seeded generator; the GGUF gets the query/key rows permuted as llama.cpp's converter
does, so both formats compute the same function.

Usage: ``make_llama_model.py OUT_DIR [--shape 1.1b|parity|tiny] [--types f16,q8_0] [--hf]
[--tokenizer tokenizer.json]``. Needs numpy, tokenizers and gguf; ``--hf`` also safetensors.
"""

import argparse
import glob
import hashlib
import json
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    context: int = 32768

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def parameters(self) -> int:
        attention = 2 * self.hidden * self.hidden + 2 * self.kv_heads * self.head_dim * self.hidden
        per_layer = attention + 3 * self.hidden * self.ffn + 2 * self.hidden
        return 2 * self.vocab * self.hidden + self.layers * per_layer + self.hidden


SHAPES = {
    # the GPU/CPU comparison model (docs/results/llama-1.1b)
    "1.1b": Shape(hidden=2048, layers=16, heads=32, kv_heads=8, ffn=8192, vocab=32000),
    # the parity and capacity benches': a few ms per token on a CPU, so server time dominates
    "parity": Shape(hidden=512, layers=8, heads=4, kv_heads=4, ffn=1536, vocab=4096, context=4096),
    # the tests' real llama-server: milliseconds per answer
    "tiny": Shape(hidden=64, layers=2, heads=4, kv_heads=4, ffn=128, vocab=4096, context=4096),
}
TYPES = {
    "f32": gguf.GGMLQuantizationType.F32,
    "f16": gguf.GGMLQuantizationType.F16,
    "q8_0": gguf.GGMLQuantizationType.Q8_0,
}
FILE_TYPES = {
    "f32": gguf.LlamaFileType.ALL_F32,
    "f16": gguf.LlamaFileType.MOSTLY_F16,
    "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
}
SPECIALS = ["<s>", "</s>"]
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
SEED = 42
SCALE = 0.02


def train_tokenizer(vocab: int) -> Tokenizer:
    found = glob.glob("/usr/lib/python3*/**/*.py", recursive=True)
    found = found or glob.glob(f"{sysconfig.get_paths()['stdlib']}/**/*.py", recursive=True)
    sources = sorted(found)[:600]
    if not sources:
        sys.exit("no Python sources to train a tokenizer on: pass --tokenizer")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train(sources, trainer)
    return tokenizer


def hf_weights(shape: Shape) -> Iterator[tuple[str, np.ndarray]]:
    """Every tensor in Hugging Face's names and layout, in one fixed order of one generator."""
    rng = np.random.default_rng(SEED)

    def normal(*dims: int) -> np.ndarray:
        return (rng.standard_normal(dims, dtype=np.float32) * SCALE).astype(np.float16)

    ones = np.ones(shape.hidden, np.float16)
    kv = shape.kv_heads * shape.head_dim
    yield "model.embed_tokens.weight", normal(shape.vocab, shape.hidden)
    for layer in range(shape.layers):
        prefix = f"model.layers.{layer}"
        yield f"{prefix}.input_layernorm.weight", ones
        yield f"{prefix}.post_attention_layernorm.weight", ones
        yield f"{prefix}.self_attn.q_proj.weight", normal(shape.hidden, shape.hidden)
        yield f"{prefix}.self_attn.k_proj.weight", normal(kv, shape.hidden)
        yield f"{prefix}.self_attn.v_proj.weight", normal(kv, shape.hidden)
        yield f"{prefix}.self_attn.o_proj.weight", normal(shape.hidden, shape.hidden)
        yield f"{prefix}.mlp.gate_proj.weight", normal(shape.ffn, shape.hidden)
        yield f"{prefix}.mlp.up_proj.weight", normal(shape.ffn, shape.hidden)
        yield f"{prefix}.mlp.down_proj.weight", normal(shape.hidden, shape.ffn)
    yield "model.norm.weight", ones
    yield "lm_head.weight", normal(shape.vocab, shape.hidden)


def rope_permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """Hugging Face rotates a head's two halves, llama.cpp adjacent pairs: reorder the rows."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


GGUF_NAMES = {
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def gguf_tensor(name: str, weights: np.ndarray, shape: Shape) -> tuple[str, np.ndarray]:
    if name == "model.embed_tokens.weight":
        return "token_embd.weight", weights
    if name == "model.norm.weight":
        return "output_norm.weight", weights
    if name == "lm_head.weight":
        return "output.weight", weights
    _, _, layer, module = name.removesuffix(".weight").split(".", 3)
    if module == "self_attn.q_proj":
        weights = rope_permute(weights, shape.heads)
    elif module == "self_attn.k_proj":
        weights = rope_permute(weights, shape.kv_heads)
    return f"blk.{layer}.{GGUF_NAMES[module]}.weight", weights


def vocabulary(tokenizer: Tokenizer) -> tuple[list[str], list[str]]:
    spec = json.loads(tokenizer.to_str())
    tokens = [""] * len(spec["model"]["vocab"])
    for token, index in spec["model"]["vocab"].items():
        tokens[index] = token
    merges = [" ".join(m) if isinstance(m, list) else m for m in spec["model"]["merges"]]
    return tokens, merges


def write_gguf(
    path: Path, kind: str, tensors: dict[str, np.ndarray], tokenizer: Tokenizer, shape: Shape
) -> None:
    tokens, merges = vocabulary(tokenizer)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(f"arena-random-llama-{kind}")
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.hidden)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_dimension_count(shape.head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(FILE_TYPES[kind])
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in SPECIALS else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(SPECIALS.index("<s>"))
    writer.add_eos_token_id(SPECIALS.index("</s>"))
    writer.add_chat_template(TEMPLATE)
    for name, weights in tensors.items():
        gguf_name, data = gguf_tensor(name, weights, shape)
        if data.ndim == 1 or kind == "f32":  # norms stay F32, as llama.cpp's converter keeps them
            writer.add_tensor(gguf_name, data.astype(np.float32))
        elif kind == "f16":
            writer.add_tensor(gguf_name, data)
        else:
            quantised = gguf.quants.quantize(data.astype(np.float32), TYPES[kind])
            writer.add_tensor(gguf_name, quantised, raw_dtype=TYPES[kind])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_hf(
    folder: Path, tensors: dict[str, np.ndarray], tokenizer_file: Path, shape: Shape
) -> None:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": shape.hidden,
        "intermediate_size": shape.ffn,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.kv_heads,
        "head_dim": shape.head_dim,
        "vocab_size": shape.vocab,
        "max_position_embeddings": shape.context,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
        "bos_token_id": SPECIALS.index("<s>"),
        "eos_token_id": SPECIALS.index("</s>"),
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "tokenizer.json").write_bytes(tokenizer_file.read_bytes())
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(shape), indent=2))


def tokenizer_config(shape: Shape) -> dict[str, object]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "chat_template": TEMPLATE,
        "model_max_length": shape.context,
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def make(
    out: Path,
    shape: Shape,
    kinds: list[str],
    *,
    hf: bool = False,
    tokenizer_from: Path | None = None,
) -> dict[str, Any]:
    """Write ``tokenizer.json``, one ``model-KIND.gguf`` per kind, ``hf/`` when asked, and
    ``model.json`` (shape, parameters, seed, each file's sha256), which it returns."""
    out.mkdir(parents=True, exist_ok=True)
    tokenizer_file = out / "tokenizer.json"
    if tokenizer_from is not None:
        tokenizer = Tokenizer.from_file(str(tokenizer_from))
        if tokenizer_from.resolve() != tokenizer_file.resolve():
            tokenizer_file.write_bytes(tokenizer_from.read_bytes())
    else:
        tokenizer = train_tokenizer(shape.vocab)
        tokenizer.save(str(tokenizer_file))
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(shape), indent=2))
    # the tokenizer's own size: a small corpus may give fewer tokens than the shape asks for
    shape = replace(shape, vocab=tokenizer.get_vocab_size())
    tensors = dict(hf_weights(shape))
    files = [tokenizer_file]
    for kind in kinds:
        path = out / f"model-{kind}.gguf"
        write_gguf(path, kind, tensors, tokenizer, shape)
        files.append(path)
    if hf:
        write_hf(out / "hf", tensors, tokenizer_file, shape)
        files.append(out / "hf" / "model.safetensors")
    manifest: dict[str, Any] = {
        "shape": asdict(shape),
        "parameters": shape.parameters(),
        "seed": SEED,
        "files": {str(path.relative_to(out)): sha256(path) for path in files},
    }
    (out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="1.1b")
    parser.add_argument(
        "--types", default="f16,q8_0", help="GGUF types, comma-separated: f32, f16, q8_0"
    )
    parser.add_argument("--hf", action="store_true", help="also write OUT/hf (safetensors, F16)")
    parser.add_argument(
        "--tokenizer", type=Path, help="a tokenizer.json to reuse instead of training"
    )
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.types.split(",") if kind.strip()]
    if unknown := sorted(set(kinds) - set(TYPES)):
        parser.error(f"unknown GGUF type {', '.join(unknown)} (known: {', '.join(TYPES)})")
    if args.tokenizer is not None and not args.tokenizer.is_file():
        parser.error(f"--tokenizer {args.tokenizer}: no such file")
    manifest = make(args.out, SHAPES[args.shape], kinds, hf=args.hf, tokenizer_from=args.tokenizer)
    print(json.dumps(manifest, indent=2))  # noqa: T201 (a script's report)


if __name__ == "__main__":
    main()
