"""A job's signed provenance beside its exported results, and the check that reads it back.

An exported job folder holds ``manifest.json`` (the bytes the agent signed, verbatim),
``manifest.sig`` and ``manifest.key`` (hex of the ed25519 signature and of the signing key),
and ``samples.jsonl`` (the samples as the manifest hashes them, one canonical JSON line each).

The key in the folder proves nothing by itself (anyone can re-sign an edited folder with a
fresh key): a folder is ``verified`` only when its key is one the controller recorded for an
agent (its keyring). The signature covers the manifest, and the manifest the samples; every
number in the result files beside them is re-derived from those samples and must agree, and
``meta.json``'s model, ``simulated`` and ``quick`` must agree with the signed job spec. What
cannot be derived from signed data (GPU telemetry, a reference tool's own report, a rate-sweep
summary) is named in the verdict and left out of a verified import.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from arena.common.exports.folder import file_stem
from arena.common.metrics.box import BOX_KEYS
from arena.common.metrics.client_load import cpu_utils_of
from arena.common.metrics.engine_runs import ENGINE_RUN_KEYS
from arena.common.parsers.meta import engine_version_text
from arena.common.parsers.result_folder import scan
from arena.common.provenance.keyring import Keyring, signer_name
from arena.common.provenance.keys import fingerprint, verify_signature
from arena.common.provenance.manifest import canonical, manifest_problems
from arena.common.schemas.imported import ImportedBenchmark, ImportedRun, ImportedVariant
from arena.common.schemas.job import JobSpec
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, SessionBenchmark
from arena.common.suites.scaling import quick_of

MANIFEST, SIGNATURE, KEY, SAMPLES = "manifest.json", "manifest.sig", "manifest.key", "samples.jsonl"
VERIFIED, UNSIGNED, UNVERIFIED, BROKEN = "verified", "unsigned", "unverified", "broken"
SIMULATED_RUNTIME = "simulated"
TELEMETRY_KEYS = frozenset(BOX_KEYS + ENGINE_RUN_KEYS)
"""Per-run figures from GPU telemetry and the engine's metrics endpoint: no sample gives them,
so a verifier cannot re-derive them, and says they are not signed."""


@dataclass
class Verdict:
    """``verified``: signed by a key the keyring holds, and every number agrees with the signed
    samples; ``unsigned``: no manifest; ``unverified``: signed, but by a key the keyring does
    not hold, or holding numbers the samples cannot give (``problems`` says which);
    ``broken``: a signature, sample digest or number that does not match (refused)."""

    where: str
    state: str
    key_sha256: str = ""
    signer: str = ""
    """``agent NAME, key SHA256`` of a verified folder."""
    signer_id: str = ""
    """The signing agent's id in the keyring."""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the signature does not cover and a verified import leaves out."""


@dataclass(frozen=True)
class SignedExport:
    manifest: bytes
    signature: bytes
    public_key: bytes
    samples: list[RequestSample]


def provenance_files(
    manifest: bytes, signature: bytes, public_key: bytes, samples: Sequence[RequestSample]
) -> dict[str, str]:
    if not manifest:
        return {}
    lines = "".join(canonical(s.model_dump(mode="json")).decode() + "\n" for s in samples)
    return {
        MANIFEST: manifest.decode(),
        SIGNATURE: signature.hex() + "\n",
        KEY: public_key.hex() + "\n",
        SAMPLES: lines,
    }


def read_signed(folder: Path) -> SignedExport | None:
    """The folder's signed provenance; None without a manifest. Raises ``ValueError`` when a
    file of it is missing or unreadable (bad hex, a sample edited to junk)."""
    if not (folder / MANIFEST).is_file():
        return None
    try:
        text = (folder / SAMPLES).read_text(encoding="utf-8")
        return SignedExport(
            manifest=(folder / MANIFEST).read_bytes(),
            signature=bytes.fromhex((folder / SIGNATURE).read_text().strip()),
            public_key=bytes.fromhex((folder / KEY).read_text().strip()),
            samples=[RequestSample.model_validate_json(line) for line in text.splitlines() if line],
        )
    except (OSError, ValueError) as error:
        raise ValueError(f"unreadable provenance: {error}") from error


