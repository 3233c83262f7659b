"""A real llama.cpp engine for the tests: the llama-server binary, a tiny random GGUF, an image.

Nothing comes from a hub or a registry: the binary is built once per machine by
scripts/build_llama_server.sh, the model is generated with random weights (real speed,
meaningless text), and the image is a ``docker import`` of the binary and the libraries it
links against.
"""

import glob
import io
import os
import subprocess
import tarfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ARENA_CACHE", Path.home() / ".cache" / "arena"))
IMAGE = "arena-llama-server:test"
MODEL_NAME = "tiny.gguf"
TOKENIZER_NAME = "tokenizer.json"


def llama_server_binary() -> Path:
    """The cached build; builds it (10-25 min on 2 cores) when missing."""
    found = sorted(CACHE.glob("llama-server-*/bin/llama-server"))
    if found:
        return found[-1]
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_llama_server.sh")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return Path(out.stdout.strip().splitlines()[-1])


def tiny_gguf(folder: Path) -> Path:
    """A 2-layer random-weight Llama with a 4096-token byte-level BPE and a chat template; the
    BPE is also saved as ``tokenizer.json`` beside it, for clients that count tokens locally."""
    path = folder / MODEL_NAME
    if path.exists() and (folder / "tokenizer_config.json").exists():
        return path
    import gguf
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    sources = sorted(glob.glob("/usr/lib/python3*/**/*.py", recursive=True))[:200]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train(
        sources,
        trainers.BpeTrainer(
            vocab_size=4096,
            special_tokens=["<s>", "</s>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    model = tokenizer.to_str()
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / TOKENIZER_NAME))
    (folder / "tokenizer_config.json").write_text(
        '{"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>"}'
    )
    import json

    spec = json.loads(model)["model"]
    tokens = [""] * len(spec["vocab"])
    for token, index in spec["vocab"].items():
        tokens[index] = token
    merges = [" ".join(m) if isinstance(m, list) else m for m in spec["merges"]]
    hidden, layers, heads, ffn = 64, 2, 4, 128
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    writer = gguf.GGUFWriter(str(tmp), "llama")
    writer.add_name("arena-tiny")
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in ("<s>", "</s>") else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(1)
    writer.add_chat_template(
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    rng = np.random.default_rng(42)

    def tensor(name: str, shape: tuple[int, ...]) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    tensor("token_embd.weight", (len(tokens), hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    tensor("output.weight", (len(tokens), hidden))
    for block in range(layers):
        writer.add_tensor(f"blk.{block}.attn_norm.weight", np.ones(hidden, np.float32))
        writer.add_tensor(f"blk.{block}.ffn_norm.weight", np.ones(hidden, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            tensor(f"blk.{block}.{name}.weight", (hidden, hidden))
        tensor(f"blk.{block}.ffn_gate.weight", (ffn, hidden))
        tensor(f"blk.{block}.ffn_up.weight", (ffn, hidden))
        tensor(f"blk.{block}.ffn_down.weight", (hidden, ffn))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.rename(path)
    return path


def _libraries(binary: Path) -> list[Path]:
    out = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/"):
                found.append(Path(part))
                break
    return found


def build_image(binary: Path) -> str:
    """``docker import`` a root filesystem holding llama-server, sh and sleep with their libs."""
    files = {binary: Path("/usr/local/bin/llama-server")}
    for tool in ("/bin/sh", "/bin/sleep"):
        files[Path(tool)] = Path(tool)
    for program in list(files):
        for library in _libraries(program):
            files[library] = library
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for source, target in files.items():
            tar.add(str(source.resolve()), arcname=str(target).lstrip("/"))
        for folder in ("tmp", "models"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(info)
    subprocess.run(
        ["docker", "import", "--change", 'ENTRYPOINT []', "-", IMAGE],
        input=buffer.getvalue(), check=True, capture_output=True,
    )  # fmt: skip
    return IMAGE
