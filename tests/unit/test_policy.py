"""The owner's policy decides what a job may run on the box: one rule read by the controller
(leasing, validate) and the agent (before anything starts)."""

import pytest
from pydantic import ValidationError

from arena.common.policy import host_allowed, refusals, split_image, within_models_dir
from arena.common.schemas.engine import (
    DockerEngine,
    EngineProfile,
    ExternalEngine,
    ProcessEngine,
    SimulatedEngine,
)
from arena.common.schemas.policy import AgentPolicy, ChoiceArg, ImageRule, Recipe
from arena.common.schemas.suite import ModelSpec

DIGEST = "sha256:" + "a" * 64
OWNER = AgentPolicy.model_validate(
    {
        "runtimes": ["simulated", "docker", "process", "external"],
        "models_dir": "/srv/models",
        "docker": {
            "images": [
                {"repository": "vllm/vllm-openai"},
                {"repository": "ghcr.io/acme/*", "digest": DIGEST},
            ]
        },
        "process": {
            "recipes": {
                "llama": {
                    "command": [
                        "/opt/llama-server",
                        "-m",
                        "{model_path}",
                        "--port",
                        "{port}",
                        "--fa",
                        "{fa}",
                    ],
                    "args": {"fa": {"type": "choice", "choices": ["on", "off"], "default": "off"}},
                    "env": ["LLAMA_LOG"],
                }
            }
        },
        "external": {"hosts": ["gpu.lan:8000", "localhost"]},
        "expose_env": ["HF_TOKEN"],
    }
)
MODEL = ModelSpec(name="tiny.gguf", engine="e")


def docker(image: str, **extra: object) -> DockerEngine:
    return DockerEngine.model_validate(
        {"runtime": "docker", "image": image, "command": "serve --port {port}", **extra}
    )


def test_the_defaults_admit_only_the_simulated_engine() -> None:
    safe = AgentPolicy()
    assert refusals(safe, SimulatedEngine(runtime="simulated"), MODEL) == []
    assert refusals(safe, docker("vllm/vllm-openai:v1"), MODEL) == [
        "image vllm/vllm-openai is not allowed (allowed: none)"
    ]
    assert (
        "runtime process is not allowed"
        in refusals(safe, ProcessEngine(runtime="process", recipe="llama"), MODEL)[0]
    )
    external = ExternalEngine(runtime="external", url="http://attacker.example/v1")
    assert "runtime external is not allowed" in refusals(safe, external, MODEL)[0]


@pytest.mark.parametrize(
    ("engine", "refused"),
    [
        (docker("vllm/vllm-openai:v0.26"), ""),
        (docker("docker.io/evil/vllm-openai"), "not allowed"),
        (docker("ghcr.io/acme/engine:1"), "must be pinned"),
        (docker(f"ghcr.io/acme/engine@{DIGEST}"), ""),
        (docker("vllm/vllm-openai", secrets={"HF_TOKEN": "HF_TOKEN"}), ""),
        (docker("vllm/vllm-openai", secrets={"HF_TOKEN": "DB_PASSWORD"}), "does not expose"),
        (ProcessEngine(runtime="process", recipe="llama"), ""),
        (ProcessEngine(runtime="process", recipe="llama", args={"fa": "maybe"}), "one of on, off"),
        (
            ProcessEngine(runtime="process", recipe="llama", env={"LD_PRELOAD": "/x.so"}),
            "env LD_PRELOAD",
        ),
        (ProcessEngine(runtime="process", recipe="bash"), "recipe bash is not allowed"),
        (ExternalEngine(runtime="external", url="http://gpu.lan:8000/v1"), ""),
        (ExternalEngine(runtime="external", url="http://gpu.lan:9000/v1"), "not allowed"),
        (ExternalEngine(runtime="external", url="http://localhost:1234"), ""),
        (ExternalEngine(runtime="external", url="http://attacker.example"), "not allowed"),
        (
            ExternalEngine(
                runtime="external", url="http://gpu.lan:8000", api_key_env="DB_PASSWORD"
            ),
            "api_key_env",
        ),
        (ExternalEngine(runtime="external", url="http://gpu.lan:8000", api_key_env="HF_TOKEN"), ""),
    ],
)
def test_each_runtime_is_held_to_its_list(engine: EngineProfile, refused: str) -> None:
    found = refusals(OWNER, engine, MODEL)
    if refused:
        assert len(found) == 1 and refused in found[0], found
    else:
        assert found == []


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("tiny.gguf", True),
        ("/srv/models/a/b", True),
        ("/srv/models/../etc/passwd", False),
        ("../x", False),
        ("/etc/shadow", False),
        ("/srv/modelsX/a", False),
    ],
)
def test_model_paths_stay_in_the_models_folder(path: str, inside: bool) -> None:
    assert within_models_dir(OWNER, path) is inside
    model = ModelSpec(name=path, engine="e")
    assert (
        refusals(OWNER, ProcessEngine(runtime="process", recipe="llama"), model) == []
    ) is inside


def test_a_tokenizer_outside_the_models_folder_is_refused() -> None:
    model = ModelSpec(name="m", engine="e", tokenizer="/root/.ssh/id_rsa")
    assert refusals(OWNER, SimulatedEngine(runtime="simulated"), model) == [
        "tokenizer '/root/.ssh/id_rsa' is not under the policy's models_dir"
    ]


def test_a_model_name_cannot_pose_as_an_option() -> None:
    recipe = Recipe(command=["/opt/x", "{model}", "--port", "{port}"])
    policy = AgentPolicy(runtimes=["process"], process={"recipes": {"x": recipe}})
    found = refusals(
        policy,
        ProcessEngine(runtime="process", recipe="x"),
        ModelSpec(name="--rpc=evil", engine="e"),
    )
    assert found == ["model name '--rpc=evil' would read as an option"]


@pytest.mark.parametrize(
    "bad",
    [
        {"command": ["llama-server", "--port", "{port}"]},  # not an absolute path
        {
            "command": ["{prog}", "--port", "{port}"],
            "args": {"prog": {"type": "choice", "choices": ["/bin/sh"]}},
        },
        {"command": ["/opt/x", "--port", "{port}", "{extra}"]},  # undeclared placeholder
        {"command": ["/opt/x", "--port", "{port!r}"]},
        {"command": ["/opt/x"]},  # no port
    ],
)
def test_a_recipe_is_a_fixed_program_with_declared_placeholders(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Recipe.model_validate(bad)


def test_images_split_into_repository_and_digest() -> None:
    assert split_image("localhost:5000/org/img:tag@" + DIGEST) == ("localhost:5000/org/img", DIGEST)
    assert split_image("img") == ("img", None)
    assert ImageRule(repository="ghcr.io/acme/*").digest is None


def test_hosts_are_compared_parsed() -> None:
    assert host_allowed(OWNER, "http://LOCALHOST:8080")
    assert not host_allowed(OWNER, "http://localhost.attacker.example")
    assert not host_allowed(OWNER, "http://gpu.lan:8000@attacker.example")
    assert not host_allowed(OWNER, "http://gpu.lan:notaport")


def test_the_summary_says_what_a_submitter_may_ask() -> None:
    assert AgentPolicy().summary() == "simulated; docker: no images"
    assert OWNER.summary() == (
        "simulated; docker: vllm/vllm-openai, ghcr.io/acme/*@sha256:aaaaaaaaaaaa; process: llama; "
        "external: gpu.lan:8000, localhost; env: HF_TOKEN"
    )
    assert ChoiceArg(type="choice", choices=["a"]).default is None
