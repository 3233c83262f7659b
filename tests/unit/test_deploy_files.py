"""The deployment files under deploy/ against the code: the settings they set exist, the programs
they start exist, and the Kubernetes manifests are valid (offline schemas, kubernetes-validate)."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings

from arena.agent.settings import AgentSettings
from arena.controller.settings import ControllerSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.31.0"
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def setting_names(settings: type[BaseSettings]) -> set[str]:
    return {f"ARENA_{name.upper()}" for name in settings.model_fields}


def unit_environment(unit: Path) -> set[str]:
    """ARENA_ names a unit sets or tells the reader to set in its EnvironmentFile."""
    return set(re.findall(r"\b(ARENA_[A-Z_]+)=", unit.read_text()))


@pytest.mark.parametrize(
    ("unit", "settings", "program"),
    [
        ("arena-controller.service", ControllerSettings, "arena-controller"),
        ("arena-agent.service", AgentSettings, "arena-agent"),
    ],
)
def test_systemd_units_set_real_settings_and_start_real_programs(
    unit: str, settings: type[BaseSettings], program: str
) -> None:
    path = DEPLOY / "systemd" / unit
    names = unit_environment(path)
    assert names, "the unit sets no settings"
    assert names <= setting_names(settings), names - setting_names(settings)
    [exec_start] = re.findall(r"^ExecStart=(\S+)", path.read_text(), re.MULTILINE)
    assert Path(exec_start).name == program and program in SCRIPTS


def test_images_and_compose_set_real_settings() -> None:
    controller, agent = setting_names(ControllerSettings), setting_names(AgentSettings)
    for dockerfile, known in (("Dockerfile.controller", controller), ("Dockerfile.agent", agent)):
        text = (DEPLOY / "docker" / dockerfile).read_text()
        env = set(re.findall(r"\b(ARENA_[A-Z_]+)=", text.split("FROM", 1)[1]))
        assert env and env <= known, (dockerfile, env - known)
        [program] = re.findall(r'^CMD \["([\w-]+)"', text, re.MULTILINE)
        assert program in SCRIPTS
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name, known in (
        ("controller-a", controller),
        ("controller-b", controller),
        ("agent", agent),
    ):
        env = set(services[name]["environment"])
        assert env <= known, (name, env - known)


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def patch_files() -> set[Path]:
    return {
        (path.parent / patch["path"]).resolve()
        for path in kustomizations()
        for patch in yaml.safe_load(path.read_text()).get("patches", [])
    }


@pytest.mark.parametrize("kustomization", kustomizations(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_lists_files_that_exist(kustomization: Path) -> None:
    spec = yaml.safe_load(kustomization.read_text())
    for resource in spec["resources"]:
        target = kustomization.parent / resource
        assert target.is_file() or (target / "kustomization.yaml").is_file(), resource
    for patch in spec.get("patches", []):
        assert (kustomization.parent / patch["path"]).is_file(), patch
    listed = {(kustomization.parent / r).resolve() for r in spec["resources"]}
    listed |= {(kustomization.parent / p["path"]).resolve() for p in spec.get("patches", [])}
    strays = {p.resolve() for p in kustomization.parent.glob("*.yaml")} - listed
    assert strays == {kustomization.resolve()}, "manifests no kustomization lists"


def manifests() -> list[Path]:
    return sorted(
        path
        for path in K8S.rglob("*.yaml")
        if path.name != "kustomization.yaml" and path.resolve() not in patch_files()
    )


@pytest.mark.parametrize("manifest", manifests(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_is_valid_kubernetes(manifest: Path) -> None:
    for document in yaml.safe_load_all(manifest.read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_catches_a_misspelled_field() -> None:
    document: dict[str, Any] = yaml.safe_load((K8S / "base/controller-deployment.yaml").read_text())
    document["spec"]["replica"] = document["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("overlay", sorted((K8S / "overlays").iterdir()), ids=lambda p: p.name)
def test_overlay_builds_into_valid_objects(overlay: Path) -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True
    ).stdout
    documents = list(yaml.safe_load_all(built))
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    kinds = {document["kind"] for document in documents}
    assert {"Deployment", "Service", "DaemonSet"} <= kinds
    assert all(
        document["metadata"].get("namespace") == "arena"
        for document in documents
        if document["kind"] != "Namespace"
    )
