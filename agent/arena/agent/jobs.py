"""One leased job: the owner's policy checked, engine up, sanity answer, benchmarks × runs,
samples and engine log streamed, engine down, status in. A job the policy refuses starts
nothing and fails with the reason. A failing engine is a result: the job fails with the
reason and the engine's last lines, and the agent goes on to the next job."""

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog

from arena.agent.engines import Engine, EngineLog, engine_for, health_path
from arena.agent.engines.base import watchdog
from arena.agent.engines.logs import FirstError
from arena.agent.engines.probe import (
    engine_figures,
    engine_slots,
    engine_version,
    reset_prefix_cache,
    sanity_generation,
    scrape_metrics,
)
from arena.agent.engines.run_timings import EngineRunTimings
from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.runner import Progress, run_benchmark
from arena.agent.generator.tokens import APPROXIMATE_RULE, ServerOrApproximate, make_tokenizer
from arena.agent.link import ControllerLink, Lease
from arena.agent.policy import box_refusals, dataset_refusals, models_path, refusal
from arena.agent.settings import AgentSettings
from arena.agent.signing import job_redactor, signed_manifest
from arena.agent.telemetry.nvml import open_nvml
from arena.agent.telemetry.sampler import TelemetrySampler
from arena.agent.tools import ToolContext, driver_for
from arena.agent.uploads import Spool, log_outbox, sample_outbox, telemetry_outbox
from arena.common.errors import ArenaError, ConflictError
from arena.common.metrics.client_load import put_run
from arena.common.metrics.completion import KEY as COMPLETED
from arena.common.metrics.completion import put_completed
from arena.common.metrics.engine_slots import put_slots
from arena.common.metrics.prompt_lengths import put_approximate
from arena.common.provenance.manifest import SampleDigest
from arena.common.retry import Backoff, retry
from arena.common.schemas.agent import ClientHeadroom
from arena.common.schemas.engine import DockerEngine, ProcessEngine
from arena.common.schemas.job import JobProgress, JobState
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ModelSpec, OpenLoopBenchmark, SessionBenchmark
from arena.common.schemas.telemetry import TelemetryStatus
from arena.common.suites.run_order import PROVENANCE_KEY as RUN_ORDER
from arena.common.suites.run_order import order_record
from arena.common.suites.variants import expected_requests, variants

log = structlog.get_logger(__name__)

RATE_WINDOW_S = 10.0
REPORT_RETRY_S = 120.0
REPORT_BACKOFF = Backoff(first_s=0.5, cap_s=10.0)