def verify(
    where: str,
    signed: SignedExport | None,
    keyring: Keyring | None,
    run: ImportedRun | None = None,
) -> Verdict:
    """The verdict on one job's signed provenance and, given ``run`` (the folder as the import
    reads it), on every number it holds. Without a keyring the key is not checked (arenactl
    import checks the rest before sending; the controller checks the key)."""
    if signed is None:
        return Verdict(where, UNSIGNED)
    verdict = Verdict(where, VERIFIED, fingerprint(signed.public_key))
    if not verify_signature(signed.public_key, signed.manifest, signed.signature):
        verdict.problems.append("the signature does not match the manifest and key")
    job_id = str(_document(signed.manifest).get("job_id", ""))
    verdict.problems += manifest_problems(signed.manifest, job_id, signed.samples)
    unverifiable: list[str] = []
    if run is not None and not verdict.problems:
        verdict.problems, unverifiable, verdict.notes = _against_samples(signed, run)
    if verdict.problems:
        verdict.state = BROKEN
        return verdict
    if keyring is not None:
        entry = keyring.signer(signed.public_key)
        if entry is None:
            unverifiable.insert(
                0,
                f"signed by key {verdict.key_sha256[:16]}, which the controller never recorded "
                "for any agent",
            )
        else:
            verdict.signer, verdict.signer_id = signer_name(entry), entry.agent_id
    if unverifiable:
        verdict.state, verdict.problems = UNVERIFIED, unverifiable
    return verdict


def _document(manifest: bytes) -> dict[str, object]:
    try:
        document = json.loads(manifest)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def signed_simulated(signed: SignedExport) -> bool:
    """Whether the job ran Arena's simulated engine: by its signed spec, or, reached as an
    external endpoint, by the label the agent found on its answers (the signed provenance)."""
    provenance = _document(signed.manifest).get("provenance")
    labelled = isinstance(provenance, dict) and provenance.get("simulated") is True
    return signed_engine(signed) == SIMULATED_RUNTIME or labelled


def signed_engine(signed: SignedExport) -> str:
    """The engine runtime the signed spec ran (``vllm``, ``llamacpp``, ``simulated``...)."""
    return _spec(signed).engine.runtime


def signed_engine_version(signed: SignedExport) -> str | None:
    """The version the agent read from the engine, as it signed it (``None`` where it is not
    text an import keeps: ``parsers.meta`` reads the exported copy the same way)."""
    provenance = _document(signed.manifest).get("provenance")
    version = provenance.get("engine_version") if isinstance(provenance, dict) else None
    return engine_version_text(version)


def _spec(signed: SignedExport) -> JobSpec:
    return JobSpec.model_validate(_document(signed.manifest).get("spec"))


