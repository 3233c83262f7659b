"""``arena-controller``: the grpc.aio server, its database, and the lease reaper."""

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import click
import grpc
import structlog
from sqlalchemy.exc import OperationalError

from arena.common.analysis.rank import read_models
from arena.common.errors import ArenaError, NotFoundError
from arena.common.logging import configure_logging
from arena.common.pb.arena.v2 import agent_pb2_grpc, user_pb2_grpc
from arena.common.private import restrict_new_files
from arena.common.settings import warn_misspelled_environment
from arena.common.transport import is_loopback
from arena.controller.metrics import ControllerMetrics, metrics_router
from arena.controller.results import aggregation
from arena.controller.results.finishing import JobFinisher
from arena.controller.rpc.agents import AgentServicer
from arena.controller.rpc.auth import AuthInterceptor
from arena.controller.rpc.errors import MalformedRequestInterceptor
from arena.controller.rpc.limits import LimitsInterceptor
from arena.controller.rpc.users import UserServicer
from arena.controller.rpc.versions import ProtocolVersionInterceptor
from arena.controller.settings import ControllerSettings
from arena.controller.store import jobs as job_store
from arena.controller.store.database import (
    Database,
    open_database,
    redacted,
    upgrade_database,
)
from arena.controller.suite_workers import SuiteWorkers
from arena.controller.tls import server_credentials
from arena.controller.web.app import ROUTERS, create_app
from arena.controller.web.serve import DashboardServer
from arena.controller.work import PeerChannel, WorkSignal

log = structlog.get_logger(__name__)

KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


class Controller:
    """Owns the server, the database and the reaper; ``async with`` starts and stops them."""

    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self.db: Database | None = None
        self.metrics: ControllerMetrics | None = None
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.dashboard: DashboardServer | None = None
        self._reaper: asyncio.Task[None] | None = None
        self.finisher: JobFinisher | None = None
        self._peers: PeerChannel | None = None
        self.suite_workers = SuiteWorkers(
            settings.suite_workers, settings.suite_budget_s, settings.submissions_per_user
        )

    async def start(self) -> None:
        settings = self.settings
        self.db = open_database(settings)
        self.metrics = ControllerMetrics(self.db, online_window_s=settings.lease_ttl_s)
        granted = await self.db.call(job_store.grant_grace, time.time(), settings.lease_ttl_s)
        if granted:
            log.info("gave running jobs a lease grace period after start", jobs=granted)
        self.finisher = JobFinisher(self.db)
        recovered = await self.finisher.recover()
        if recovered:
            log.info("aggregating jobs whose metrics were pending at stop", jobs=recovered)
        work = WorkSignal()
        if self.db.engine.dialect.name == "postgresql":  # other controllers may share it
            self._peers = PeerChannel(self.db.engine, work)
            self._peers.start()
        self.server = grpc.aio.server(
            interceptors=[
                ProtocolVersionInterceptor(),
                AuthInterceptor(self.db, settings),
                LimitsInterceptor(settings),
                MalformedRequestInterceptor(),
            ],
            options=[
                *KEEPALIVE_OPTIONS,
                ("grpc.max_receive_message_length", settings.max_message_bytes),
            ],
        )
        agent_pb2_grpc.add_AgentServiceServicer_to_server(
            AgentServicer(self.db, settings, work, self.metrics, self.finisher), self.server
        )
        user_pb2_grpc.add_UserServiceServicer_to_server(
            UserServicer(self.db, settings, work, self.suite_workers, self.finisher), self.server
        )
        credentials = server_credentials(settings)
        self.port = (
            self.server.add_secure_port(settings.listen, credentials)
            if credentials is not None
            else self.server.add_insecure_port(settings.listen)
        )
        if self.port == 0:
            raise OSError(f"cannot listen on {settings.listen}")
        await self.server.start()
        self._reaper = asyncio.create_task(self._reap_leases(work))
        if settings.dashboard_address is not None:
            routers = (*ROUTERS, metrics_router(self.metrics))
            self.dashboard = DashboardServer(create_app(self.db, settings, routers))
            try:
                await self.dashboard.start(*settings.dashboard_address)
            except OSError:
                await self.stop(grace=0)
                raise
        if settings.uses_dev_tokens:
            log.warning(
                "using the built-in development tokens; set ARENA_AGENT_TOKENS and "
                "ARENA_USER_TOKENS before exposing the controller"
            )
        log.info(
            "controller listening",
            address=settings.listen,
            port=self.port,
            database=redacted(settings.database),
            tls=credentials is not None,
            dashboard=self.dashboard_url or "off",
        )

    @property
    def dashboard_url(self) -> str | None:
        if self.dashboard is None or self.settings.dashboard_address is None:
            return None
        host = self.settings.dashboard_address[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.dashboard.port}/"

    async def _reap_leases(self, work: WorkSignal) -> None:
        assert self.db is not None and self.metrics is not None
        interval = min(self.settings.heartbeat_interval_s, self.settings.lease_ttl_s / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                requeued = await self.db.call(
                    job_store.expire_leases, time.time(), self.settings.max_attempts
                )
            except Exception:
                log.exception("lease reaper failed; retrying")
                continue
            if requeued:
                self.metrics.lease_expiries.inc(len(requeued))
                work.notify()

    async def stop(self, grace: float = 2.0) -> None:
        if self.dashboard is not None:
            await self.dashboard.stop()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        if self.server is not None:
            await self.server.stop(grace)
        if self._peers is not None:
            await asyncio.to_thread(self._peers.stop)
        self.suite_workers.close()
        if self.finisher is not None:
            self.finisher.close()
        if self.db is not None:
            self.db.close()
        log.info("controller stopped")

    async def __aenter__(self) -> "Controller":
        await self.start()
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.stop()


def _refuse_dev_tokens_off_loopback(settings: ControllerSettings) -> None:
    if settings.uses_dev_tokens and not is_loopback(settings.host):
        raise click.UsageError(
            f"refusing to listen on {settings.listen} with the development tokens: "
            "set ARENA_AGENT_TOKENS and ARENA_USER_TOKENS (JSON lists, [] to enrol agents "
            "instead) and ARENA_ADMIN_TOKEN first (docs/security.md)"
        )


async def serve(settings: ControllerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Controller(settings):
        await stop.wait()


def _database_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options naming the database and the logs: the server's and ``migrate``'s."""
    for option in reversed(
        [
            click.option(
                "--data-dir", type=click.Path(), help="Where the SQLite file lives [ARENA_DATA_DIR]"
            ),
            click.option(
                "--database-url",
                help="Any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/arena "
                "[ARENA_DATABASE_URL]",
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(exists=True, dir_okay=False),
                help="TOML settings file [ARENA_CONFIG_FILE]",
            ),
            click.option("--log-level", help="debug, info, warning [ARENA_LOG_LEVEL]"),
            click.option("--log-format", type=click.Choice(["console", "json"])),
        ]
    ):
        command = option(command)
    return command


def _settings(flags: dict[str, Any]) -> ControllerSettings:
    settings = ControllerSettings(**{k: v for k, v in flags.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format)
    warn_misspelled_environment(ControllerSettings)
    return settings


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A database the controller cannot open or place is the user's to fix: say so plainly."""
    try:
        yield
    except (ArenaError, OperationalError) as error:
        raise click.ClickException(f"database: {error}") from error


@click.group(invoke_without_command=True)
@click.option("--listen", help="gRPC address, e.g. 0.0.0.0:50051 [env ARENA_LISTEN]")
@_database_options
@click.option(
    "--database-connections",
    type=click.IntRange(1, 64),
    help="PostgreSQL transactions at once (default 4) [ARENA_DATABASE_CONNECTIONS]",
)
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    help="Failed-request share above which a benchmark is invalid, default 0.1 "
    "[ARENA_MAX_ERROR_RATE]",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Certificate PEM; default: self-signed in DATA_DIR/tls [ARENA_TLS_CERT]",
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False), help="Its key [ARENA_TLS_KEY]"
)
@click.option(
    "--tls-client-ca",
    type=click.Path(exists=True, dir_okay=False),
    help="Mutual TLS: clients need a certificate from this CA [ARENA_TLS_CLIENT_CA]",
)
@click.option(
    "--tls/--no-tls", default=None, help="TLS on loopback too (always on beyond it) [ARENA_TLS]"
)
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Allow plain text beyond loopback (logged loudly) [ARENA_INSECURE]",
)
@click.option(
    "--dashboard",
    metavar="HOST:PORT|off",
    help="Web dashboard address, default 127.0.0.1:8080; 'off' disables it [ARENA_DASHBOARD]",
)
@click.option(
    "--models-file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML of model quality scores and footprints for the dashboard's leaderboard "
    "(examples/models.yaml) [ARENA_MODELS_FILE]",
)
@click.pass_context
def main(context: click.Context, /, **flags: Any) -> None:
    """Run the Arena controller; it brings the database's schema up to date first."""
    restrict_new_files()
    if context.invoked_subcommand is not None:
        context.obj = flags
        return
    settings = _settings(flags)
    _refuse_dev_tokens_off_loopback(settings)
    if settings.models_file is not None:
        try:
            read_models(settings.models_file)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--models-file") from None
    with _database_errors():
        asyncio.run(serve(settings))