class JobExecution:
    def __init__(
        self,
        link: ControllerLink,
        lease: Lease,
        settings: AgentSettings,
        spool: Spool,
        policy: AgentPolicy,
        nvml: Any | None = None,
        headroom: ClientHeadroom | None = None,
    ) -> None:
        self.headroom = headroom
        """The agent's client headroom (calibrated at its start): each run records its share."""
        self.link = link
        self.lease = lease
        self.spec = lease.spec
        self.settings = settings
        self.policy = policy
        job, attempt = lease.job_id, lease.attempt
        batch, interval = settings.upload_batch, settings.upload_interval_s
        self.samples = sample_outbox(spool, link, job, attempt, batch, interval)
        self.logs = log_outbox(spool, link, job, attempt, batch, interval)
        self.telemetry = telemetry_outbox(spool, link, job, attempt, batch, interval)
        self._nvml = nvml
        """The NVML module (``pynvml`` when None); tests pass a stand-in."""
        self.redactor = job_redactor(self.spec)
        self.digest = SampleDigest()
        """SHA-256 of the samples in the order they are numbered: signed in the manifest."""
        self.engine_log = EngineLog(forward=self.logs.put, redact=self.redactor.text)
        self.tool_errors = FirstError()
        """The first error-level line a reference tool printed: the root cause a tool's
        non-zero exit hides."""
        self._expected = {b.id: expected_requests(b, self.spec.runs) for b in self.spec.benchmarks}
        """Requests each benchmark is expected to make: a session benchmark's estimate is
        refined by the generator as its steps run (``Progress.total``)."""
        self.requests_done = 0
        self.errors = 0
        self._started: float | None = None
        """When the first benchmark started (monotonic): progress's elapsed time and estimate."""
        self._benchmark = ("", 0.0, 0)
        """The benchmark going on: its id, when it started, its requests done."""
        self.position = ("", "", 0)
        self.provenance: dict[str, Any] = {}
        self._recent: collections.deque[tuple[float, int]] = collections.deque()
        self.cancel_reason: str | None = None
        self._discard = False
        self._task: asyncio.Task[None] | None = None
        self.log = log.bind(job_id=job, attempt=attempt)

    def progress(self) -> JobProgress:
        benchmark, variant, run = self.position
        now = time.monotonic()
        elapsed = now - self._started if self._started is not None else 0.0
        total = sum(self._expected.values())
        current, since, done = self._benchmark
        bench_elapsed = now - since if current else 0.0
        bench_total = self._expected.get(current, 0)
        return JobProgress(
            job_id=self.lease.job_id,
            attempt=self.lease.attempt,
            benchmark=benchmark,
            variant=variant,
            run=run,
            requests_done=self.requests_done,
            requests_total=sum(self._expected.values()),
            errors=self.errors,
            output_tokens_per_s=self._output_rate(),
            elapsed_s=round(elapsed, 1),
            remaining_s=_time_left(elapsed, self.requests_done, total),
            benchmark_elapsed_s=round(bench_elapsed, 1),
            benchmark_remaining_s=_time_left(bench_elapsed, done, bench_total),
            completed_benchmarks=dict(self.provenance.get(COMPLETED, {})),
        )

    def _output_rate(self) -> float:
        horizon = time.monotonic() - RATE_WINDOW_S
        while self._recent and self._recent[0][0] < horizon:
            self._recent.popleft()
        return sum(tokens for _, tokens in self._recent) / RATE_WINDOW_S

    def _on_sample(self, sample: RequestSample) -> None:
        """A reference tool's sample: stored and counted at once."""
        self._store(sample)
        self._count(sample)

    def _store(self, sample: RequestSample) -> None:
        self.samples.put(sample)
        self.digest.add(sample)

    def _count(self, sample: RequestSample) -> None:
        """The live figures: the generator reports each request as it completes, before the
        sample itself comes (after the run, its output tokens counted)."""
        self.requests_done += 1
        current, since, done = self._benchmark
        self._benchmark = (current, since, done + 1)
        if sample.error is not None:
            self.errors += 1
        self._recent.append((time.monotonic(), sample.completion_tokens or 0))

    def _on_progress(self, progress: Progress) -> None:
        self.position = (progress.benchmark, progress.variant, progress.run)
        self._expected[progress.benchmark] = max(progress.total, progress.done)

    def cancel(self, reason: str) -> None:
        """Stop the job (tools and engine); the controller already knows why. Once: the
        order repeats on every heartbeat until the job is over, and a second cancellation
        would cut the clean-up short (the engine left running, the agent's loop ended)."""
        if self.cancel_reason is not None:
            return
        self.cancel_reason = reason
        if self._task is not None:
            self._task.cancel()

    async def run(self) -> None:
        self._task = asyncio.current_task()
        refused = box_refusals(self.policy, self.spec.engine, self.spec.model)
        refused += dataset_refusals(self.policy, self.spec.benchmarks)
        if refused:
            await self._refuse(refusal(refused))
            return
        try:
            engine = engine_for(
                self.spec.engine,
                self.spec.model,
                self.engine_log,
                state_dir=self.settings.state_dir,
                agent_name=self.settings.name,
                job_id=self.lease.job_id,
                policy=self.policy,
            )
        except ArenaError as error:  # a recipe the policy refuses, a secret the box lacks
            await self._refuse(str(error))
            return
        boxes = (self.samples, self.logs, self.telemetry)
        uploaders = [asyncio.create_task(box.run()) for box in boxes]
        clock = JobClock()
        try:
            await self._report(
                JobState.RUNNING, "starting engine", clock_origin_unix=clock.wall_origin
            )
            async with self._gpu_telemetry(clock):
                await self._measure(engine, clock)
            await engine.stop()
            await asyncio.wait_for(self._flush(), self.settings.flush_timeout_s)
            provenance = self._provenance(engine)
            manifest, signature = (
                signed_manifest(
                    self.settings,
                    self.spec,
                    self.lease.attempt,
                    provenance,
                    self.link.versions,
                    self.digest,
                )
                if self.link.public_key
                else (b"", b"")
            )
            await self._report(
                JobState.SUCCEEDED,
                f"{self.samples.last_seq} samples, {self.errors} errors",
                total_samples=self.samples.last_seq,
                provenance=provenance,
                manifest=manifest,
                signature=signature,
            )
        except asyncio.CancelledError:
            self.log.info("job cancelled", reason=self.cancel_reason)
            self._discard = self.cancel_reason is not None
            await engine.stop()
            with contextlib.suppress(ArenaError):
                await self._report(
                    JobState.CANCELLED,
                    self.cancel_reason or "agent shutting down",
                    provenance=self._provenance(engine),
                )
            if self.cancel_reason is None:
                raise
        except ConflictError as error:
            self.log.warning("job fenced off by the controller", reason=str(error))
            self._discard = True
            await engine.stop()
        except Exception as error:
            self.log.exception("job failed")
            await engine.stop()
            with contextlib.suppress(ArenaError, TimeoutError):
                await asyncio.wait_for(self._flush(), 30)
            with contextlib.suppress(ArenaError):
                await self._report(
                    JobState.FAILED,
                    self.tool_errors.lead(_reason(error)),
                    provenance=self._provenance(engine),
                )
        finally:
            for uploader in uploaders:
                uploader.cancel()
                with contextlib.suppress(asyncio.CancelledError, ArenaError):
                    await uploader
            self.log.info(
                "job ended",
                samples=self.samples.last_seq,
                acked=self.samples.acked_seq,
                errors=self.errors,
            )
            for box in boxes:
                if self._discard:  # the controller refuses this attempt's writes now
                    box.spool.finish(box.key)
                else:
                    box.finish()  # kept in the spool while anything is unacknowledged

    async def _refuse(self, message: str) -> None:
        """Fail the job before anything started: no engine, no sample, no spool entry."""
        self.log.warning("job refused", reason=message)
        with contextlib.suppress(ArenaError):
            await self._report(JobState.FAILED, message)
        for box in (self.samples, self.logs, self.telemetry):
            box.finish()  # empty: forget the streams opened for this attempt

    async def _flush(self) -> None:
        await self.samples.flush()
        await self.logs.flush()
        await self.telemetry.flush()

    @contextlib.asynccontextmanager
    async def _gpu_telemetry(self, clock: JobClock) -> AsyncIterator[None]:
        """NVML readings on the job clock while the engine serves; a host without an NVIDIA
        GPU records "no GPU telemetry" with the reason, never zeros."""
        reader = await asyncio.to_thread(open_nvml, self._nvml)
        interval = self.settings.telemetry_interval_s
        if isinstance(reader, str):
            status = TelemetryStatus(source="none", reason=reader)
            self.provenance["telemetry"] = status.model_dump()
            yield
            return
        status = TelemetryStatus(source="nvml", interval_s=interval, gpus=reader.gpus)
        self.provenance["telemetry"] = status.model_dump()
        sampler = TelemetrySampler(reader, clock, self.telemetry.put, interval)
        await sampler.start()
        try:
            yield
        finally:
            await sampler.stop()
            self.log.info("telemetry stopped", ticks=sampler.ticks)

    def _provenance(self, engine: Engine) -> dict[str, Any]:
        return self.redactor.tree(engine.provenance() | self.provenance)

    async def _measure(self, engine: Engine, clock: JobClock) -> None:
        await engine.start()
        await engine.wait_ready()
        model = self._served_model_name()
        self.provenance["engine_version"] = await engine_version(engine.base_url, engine.api_key)
        if (slots := await engine_slots(engine.base_url, engine.api_key)) is not None:
            put_slots(self.provenance, slots)
        self.provenance["sanity"] = await sanity_generation(engine.base_url, model, engine.api_key)
        if self.provenance["sanity"]["engine_label"] == "simulated":
            self.provenance["simulated"] = True
        self.log.info(
            "engine ready", url=engine.base_url, sanity=self.provenance["sanity"]["answer"]
        )
        guard = asyncio.create_task(
            watchdog(
                engine,
                health_path(self.spec.engine),
                getattr(self.spec.engine, "watchdog_health_failures", 3),
                self.engine_log,
            )
        )
        benchmarks = asyncio.create_task(self._benchmarks(engine, clock, model))
        try:
            done, _ = await asyncio.wait({guard, benchmarks}, return_when=asyncio.FIRST_COMPLETED)
            if guard in done:
                guard.result()  # raises the engine's failure
            try:
                await benchmarks
            except Exception:
                await _explain_by_engine(engine)
                raise
        finally:
            for task in (guard, benchmarks):
                task.cancel()
            # outcomes were handled above; this only waits for both to wind down
            await asyncio.gather(guard, benchmarks, return_exceptions=True)

    def _local_model(self) -> ModelSpec:
        """The model with its tokenizer as the path on this box, resolved under models_dir."""
        model = self.spec.model
        if model.tokenizer is None:
            return model
        return model.model_copy(
            update={"tokenizer": str(models_path(self.policy, model.tokenizer))}
        )

    def _local_benchmark(self, bench: Benchmark) -> Benchmark:
        """The benchmark with its dataset or trace file as the path on this box, resolved
        under models_dir."""
        if isinstance(bench, SessionBenchmark) and bench.trace.path is not None:
            trace = bench.trace.model_copy(
                update={"path": str(models_path(self.policy, bench.trace.path))}
            )
            return bench.model_copy(update={"trace": trace})
        if not isinstance(bench, OpenLoopBenchmark) or bench.dataset_path is None:
            return bench
        return bench.model_copy(
            update={"dataset_path": str(models_path(self.policy, bench.dataset_path))}
        )

    def _served_model_name(self) -> str:
        engine = self.spec.engine
        if isinstance(engine, DockerEngine | ProcessEngine) and engine.served_model_name:
            return engine.served_model_name
        return self.spec.model.name

    async def _benchmarks(self, engine: Engine, clock: JobClock, model: str) -> None:
        endpoint = Endpoint(
            base_url=engine.base_url,
            model=model,
            api_key=engine.api_key,
            accepts_ignore_eos=getattr(self.spec.engine, "accepts_ignore_eos", True),
        )
        tokenizer = make_tokenizer(self._local_model(), endpoint)
        engine_metrics: dict[str, dict[str, float]] = {}
        self.provenance["engine_metrics"] = engine_metrics
        try:
            for bench in map(self._local_benchmark, self.spec.benchmarks):
                self.log.info("benchmark started", benchmark=bench.id)
                self._benchmark = (bench.id, time.monotonic(), 0)
                if self._started is None:
                    self._started = self._benchmark[1]
                before = await scrape_metrics(engine.base_url, engine.api_key)
                if bench.tool != "builtin":
                    await self._run_tool(bench, engine, endpoint, clock)
                else:
                    self._record_run_order(bench)
                    loads = await run_benchmark(
                        bench,
                        endpoint=endpoint,
                        runs=self.spec.runs,
                        seed=self.spec.seed,
                        clock=clock,
                        sink=self._store,
                        live=self._count,
                        tokenizer=tokenizer,
                        progress=self._on_progress,
                        workers=self.settings.client_workers,
                        note=lambda line: self.logs.put(f"[arena] {line}"),
                        reset_cache=lambda: reset_prefix_cache(engine.base_url, engine.api_key),
                        headroom=self.headroom,
                        bounds=EngineRunTimings(
                            engine.base_url, engine.api_key, self.provenance, bench.id
                        )
                        if before is not None
                        else None,
                        count_tokens=not self.spec.model.random_weights,
                    )
                    for load in loads:
                        put_run(self.provenance, bench.id, load.variant, load.run, load.figures())
                after = await scrape_metrics(engine.base_url, engine.api_key)
                if before is not None and after is not None:
                    engine_metrics[bench.id] = engine_figures(before, after)
                put_completed(self.provenance, bench.id, self.samples.last_seq)
        finally:
            await tokenizer.close()
            if isinstance(tokenizer, ServerOrApproximate) and tokenizer.approximate:
                put_approximate(self.provenance, APPROXIMATE_RULE, tokenizer.approximate)

    def _record_run_order(self, bench: Benchmark) -> None:
        """The (variant, run) order the generator follows, in the job's provenance."""
        if isinstance(bench, SessionBenchmark):
            return
        keys = [variant.key for variant in variants(bench)]
        orders = self.provenance.setdefault(RUN_ORDER, {})
        orders[bench.id] = order_record(
            keys, self.spec.runs, bench.run_order, self.spec.seed, bench.id
        )

    async def _run_tool(
        self, bench: Benchmark, engine: Engine, endpoint: Endpoint, clock: JobClock
    ) -> None:
        """The benchmark through a reference tool; its command, files and metrics are stored."""
        driver = driver_for(bench.tool)
        workdir = self.settings.state_dir / "tools" / self.lease.job_id
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        container = engine.provenance().get("container")
        ctx = ToolContext(
            endpoint=endpoint,
            model_name=self.spec.model.name,
            runs=self.spec.runs,
            seed=self.spec.seed,
            tokenizer=self._local_model().tokenizer,
            random_weights=self.spec.model.random_weights,
            clock=clock,
            workdir=workdir,
            output=lambda line: self._tool_output(driver.name, line),
            sample=self._on_sample,
            position=lambda benchmark, variant, run: setattr(
                self, "position", (benchmark, variant, run)
            ),
            container=container if isinstance(container, str) else None,
            container_port=getattr(self.spec.engine, "port", None),
        )
        outcome = await driver.run(bench, ctx)
        await retry(
            lambda: self.link.push_tool_result(
                self.lease.job_id,
                self.lease.attempt,
                bench.id,
                outcome.tool,
                self.redactor.text(outcome.command),
                self.redactor.text(outcome.output),
                outcome.metrics,
            ),
            "push tool result",
            backoff=REPORT_BACKOFF,
            budget_s=REPORT_RETRY_S,
            job_id=self.lease.job_id,
        )

    def _tool_output(self, tool: str, line: str) -> None:
        self.tool_errors.see(line)
        self.logs.put(f"[{tool}] {line}")

    async def _report(self, state: JobState, message: str, **details: Any) -> None:
        """Status changes must arrive: retry through controller restarts and network cuts."""
        await retry(
            lambda: self.link.report(
                self.lease.job_id, self.lease.attempt, state, self.redactor.text(message), **details
            ),
            "report status",
            backoff=REPORT_BACKOFF,
            budget_s=REPORT_RETRY_S,
            job_id=self.lease.job_id,
            state=state.value,
        )