def _against_samples(
    signed: SignedExport, run: ImportedRun
) -> tuple[list[str], list[str], list[str]]:
    """(numbers or meta that disagree with the signed data, what cannot be derived from it,
    what the signature does not cover): every mean, std and n re-derived from the samples."""
    try:
        spec = _spec(signed)
    except ValidationError:
        return ["the manifest holds no job spec this version reads"], [], []
    # imported here: the metric maths take a second to import, which arenactl commands that
    # never verify a folder should not pay
    from arena.common.metrics.derive import derived_summaries

    provenance = _document(signed.manifest).get("provenance")
    derived = derived_summaries(
        spec, signed.samples, provenance if isinstance(provenance, dict) else {}
    )
    problems, unverifiable, notes = [], [], []
    if run.model != spec.model.name:
        problems.append(
            f"meta.json names model {run.model!r}; the signed spec ran {spec.model.name!r}"
        )
    simulated = signed_simulated(signed)
    if run.provenance.simulated != simulated:
        problems.append(
            f"meta.json says simulated={run.provenance.simulated}; the signed job says {simulated}"
        )
    stated_version, version = run.provenance.engine_version, signed_engine_version(signed)
    if stated_version is not None and stated_version != version:
        problems.append(
            f"meta.json says engine version {stated_version!r}; the signed provenance says "
            f"{version!r}"
        )
    quick = quick_of(spec.notes)
    if run.provenance.quick != quick:
        problems.append(
            f"meta.json says quick={run.provenance.quick}; the signed spec says quick={quick}"
        )
    # the folder names a benchmark by its file stem: an id without a two-digit prefix gets its
    # position as one (``chat`` → ``01-chat``); the signed samples keep the spec's id
    spec_ids = {
        file_stem(position, bench.id): bench.id
        for position, bench in enumerate(spec.benchmarks, start=1)
    }
    tools = {bench.id: bench.tool for bench in spec.benchmarks}
    specs = {bench.id: bench for bench in spec.benchmarks}
    signed_facts = provenance if isinstance(provenance, dict) else {}
    for bench in run.benchmarks:
        spec_id = spec_ids.get(bench.id, bench.id)
        if spec_id in specs:
            problems += _label_problems(bench, specs[spec_id])
        if tools.get(spec_id) == "llama-benchy":
            unverifiable.append(f"{bench.id}: its summary is llama-benchy's own report, not signed")
            continue
        if bench.telemetry or any(TELEMETRY_KEYS & v.metrics.keys() for v in bench.variants):
            notes.append(
                f"{bench.id}: GPU telemetry is not signed, nor the runs' box and engine figures"
            )
        if bench.kind == "sessions":
            problems += _session_problems(bench, spec, spec_id, signed_facts)
            stated = {v.key for v in bench.variants}
            problems += [
                f"{bench.id} {key}: in the signed samples, not in the folder"
                for (benchmark, key) in sorted(derived)
                if benchmark == spec_id and key not in stated
            ]
        for variant in bench.variants:
            derived_variant = derived.get((spec_id, variant.key))
            if derived_variant is None:
                problems.append(f"{bench.id} {variant.key}: not in the signed samples")
                continue
            found = derived_variant.summary
            problems += _spread_problems(bench, variant, derived_variant.per_run)
            if bench.kind == "sessions":
                problems += [
                    f"{bench.id} {variant.key} {key}: in the signed samples, not in the folder"
                    for key in sorted(found.keys() - variant.metrics.keys())
                    if found[key].mean is not None
                ]
            for key, stat in variant.metrics.items():
                mine = found.get(key)
                if key in TELEMETRY_KEYS:  # read from telemetry and engine scrapes, not samples
                    continue
                if mine is None:
                    problems.append(f"{bench.id} {variant.key} {key}: not in the signed samples")
                elif stat.n != mine.n or not all(
                    math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
                    for a, b in ((stat.mean, mine.mean), (stat.std, mine.std))
                ):
                    problems.append(
                        f"{bench.id} {variant.key} {key}: the folder says {stat.mean:g} ± "
                        f"{stat.std:g} (n {stat.n}), the signed samples give {mine.mean:g} ± "
                        f"{mine.std:g} (n {mine.n})"
                    )
    if run.rate_sweep is not None:
        unverifiable.append("the rate-sweep summary is not derived from the signed samples")
    return problems[:20], unverifiable, notes


def _label_problems(bench: ImportedBenchmark, signed: Benchmark) -> list[str]:
    """meta.json's labels that change how a benchmark is judged or compared must be the signed
    spec's: ``exact_tg`` (not comparable with free lengths) and ``accept_saturated_client``
    (turns a saturated client's invalid verdict into a warning)."""
    return [
        f"{bench.id}: meta.json says {name} {stated}; the signed spec says {said}"
        for name, stated, said in (
            ("exact_tg", bench.exact_tg, getattr(signed, "exact_tg", False)),
            (
                "accept_saturated_client",
                bench.accept_saturated_client,
                getattr(signed, "accept_saturated_client", False),
            ),
        )
        if stated != said
    ]


