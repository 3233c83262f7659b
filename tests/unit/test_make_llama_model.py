"""scripts/make_llama_model.py: one set of random weights, as GGUF (F32, F16, Q8_0) and as a
Hugging Face folder, byte-identical when made twice from the same tokenizer."""

import json
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import load_file

from scripts.make_llama_model import SHAPES, make

TINY = SHAPES["tiny"]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    make(out, TINY, ["f32", "f16", "q8_0"], hf=True)
    return out


def tensors(path: Path) -> dict[str, tuple[GGMLQuantizationType, np.ndarray]]:
    return {t.name: (t.tensor_type, t.data) for t in GGUFReader(path).tensors}


def test_a_second_make_from_the_same_tokenizer_writes_the_same_bytes(
    made: Path, tmp_path: Path
) -> None:
    again = make(tmp_path, TINY, ["f16", "q8_0"], hf=True, tokenizer_from=made / "tokenizer.json")
    first = json.loads((made / "model.json").read_text())
    assert again["files"] == {name: first["files"][name] for name in again["files"]}
    assert set(again["files"]) == {
        "tokenizer.json",
        "model-f16.gguf",
        "model-q8_0.gguf",
        "hf/model.safetensors",
    }


def test_the_manifest_counts_every_parameter_of_the_file(made: Path) -> None:
    manifest = json.loads((made / "model.json").read_text())
    counted = sum(data.size for _, data in tensors(made / "model-f32.gguf").values())
    assert manifest["parameters"] == counted
    assert manifest["shape"]["vocab"] == TINY.vocab == 4096


def test_matrices_take_the_asked_type_and_norms_stay_f32(made: Path) -> None:
    for kind, matrix_type in [
        ("f32", GGMLQuantizationType.F32),
        ("f16", GGMLQuantizationType.F16),
        ("q8_0", GGMLQuantizationType.Q8_0),
    ]:
        found = tensors(made / f"model-{kind}.gguf")
        assert found["blk.1.ffn_down.weight"][0] == matrix_type
        assert found["output.weight"][0] == matrix_type
        assert found["blk.0.attn_norm.weight"][0] == GGMLQuantizationType.F32


def test_q8_0_holds_the_f16_weights_within_its_rounding(made: Path) -> None:
    f16 = tensors(made / "model-f16.gguf")["blk.0.ffn_up.weight"][1].astype(np.float32)
    q8_type, q8 = tensors(made / "model-q8_0.gguf")["blk.0.ffn_up.weight"]
    restored = dequantize(q8, q8_type).reshape(f16.shape)
    # Q8_0: 32 weights share one scale, max |w| / 127; N(0, 0.02) blocks: |error| < 0.0005
    assert np.abs(restored - f16).max() < 5e-4
    assert np.abs(restored - f16).max() > 0  # it was quantised, not copied


def test_the_gguf_pairs_rotary_halves_as_llama_cpp_reads_them(made: Path) -> None:
    """Hugging Face rotates row i of a head with row i + d/2; llama.cpp rotates rows 2i and
    2i + 1. Query and key rows must move so that the same pairs rotate together; every other
    matrix is the same array in both files."""
    hf = load_file(str(made / "hf" / "model.safetensors"))
    gguf_tensors = tensors(made / "model-f16.gguf")
    head = TINY.hidden // TINY.heads
    for hf_name, gguf_name, heads in [
        ("model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight", TINY.heads),
        ("model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight", TINY.kv_heads),
    ]:
        source, moved = hf[hf_name], gguf_tensors[gguf_name][1]
        for h in range(heads):
            for i in range(head // 2):
                np.testing.assert_array_equal(moved[h * head + 2 * i], source[h * head + i])
                np.testing.assert_array_equal(
                    moved[h * head + 2 * i + 1], source[h * head + head // 2 + i]
                )
    np.testing.assert_array_equal(
        gguf_tensors["blk.0.attn_v.weight"][1], hf["model.layers.0.self_attn.v_proj.weight"]
    )
    np.testing.assert_array_equal(gguf_tensors["output.weight"][1], hf["lm_head.weight"])


def test_the_hugging_face_config_describes_the_same_model(made: Path) -> None:
    config = json.loads((made / "hf" / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (
        TINY.hidden,
        TINY.layers,
        TINY.vocab,
    )
    template = json.loads((made / "hf" / "tokenizer_config.json").read_text())["chat_template"]
    assert (
        template == GGUFReader(made / "model-f16.gguf").fields["tokenizer.chat_template"].contents()
    )
