"""Secret redaction: known values anywhere, token shapes and secret-named assignments."""

from arena.common.redact import SHAPES_ONLY, Redactor, looks_secret

HUB = "hf_" + "a1B2" * 8


def test_known_values_are_replaced_wherever_they_appear() -> None:
    redactor = Redactor(["s3cr3t-value", None, "ab"])  # too short to search for: kept
    assert redactor.text("--token s3cr3t-value ab") == "--token *** ab"


def test_token_shapes_and_secret_assignments_are_replaced_without_knowing_them() -> None:
    text = f"pulling with {HUB}; Authorization: Bearer abc.def-ghi_jkl; OPENAI_API_KEY='zz99yy88'"
    assert SHAPES_ONLY.text(text) == (
        "pulling with ***; Authorization: Bearer ***; OPENAI_API_KEY='***'"
    )


def test_ordinary_engine_output_is_left_alone() -> None:
    text = "max_tokens=100 prompt_tokens=123456 tokenizer: /models/tokenizer.json"
    assert SHAPES_ONLY.text(text) == text


def test_documents_are_redacted_keys_and_values() -> None:
    assert SHAPES_ONLY.tree({"env": {"HF_TOKEN": HUB}, "list": [HUB, 3]}) == {
        "env": {"HF_TOKEN": "***"},
        "list": ["***", 3],
    }


def test_secret_names_are_whole_words() -> None:
    assert looks_secret("HF_TOKEN", "x") and looks_secret("OPENAI_API_KEY", "x")
    assert not looks_secret("TOKENIZERS_PARALLELISM", "false")
    assert looks_secret("ANYTHING", HUB)
