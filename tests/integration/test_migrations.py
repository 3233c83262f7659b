"""The schema's history: alembic revisions build what the models declare, on SQLite and on
PostgreSQL, and a database at an older revision is upgraded with its rows."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import JSON, column, insert, inspect, table, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from arena.common.metrics.sanity import SampleColumns
from arena.common.schemas.imported import (
    ImportedBenchmark,
    ImportedRun,
    ImportedStat,
    ImportedVariant,
    Provenance,
    TelemetrySample,
)
from arena.common.schemas.packed import pack_floats
from arena.common.schemas.user import Role
from arena.controller.results.runs import run_results
from arena.controller.server import main
from arena.controller.store.admission import DEFAULT_POLICY, policy_of
from arena.controller.store.agents import get_agent
from arena.controller.store.bulk import SAMPLE_COLUMNS
from arena.controller.store.credentials import Principal
from arena.controller.store.database import Database, connect, redacted
from arena.controller.store.imports import store_import
from arena.controller.store.jobs import get_job, lease_job, samples_of, store_samples
from arena.controller.store.migrate import SchemaError, alembic_config, revision_of
from arena.controller.store.runs import list_runs, run_detail
from arena.controller.store.trust import keyring
from tests.store_data import agents, sample, submit

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

_AGENT_COLUMNS_0003 = (
    "id",
    "name",
    "hardware",
    "labels",
    "versions",
    "gpu_name",
    "vram_gb",
    "cpu_arch",
    "registered_at",
    "last_seen_at",
    "draining",
)
AGENTS_0003 = table(
    "agents",
    *(
        column(name, JSON if name in ("hardware", "labels", "versions") else None)
        for name in _AGENT_COLUMNS_0003
    ),
)
"""The agents table as 0003 left it: rows written through it need no column added later."""
SAMPLE_FIELDS_0011 = {"session", "turn", "cached_tokens"}
"""The sample fields revision 0011 added: a sample written into an older table has none."""
SAMPLE_FIELDS_0012 = {
    "first_content_s",
    "reasoning_tokens",
    "counted_output_tokens",
    "written_s",
    "read_stall_s",
}
"""The sample fields revision 0012 added."""
SAMPLE_FIELDS_AFTER_0010 = SAMPLE_FIELDS_0011 | SAMPLE_FIELDS_0012
SAMPLE_COLUMNS_0010 = [name for name in SAMPLE_COLUMNS if name not in SAMPLE_FIELDS_AFTER_0010]


def head() -> str:
    from alembic.script import ScriptDirectory

    with connect("sqlite://").connect() as connection:
        heads = ScriptDirectory.from_config(alembic_config(connection)).get_heads()
    assert len(heads) == 1, f"revisions must form one line, found heads {heads}"
    return heads[0]


@contextmanager
def todays_columns(engine: Engine) -> Iterator[None]:
    """Let today's store code write rows into an older revision's tables: the columns the
    models gained since exist (nullable) while the block runs, and go after it."""
    added = []
    with engine.begin() as connection:
        found = inspect(connection)
        for table in SQLModel.metadata.sorted_tables:
            if not found.has_table(table.name):
                continue
            have = {column["name"] for column in found.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(dialect=connection.dialect)
                    connection.execute(
                        text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
                    )
                    added.append((table.name, column.name))
    yield
    with engine.begin() as connection:
        for table_name, column_name in added:
            connection.execute(text(f"ALTER TABLE {table_name} DROP COLUMN {column_name}"))


def test_the_revisions_build_what_the_models_declare(store_url: str) -> None:
    db = Database(store_url)
    try:
        with db.engine.connect() as connection:
            assert revision_of(connection) == head()
            differences = compare_metadata(
                MigrationContext.configure(connection), SQLModel.metadata
            )
        assert differences == [], "the models changed without a revision (docs/database.md)"
    finally:
        db.close()


def test_a_database_at_0003_is_upgraded_with_its_runs(store_url: str) -> None:
    """At 0003: a run, a leased job, samples with their chunk times as JSON. Upgraded, the
    chunk times come back bit for bit, packed (0004), and new ones are stored."""
    from alembic import command

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
    with todays_columns(engine), Session(engine) as session:  # today's store code writes them
        run_id, job_ids = submit(session, 2)
        session.commit()
    agent, job_id = "agent-old", job_ids[0]
    with engine.begin() as connection:  # an agent holding the first job, in 0003's columns
        old_agent = dict(hardware={}, labels={}, versions={}, gpu_name="", vram_gb=0.0)
        connection.execute(
            insert(AGENTS_0003).values(
                id=agent,
                name="box-0",
                cpu_arch="",
                registered_at=1.0,
                last_seen_at=1.0,
                draining=False,
                **old_agent,
            )
        )
        held = ("id", "state", "attempt", "agent_id", "acked_seq", "lease_expires_at")
        jobs = table("jobs", *map(column, held))
        lease = dict(state="leased", attempt=1, agent_id=agent, acked_seq=5, lease_expires_at=1e9)
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(**lease))
    odd = [0.1 + 0.2, 1 / 3, 1e-300, 123456.789012345678]
    written = [sample(i).model_copy(update={"chunk_times_s": odd[:i]}) for i in range(5)]
    with engine.begin() as connection:  # the JSON column as the old code wrote it
        old_samples = table(
            "samples",
            *(column(n, JSON if n == "chunk_times_s" else None) for n in SAMPLE_COLUMNS_0010),
        )
        connection.execute(
            insert(old_samples),
            [
                {
                    "job_id": job_id,
                    "attempt": 1,
                    "seq": i + 1,
                    **one.model_dump(exclude=SAMPLE_FIELDS_AFTER_0010),
                }
                for i, one in enumerate(written)
            ],
        )
    engine.dispose()

    db = Database(store_url)
    try:
        with db.engine.connect() as connection:
            assert revision_of(connection) == head()
        [run] = db.run_sync(list_runs, 10)
        assert (run.run_id, run.jobs_total, run.samples) == (run_id, 2, 5)
        stored = db.run_sync(samples_of, db.run_sync(get_job, job_id))
        assert stored == written
        new = SampleColumns.of([sample(5)])
        assert db.run_on_connection(store_samples, agent, job_id, 1, 6, new) == (6, 1)
        old = db.run_sync(get_agent, agent)  # registered before policies (0006): the defaults
        assert (old.policy, policy_of(old)) == (None, DEFAULT_POLICY)
    finally:
        db.close()


def test_requests_stored_twice_before_0005_keep_their_first(store_url: str) -> None:
    """A lying agent could store one request twice before 0005: the upgrade keeps the first of
    each and builds the unique index, which then refuses a repeat."""
    from alembic import command

    from arena.controller.store.bulk import RepeatedRequest

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0004")
    with todays_columns(engine):
        with Session(engine) as session:
            submit(session, 1)
            [agent] = agents(session, 1)
            session.commit()
            leased = lease_job(session, agent, 1.0, 1e9)
            assert leased is not None
            job_id = leased.id
            session.commit()
        with engine.begin() as connection:
            twice = [sample(0), sample(1), sample(0).model_copy(update={"end_s": 9.0})]
            store_samples(connection, agent, job_id, 1, 1, SampleColumns.of(twice))
    engine.dispose()

    db = Database(store_url)
    try:
        stored = db.run_sync(samples_of, db.run_sync(get_job, job_id))
        assert stored == twice[:2]
        with pytest.raises(RepeatedRequest):
            db.run_on_connection(store_samples, agent, job_id, 1, 4, SampleColumns.of([sample(1)]))
    finally:
        db.close()


def test_a_database_with_tables_but_no_revision_is_refused(store_url: str) -> None:
    """Made before migrations, or by something else: not a database Arena supports."""
    engine = connect(store_url)
    SQLModel.metadata.tables["agents"].create(engine)
    engine.dispose()
    with pytest.raises(SchemaError, match=r"tables \(agents\) but no schema revision"):
        Database(store_url)


def test_controllers_starting_together_migrate_once(store_url: str, backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("several controllers share a PostgreSQL database, not a SQLite file")
    opened: list[Database] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(Database(store_url))
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in opened:
        db.close()
    assert errors == []
    engine = connect(store_url)
    with engine.connect() as connection:
        assert revision_of(connection) == head()
        assert "jobs" in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_arena_controller_migrate(store_url: str) -> None:
    result = CliRunner().invoke(main, ["migrate", "--database-url", store_url])
    assert result.exit_code == 0, result.output
    engine = connect(store_url)
    with engine.connect() as connection:
        assert revision_of(connection) == head()
    engine.dispose()


def test_logs_show_no_database_password() -> None:
    assert redacted("postgresql+psycopg://arena:s3cret@db:5432/arena") == (
        "postgresql+psycopg://arena:***@db:5432/arena"
    )


def test_the_key_registry_is_filled_from_the_keys_already_stored(store_url: str) -> None:
    """0007: every key a database already knows (bound to an agent, or stored with a signed
    job that a key reset left behind) lands in ``agent_keys``, so old results still verify."""
    from alembic import command

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0006")
    with todays_columns(engine), Session(engine) as session:
        submit(session, 1)
        [agent] = agents(session, 1)
        session.commit()
        leased = lease_job(session, agent, 1.0, 1e9)
        assert leased is not None
        job_id = leased.id
        session.commit()
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO agent_trust VALUES (:a, 'official', 'bb')"), {"a": agent}
        )
        connection.execute(
            text("INSERT INTO job_trust VALUES (:j, 'official', '[]', '{}', '', 'aa')"),
            {"j": job_id},
        )
        command.upgrade(alembic_config(connection), "head")
        found = connection.execute(text("SELECT agent_id, public_key FROM agent_keys")).all()
    engine.dispose()
    assert sorted(found) == [(agent, "aa"), (agent, "bb")]


def _spark_import() -> ImportedRun:
    """An import as the reference's folders give it: vLLM's image and version."""
    stat = ImportedStat(mean=1, std=0, n=1)
    variant = ImportedVariant(key="rate1", runs=1, metrics={"ttft_ms": stat})
    return ImportedRun(
        key="family/model/fp8",
        source="model/fp8",
        content_hash="0" * 64,
        model="org/model",
        profile="fp8",
        provenance=Provenance(
            image="vllm/vllm-openai:v0.26.0", vllm_version="0.26.0", engine="vllm"
        ),
        benchmarks=[
            ImportedBenchmark(
                id="13-vllm-bench",
                title="vllm bench",
                kind="open_loop",
                tool="vllm-bench",
                variants=[variant],
                telemetry=[TelemetrySample(elapsed_s=0.0, power_w=40.0)],
            )
        ],
    )


def test_imports_stored_before_0008_move_to_their_table_and_name_their_engine(
    store_url: str,
) -> None:
    """0008: an import was a job on engine runtime ``imported`` with its benchmarks in ``spec``
    and its origin in ``provenance``; it becomes an ``imports`` row and a job on the engine that
    ran (vLLM), and reads back as before but for that engine. Down again restores the old
    form."""
    from alembic import command

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with Session(engine) as session:
        admin = Principal(kind="user", name="admin", role=Role.ADMIN)
        run_id = store_import(session, admin, _spark_import(), now=1.0).run_id
        session.commit()
        before = run_results(session, run_id)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0007")
        jobs = table(
            "jobs", column("engine_runtime"), column("spec", JSON), column("provenance", JSON)
        )
        [(runtime, spec, provenance)] = connection.execute(jobs.select()).all()
        assert runtime == "imported" and spec["imported"] is True
        assert [bench["id"] for bench in spec["benchmarks"]] == ["13-vllm-bench"]
        assert set(provenance) == {"hardware", "origin"}
        assert "engine" not in provenance["origin"]["provenance"]  # as 0007's code wrote it
        command.upgrade(alembic_config(connection), "head")
        [(runtime, spec, provenance)] = connection.execute(jobs.select()).all()
    assert (runtime, spec, provenance) == ("vllm", {}, {})
    with Session(engine) as session:
        after = run_results(session, run_id)
    engine.dispose()
    [job] = after.jobs
    assert job.engine == "vllm" and job.origin.kind == "imported"
    assert job.imported is not None and job.imported.provenance.engine == "vllm"
    assert after == before


def test_the_trust_tables_become_columns_with_their_rows(store_url: str) -> None:
    """0009: each agent's tier and bound key, each job's tier, flags and signed manifest move
    from ``agent_trust``/``job_trust`` to their rows; rows without trust keep the defaults
    (official agents, untiered jobs); the side tables go."""
    from alembic import command

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0008")
    with todays_columns(engine), Session(engine) as session:
        run_id, job_ids = submit(session, 3)
        trusted, untrusted = agents(session, 2)
        session.commit()
        signed = lease_job(session, trusted, 1.0, 1e9)
        assert signed is not None
        signed_id = signed.id
        session.commit()
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO agent_trust VALUES (:a, 'community', 'bb')"), {"a": trusted}
        )
        connection.execute(text("INSERT INTO agent_keys VALUES (:a, 'bb', 1.0)"), {"a": trusted})
        connection.execute(
            text("INSERT INTO job_trust VALUES (:j, 'community', :f, '{}', 'cc', 'bb')"),
            {"j": signed_id, "f": '["attempt 1: refused"]'},
        )
        flagged, bare = [job_id for job_id in job_ids if job_id != signed_id]
        connection.execute(  # flagged before any lease: no tier
            text("INSERT INTO job_trust VALUES (:j, '', '[\"odd\"]', '', '', '')"), {"j": flagged}
        )
        command.upgrade(alembic_config(connection), "0009")
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert not tables & {"agent_trust", "job_trust"}

    db = Database(store_url)
    try:
        moved, kept = db.run_sync(get_agent, trusted), db.run_sync(get_agent, untrusted)
        assert (moved.tier, moved.public_key) == ("community", "bb")
        assert (kept.tier, kept.public_key) == ("official", "")
        job = db.run_sync(get_job, signed_id)
        assert (job.manifest, job.signature, job.signer_key) == ("{}", "cc", "bb")
        jobs = {info.job_id: info for info in db.run_sync(run_detail, run_id).jobs}
        assert (jobs[signed_id].tier, jobs[signed_id].flags) == (
            "community",
            ["attempt 1: refused"],
        )
        assert (jobs[flagged].tier, jobs[flagged].flags) == ("", ["odd"])
        assert db.run_sync(get_job, flagged).tier is None
        assert (jobs[bare].tier, jobs[bare].flags) == ("", [])
        [entry] = db.run_sync(keyring).keys
        assert (entry.agent_id, entry.tier, entry.current) == (trusted, "community", True)
    finally:
        db.close()

    engine = connect(store_url)  # and back: the rows return to the side tables
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0008")
        agent_rows = connection.execute(text("SELECT * FROM agent_trust ORDER BY tier")).all()
        job_rows = connection.execute(text("SELECT job_id, tier, signer_key FROM job_trust")).all()
    engine.dispose()
    assert agent_rows == [(trusted, "community", "bb"), (untrusted, "official", "")]
    assert sorted(job_rows) == sorted(
        [(signed_id, "community", "bb"), (flagged, "", ""), (bare, "", "")]
    )


def test_samples_stored_before_0011_read_back_without_a_session(store_url: str) -> None:
    """0011: samples gain session, turn and cached_tokens (nullable). A sample stored before
    reads back with none of them; one stored after keeps them, through the bulk insert and the
    paged read; down again drops the columns and keeps the rows."""
    from alembic import command

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0010")
    with todays_columns(engine), Session(engine) as session:
        submit(session, 1)
        [agent] = agents(session, 1)
        session.commit()
        leased = lease_job(session, agent, 1.0, 1e9)
        assert leased is not None
        job_id = leased.id
        session.commit()
    with engine.begin() as connection:  # the columns as 0010 had them
        old_samples = table(
            "samples",
            *map(column, SAMPLE_COLUMNS_0010),
        )
        old = sample(0).model_dump(exclude=SAMPLE_FIELDS_AFTER_0010)
        old["chunk_times_s"] = pack_floats(old["chunk_times_s"])
        connection.execute(insert(old_samples), [{"job_id": job_id, "attempt": 1, "seq": 1, **old}])
        connection.execute(text("UPDATE jobs SET acked_seq = 1 WHERE id = :j"), {"j": job_id})
        command.upgrade(alembic_config(connection), "0011")
    engine.dispose()

    db = Database(store_url)
    try:
        turns = [
            sample(i).model_copy(update={"session": f"s{i}.1", "turn": i, "cached_tokens": 8 * i})
            for i in (1, 2)
        ]
        assert db.run_on_connection(
            store_samples, agent, job_id, 1, 2, SampleColumns.of(turns)
        ) == (3, 2)
        stored = db.run_sync(samples_of, db.run_sync(get_job, job_id))
        assert stored == [sample(0), *turns]
        assert (stored[0].session, stored[0].cached_tokens) == (None, None)
        assert (stored[2].root_session, stored[2].turn, stored[2].cached_tokens) == ("s2", 2, 16)
    finally:
        db.close()
    engine = connect(store_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0010")
        columns = {found["name"] for found in inspect(connection).get_columns("samples")}
        count = connection.execute(text("SELECT count(*) FROM samples")).scalar_one()
    engine.dispose()
    assert not {"session", "turn", "cached_tokens"} & columns and count == 3
