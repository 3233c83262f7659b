"""``meta.json`` of a reference result folder: model, profile, image, versions, server config."""

from dataclasses import dataclass
from typing import Any

import yaml

from arena.common.parsers import ParseError, json_object
from arena.common.schemas.imported import MAX_VERSION_CHARS, SPARK_HARDWARE, Provenance

SPARK_MARKERS = ("gb10", "dgx spark")


@dataclass(frozen=True)
class Meta:
    model: str | None
    served_name: str | None
    profile: str | None
    hardware: str
    provenance: Provenance
    runs: int | None = None
    """Runs per variant (``arenactl export`` writes it; the reference's meta has none)."""
    problems: tuple[str, ...] = ()
    """Optional values left out as malformed (the rest of the file still imports)."""


def hardware_name(reported: str | None) -> str:
    """Arena's name for the hardware: every GB10 / DGX Spark spelling maps to one name."""
    if reported is None or any(marker in reported.lower() for marker in SPARK_MARKERS):
        return SPARK_HARDWARE
    return reported


def _text(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ParseError(f"{key!r} should be text, found {type(value).__name__}")
    return str(value)


def _quick(document: dict[str, Any]) -> float | None:
    """An arena export's quick factor: its ``arena.quick``, or (exports made before that key
    existed) the ``quick`` of the suite YAML it carries."""
    arena = document.get("arena")
    if not isinstance(arena, dict):
        return None
    quick = arena.get("quick")
    if quick is None and isinstance(arena.get("suite_yaml"), str):
        try:
            suite = yaml.safe_load(arena["suite_yaml"])
        except yaml.YAMLError:
            suite = None
        quick = suite.get("quick") if isinstance(suite, dict) else None
    if quick is None:
        return None
    if isinstance(quick, bool) or not isinstance(quick, int | float) or not 0 < quick <= 1:
        raise ParseError(f"'arena.quick' is {quick!r}, expected a factor in (0, 1]")
    return float(quick)


def _simulated(document: dict[str, Any]) -> bool:
    """An arena export's ``arena.simulated``: shown, never trusted (a signed export's comes
    from its manifest)."""
    arena = document.get("arena")
    return isinstance(arena, dict) and arena.get("simulated") is True


def _engine(document: dict[str, Any]) -> str | None:
    """The engine that ran: an arena export's ``arena.engine_runtime``; the reference's
    folders record vLLM's image and version (llama-benchy drove a vLLM server too)."""
    arena = document.get("arena")
    runtime = arena.get("engine_runtime") if isinstance(arena, dict) else None
    if isinstance(runtime, str) and runtime:
        return runtime
    if document.get("vllm_image") or document.get("vllm_version_reported"):
        return "vllm"
    return None


def engine_version_text(value: object) -> str | None:
    """An engine version an import keeps: text of 1 to ``MAX_VERSION_CHARS`` characters once
    trimmed; ``None`` for anything else."""
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_VERSION_CHARS:
        return None
    return value.strip()


def _engine_version(document: dict[str, Any]) -> tuple[str | None, list[str]]:
    """An arena export's ``arena.engine_version`` (what the agent read from the engine), or
    ``None`` with the reason when it is not short text."""
    arena = document.get("arena")
    stated = arena.get("engine_version") if isinstance(arena, dict) else None
    version = engine_version_text(stated)
    if stated is None or version is not None:
        return version, []
    return None, [
        f"'arena.engine_version' is {repr(stated)[:40]}, expected text of 1 to "
        f"{MAX_VERSION_CHARS} characters: left out"
    ]


def parse_meta(text: str) -> Meta:
    document = json_object(text)
    server_config = document.get("server_config") or {}
    if not isinstance(server_config, dict):
        raise ParseError("'server_config' should be an object")
    reported = _text(document, "hardware")
    runs = document.get("runs")
    if runs is not None and (isinstance(runs, bool) or not isinstance(runs, int) or runs < 1):
        raise ParseError(f"'runs' is {runs!r}, expected a positive whole number")
    engine_version, problems = _engine_version(document)
    return Meta(
        model=_text(document, "model"),
        served_name=_text(document, "served_name"),
        profile=_text(document, "profile"),
        hardware=hardware_name(reported),
        provenance=Provenance(
            image=_text(document, "vllm_image"),
            vllm_version=_text(document, "vllm_version_reported"),
            llama_benchy_version=_text(document, "llama_benchy_version"),
            driver=_text(document, "driver_version"),
            vbios=_text(document, "vbios_version"),
            hardware_reported=reported,
            server_config=server_config,
            generated_at=_text(document, "generated_at"),
            quick=_quick(document),
            simulated=_simulated(document),
            engine=_engine(document),
            engine_version=engine_version,
        ),
        runs=runs,
        problems=tuple(problems),
    )