@main.command()
@_database_options
@click.pass_obj
def migrate(given: dict[str, Any], /, **flags: Any) -> None:
    """Bring the database's schema to this version's newest revision, then exit."""
    settings = _settings(given | {k: v for k, v in flags.items() if v is not None})
    with _database_errors():
        revision = upgrade_database(settings)
    log.info("database schema is current", revision=revision, database=redacted(settings.database))


@main.command()
@_database_options
@click.option("--all", "every_run", is_flag=True, help="Every run's, whatever version made them")
@click.argument("runs", nargs=-1, metavar="[RUN]...")
@click.pass_obj
def reaggregate(
    given: dict[str, Any], /, runs: tuple[str, ...], every_run: bool, **flags: Any
) -> None:
    """Recompute stored metrics with this version's metric definitions: every job of the
    RUNs named, else of every run whose metrics are older (or missing); --all: every run."""
    settings = _settings(given | {k: v for k, v in flags.items() if v is not None})
    with _database_errors():
        db = open_database(settings)
        try:
            try:
                jobs = db.run_sync(aggregation.jobs_to_reaggregate, list(runs), every_run)
            except NotFoundError as error:
                raise click.BadParameter(str(error), param_hint="RUN") from None
            for done, (run_id, job_id) in enumerate(jobs, start=1):
                computed = db.run_sync(aggregation.compute_aggregates, job_id)
                rows = db.run_sync(aggregation.store_computed, computed)  # a short write
                click.echo(f"[{done}/{len(jobs)}] {run_id} {job_id}: {rows} rows")
        finally:
            db.close()
    run_count = len({run_id for run_id, _ in jobs})
    click.echo(
        f"recomputed the metrics of {len(jobs)} jobs in {run_count} runs "
        f"(metrics version {aggregation.METRICS_VERSION})"
    )


if __name__ == "__main__":
    main()