def _spread_problems(
    bench: ImportedBenchmark, variant: ImportedVariant, per_run: list[dict[str, float | None]]
) -> list[str]:
    """A stated run-to-run spread must be the one the signed runs give (it decides the
    stability flag)."""
    if variant.spread_pct is None:
        return []
    from arena.common.metrics.validity import SPREAD_METRIC, spread_pct  # see _against_samples

    metric = SPREAD_METRIC.get(bench.kind, "")
    signed = spread_pct([v for run in per_run if isinstance(v := run.get(metric), int | float)])
    if signed is not None and math.isclose(variant.spread_pct, signed, rel_tol=1e-6, abs_tol=1e-9):
        return []
    given = "no spread" if signed is None else f"±{signed:g} %"
    return [
        f"{bench.id} {variant.key}: the folder states a spread of ±{variant.spread_pct:g} %, "
        f"the signed samples give {given}"
    ]


def _session_problems(
    bench: ImportedBenchmark, spec: JobSpec, spec_id: str, provenance: dict[str, Any]
) -> list[str]:
    """Where a session file's benchmark, engine figures or client CPU figures differ from the
    signed spec and provenance: capacity, the warm-cache check and ``client_saturated`` are
    read from them."""
    problems = []
    signed = next((b for b in spec.benchmarks if b.id == spec_id), None)
    if bench.session is None or bench.session != signed:
        problems.append(f"{bench.id}: its benchmark settings differ from the signed spec's")
    if bench.engine_metrics != provenance.get("engine_metrics", {}).get(spec_id, {}):
        problems.append(f"{bench.id}: its engine figures differ from the signed ones")
    if bench.client_load != cpu_utils_of(provenance, spec_id):
        problems.append(f"{bench.id}: its client CPU figures differ from the signed ones")
    return problems


def signed_session(signed: SignedExport, bench: ImportedBenchmark) -> ImportedBenchmark:
    """A session benchmark of a verified folder as the signature covers it: the signed spec's
    settings, engine and client figures and samples (under the folder's id) replace the
    file's, so nothing an import computes from rests on unsigned text."""
    spec = _spec(signed)
    spec_id = {
        file_stem(position, b.id): b.id for position, b in enumerate(spec.benchmarks, start=1)
    }.get(bench.id, bench.id)
    session = next((b for b in spec.benchmarks if b.id == spec_id), None)
    provenance = _document(signed.manifest).get("provenance")
    facts = provenance if isinstance(provenance, dict) else {}
    samples = [
        sample.model_copy(update={"benchmark": bench.id})
        for sample in signed.samples
        if sample.benchmark == spec_id
    ]
    update = {
        "session": session if isinstance(session, SessionBenchmark) else None,
        "engine_metrics": facts.get("engine_metrics", {}).get(spec_id, {}),
        "client_load": cpu_utils_of(facts, spec_id),
        "samples": samples,
    }
    return bench.model_copy(update=update)


def verify_tree(root: Path, keyring: Keyring | None) -> list[Verdict]:
    """Every exported job folder under ``root`` that carries a manifest (``root`` may be one),
    its result files read as ``arenactl import`` reads them and checked against the samples."""
    found = scan(root)
    runs = {folder_of(root, run.source).resolve(): run for run in found.runs}
    verdicts = []
    for folder in sorted({path.parent for path in root.rglob(MANIFEST)}):
        try:
            signed = read_signed(folder)
        except ValueError as error:
            verdicts.append(Verdict(str(folder), BROKEN, problems=[str(error)]))
            continue
        run = runs.get(folder.resolve())
        if run is None:
            unread = [f"{p.file}: {p.message}" for p in found.problems]
            problems = ["the result files beside the manifest do not read", *unread[:5]]
            verdicts.append(Verdict(str(folder), BROKEN, problems=problems))
            continue
        verdicts.append(verify(str(folder), signed, keyring, run))
    return verdicts


def folder_of(root: Path, source: str) -> Path:
    """The folder a scanned run came from (``source`` is relative to the root, or the root's
    own name when the root is the folder)."""
    inside = root / source
    return inside if inside.is_dir() else root