async def _explain_by_engine(engine: Engine, within_s: float = 2.0) -> None:
    """A request that failed because the engine died should fail the job with the engine's
    reason (exit code, OOM kill, its last lines), not with a connection reset."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        await engine.check()
        await asyncio.sleep(0.2)


def _time_left(elapsed_s: float, done: int, total: int) -> float | None:
    """Elapsed × requests left ÷ requests done: the pace so far, refined by every request;
    None before the first one (no pace yet)."""
    if done <= 0 or elapsed_s <= 0:
        return None
    return round(max(total - done, 0) * elapsed_s / done, 1)


def _reason(error: BaseException) -> str:
    """The failure as the job's message: the origin of its explicit causes (``raise ... from``)
    first (a wrapper's "report unreadable" says less than what went wrong), then the error
    that ended the job. An exception raised while handling another (``__context__``) is
    its own cause: the engine's death found after a connection reset, say."""
    origin = _origin(error)
    if origin is error:
        return _describe(error)
    return f"{_describe(origin)} (then: {_describe(error)})"


def _origin(error: BaseException) -> BaseException:
    seen = {id(error)}
    while True:
        cause = error.__cause__
        if cause is None or id(cause) in seen or isinstance(cause, asyncio.CancelledError):
            return error
        seen.add(id(cause))
        error = cause


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, ArenaError) else f"{type(error).__name__}: {text}"


__all__: Sequence[str] = ["JobExecution"]
