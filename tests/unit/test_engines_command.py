"""Engine profiles become exact argv and environments; secrets never reach the record."""

import pytest
from pydantic import ValidationError

from arena.agent.engines.command import REDACTED, launch_spec, render_command
from arena.agent.engines.probe import engine_figures, parse_prometheus
from arena.common.errors import EngineError, PolicyError
from arena.common.schemas.engine import DockerEngine, ProcessEngine
from arena.common.schemas.policy import AgentPolicy, IntArg, ProcessPolicy, Recipe
from arena.common.schemas.suite import ModelSpec

VLLM = DockerEngine(
    runtime="docker",
    image="vllm/vllm-openai:v0.26.0",
    command="vllm serve {model} --port {port} --max-model-len {max_model_len} "
    "--served-model-name {served_model_name}",
    args={"max_model_len": 32768},
    env={"VLLM_USE_V1": "1"},
    secrets={"HF_TOKEN": "MY_HF_TOKEN"},
)
POLICY = AgentPolicy(
    expose_env=["MY_HF_TOKEN"],
    models_dir="/srv/models",
    process=ProcessPolicy(
        recipes={
            "llama": Recipe(
                command=[
                    "/opt/llama-server",
                    "-m",
                    "{model_path}",
                    "--port",
                    "{port}",
                    "-c",
                    "{ctx}",
                ],
                args={"ctx": IntArg(type="int", min=256, max=8192, default=4096)},
            )
        }
    ),
)


def test_template_is_filled_from_args_model_and_port() -> None:
    spec = launch_spec(
        VLLM,
        ModelSpec(name="Qwen/Qwen3-8B", engine="vllm"),
        8000,
        POLICY,
        environ={"MY_HF_TOKEN": "hf_secret"},
    )
    assert spec.argv == [
        "vllm",
        "serve",
        "Qwen/Qwen3-8B",
        "--port",
        "8000",
        "--max-model-len",
        "32768",
        "--served-model-name",
        "Qwen/Qwen3-8B",
    ]


def test_a_model_overrides_the_profile_defaults() -> None:
    model = ModelSpec(name="m", engine="vllm", engine_args={"max_model_len": 4096})
    spec = launch_spec(VLLM, model, 8000, POLICY, environ={"MY_HF_TOKEN": "x"})
    assert "4096" in spec.argv and "32768" not in spec.argv


def test_secrets_reach_the_engine_but_not_the_record() -> None:
    spec = launch_spec(
        VLLM, ModelSpec(name="m", engine="vllm"), 8000, POLICY, environ={"MY_HF_TOKEN": "hf_secret"}
    )
    assert spec.env["HF_TOKEN"] == "hf_secret"
    assert spec.recorded_env == {"VLLM_USE_V1": "1", "HF_TOKEN": REDACTED}
    assert "hf_secret" not in spec.command_line


def test_a_missing_secret_is_a_clear_error() -> None:
    with pytest.raises(EngineError, match=r"HF_TOKEN needs \$MY_HF_TOKEN"):
        launch_spec(VLLM, ModelSpec(name="m", engine="vllm"), 8000, POLICY, environ={})


def test_an_unknown_placeholder_names_itself() -> None:
    with pytest.raises(EngineError, match=r"\{gpu_util\}, which is not set"):
        render_command("serve --port {port} --gpu {gpu_util}", {"port": 1})


def test_quoted_words_stay_whole() -> None:
    assert render_command("sh -c 'echo {port}'", {"port": 8}) == ["sh", "-c", "echo 8"]


def test_a_command_without_port_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"must contain \{port\}"):
        DockerEngine(runtime="docker", image="x", command="llama-server --model x")
    with pytest.raises(ValidationError, match=r"must contain \{port\}"):
        Recipe(command=["/opt/llama-server", "--model", "x"])


def test_a_process_engine_is_the_owners_recipe_filled_with_typed_values() -> None:
    engine = ProcessEngine(runtime="process", recipe="llama", args={"ctx": 2048})
    spec = launch_spec(engine, ModelSpec(name="tiny.gguf", engine="e"), 9000, POLICY)
    assert spec.argv == [
        "/opt/llama-server",
        "-m",
        "/srv/models/tiny.gguf",
        "--port",
        "9000",
        "-c",
        "2048",
    ]


@pytest.mark.parametrize(
    ("engine", "reason"),
    [
        (ProcessEngine(runtime="process", recipe="sh"), "recipe sh is not allowed"),
        (ProcessEngine(runtime="process", recipe="llama", args={"ctx": 10**6}), "within"),
        (ProcessEngine(runtime="process", recipe="llama", args={"ctx": "4; rm"}), "a number"),
        (ProcessEngine(runtime="process", recipe="llama", args={"flags": "-x"}), "unknown"),
        (
            ProcessEngine(runtime="process", recipe="llama", secrets={"K": "DB_PASSWORD"}),
            "does not expose",
        ),
    ],
)
def test_what_the_recipe_does_not_admit_starts_nothing(engine: ProcessEngine, reason: str) -> None:
    with pytest.raises(PolicyError, match=reason):
        launch_spec(engine, ModelSpec(name="m", engine="e"), 9000, POLICY, environ={})


def test_engine_figures_come_from_metric_deltas() -> None:
    before = parse_prometheus(
        "# HELP x\nvllm:time_to_first_token_seconds_sum 1.0\n"
        "vllm:time_to_first_token_seconds_count 10\n"
        'vllm:generation_tokens_total{model="m"} 100\n'
    )
    after = parse_prometheus(
        "vllm:time_to_first_token_seconds_sum 1.5\nvllm:time_to_first_token_seconds_count 20\n"
        'vllm:generation_tokens_total{model="m"} 400\n'
    )
    assert engine_figures(before, after) == {"ttft_ms": 50.0, "generation_tokens": 300.0}


def test_llama_cpp_per_token_time_comes_from_its_second_counters() -> None:
    after = parse_prometheus(
        "llamacpp:tokens_predicted_total 200\nllamacpp:tokens_predicted_seconds_total 0.4\n"
        "llamacpp:prompt_tokens_total 1000\nllamacpp:prompt_seconds_total 0.1\n"
    )
    figures = engine_figures({}, after)
    assert figures["ms_per_generated_token"] == pytest.approx(2.0)
    assert figures["prompt_tokens_per_s"] == pytest.approx(10000)


def test_an_empty_placeholder_word_adds_no_argument() -> None:
    assert render_command("serve --port {port} {extra}", {"port": 1, "extra": ""}) == [
        "serve",
        "--port",
        "1",
    ]
