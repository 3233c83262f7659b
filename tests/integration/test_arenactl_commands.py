"""arenactl's kubectl-style commands against a real controller: validate, submit --dry-run,
jobs, describe, logs -f, runs filters, and every -o format of a listing."""

import asyncio
import csv
import io
import json
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from arena.agent.link import ControllerLink
from arena.client.cli import cli
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.job import JobState
from arena.common.settings import DEV_AGENT_TOKEN
from arena.controller.server import Controller
from tests.direct_job import address, lease_one_job
from tests.integration.test_arenactl import GOOD, arenactl, suite_file
from tests.support import ControllerThread

BOX = HardwareInfo(
    cpu_model="Xeon",
    cpu_arch="x86_64",
    cpu_cores=8,
    ram_gb=32,
    os="Linux",
    kernel="6.8",
    hostname="box",
)


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"arenactl, version {version('arena')}"


def test_validate_prints_the_expanded_jobs_without_a_controller(tmp_path: Path) -> None:
    two_models = GOOD.replace("models:\n", "models:\n  - name: small\n    engine: sim\n")
    path = suite_file(
        tmp_path, two_models.replace("suite: arena-v1", "suite: arena-v1\nonly: [01-chat]")
    )
    result = CliRunner().invoke(
        cli, ["--controller", "127.0.0.1:1", "validate", path, "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["suite"] == "cli-test"
    assert [(job["model"], job["engine"], job["runtime"]) for job in plan["jobs"]] == [
        ("small", "sim", "simulated"),
        ("tiny", "sim", "simulated"),
    ]
    assert all(job["benchmarks"] == ["01-chat"] for job in plan["jobs"])
    assert all(job["requests_expected"] > 0 and job["simulated"] for job in plan["jobs"])
    assert any("quick=0.05" in note for note in plan["notes"])

    table = CliRunner().invoke(cli, ["validate", path, "--offline"])
    assert table.exit_code == 0
    assert "2 job(s), nothing submitted" in table.output and "01-chat" in table.output
    rows = list(
        csv.DictReader(
            io.StringIO(
                CliRunner().invoke(cli, ["validate", path, "--offline", "-o", "csv"]).stdout
            )
        )
    )
    assert [row["model"] for row in rows] == ["small", "tiny"]
    assert rows[0]["requests_expected"] == str(plan["jobs"][0]["requests_expected"])


def test_validate_lists_every_problem_with_its_line_and_exits_1(tmp_path: Path) -> None:
    text = GOOD.replace("quick: 0.05", "quick: 5\nruns: 0")
    result = CliRunner().invoke(cli, ["validate", suite_file(tmp_path, text)])
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(problems) == 2, result.output
    assert "suite.yaml:3: quick" in problems[0]
    assert "suite.yaml:4: runs" in problems[1]


def test_submit_dry_run_prints_the_plan_and_submits_nothing(
    controller_in_thread: ControllerThread, tmp_path: Path
) -> None:
    path = suite_file(tmp_path, GOOD)
    dry = arenactl(controller_in_thread, "submit", path, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.output
    validated = CliRunner().invoke(cli, ["validate", path, "--offline", "-o", "json"]).stdout
    assert json.loads(dry.stdout) == json.loads(validated)
    assert json.loads(arenactl(controller_in_thread, "runs", "-o", "json").stdout) == []


def submit(server: ControllerThread, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(GOOD.replace("name: cli-test", f"name: {name}"))
    result = arenactl(server, "submit", str(path))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def listed(server: ControllerThread, *args: str) -> list[str]:
    result = arenactl(server, "runs", *args, "-o", "json")
    assert result.exit_code == 0, result.output
    return [run["run_id"] for run in json.loads(result.stdout)]


def test_runs_filters_by_state_suite_age_and_limit(
    controller_in_thread: ControllerThread, tmp_path: Path
) -> None:
    chat = submit(controller_in_thread, tmp_path, "chat-night")
    rag = submit(controller_in_thread, tmp_path, "rag-night")
    assert arenactl(controller_in_thread, "cancel", rag).exit_code == 0
    assert listed(controller_in_thread) == [rag, chat]
    assert listed(controller_in_thread, "--state", "cancelled") == [rag]
    assert listed(controller_in_thread, "--state", "queued", "--state", "cancelled") == [rag, chat]
    assert listed(controller_in_thread, "--suite", "chat-*") == [chat]
    assert listed(controller_in_thread, "--since", "1h") == [rag, chat]
    assert listed(controller_in_thread, "--limit", "1") == [rag]
    assert listed(controller_in_thread, "--suite", "*-night", "--limit", "1") == [rag]
    bad = arenactl(controller_in_thread, "runs", "--since", "2 fortnights")
    assert bad.exit_code == 2 and "not a duration" in bad.output


def test_every_listing_speaks_json_yaml_and_csv(
    controller_in_thread: ControllerThread, tmp_path: Path
) -> None:
    run_id = submit(controller_in_thread, tmp_path, "formats")
    as_json = json.loads(arenactl(controller_in_thread, "runs", "-o", "json").stdout)
    as_yaml = yaml.safe_load(arenactl(controller_in_thread, "runs", "-o", "yaml").stdout)
    assert as_yaml == as_json
    (row,) = csv.DictReader(io.StringIO(arenactl(controller_in_thread, "runs", "-o", "csv").stdout))
    assert row["run_id"] == run_id and row["state"] == "queued"
    assert row["jobs_total"] == str(as_json[0]["jobs_total"])

    jobs = json.loads(arenactl(controller_in_thread, "jobs", run_id, "-o", "json").stdout)
    (job_row,) = csv.DictReader(
        io.StringIO(arenactl(controller_in_thread, "jobs", run_id, "-o", "csv").stdout)
    )
    assert job_row["job_id"] == jobs[0]["job_id"] and job_row["run_id"] == run_id
    assert job_row["model"] == "tiny" and job_row["state"] == "queued"
    table = arenactl(controller_in_thread, "jobs", run_id)
    assert jobs[0]["job_id"] in table.output and "tiny (simulated)" in table.output

    shown = yaml.safe_load(arenactl(controller_in_thread, "show", run_id, "-o", "yaml").stdout)
    assert shown["run_id"] == run_id
    assert arenactl(controller_in_thread, "agents", "-o", "csv").stdout.startswith("name,status")
    described = arenactl(controller_in_thread, "describe", run_id, "-o", "yaml")
    assert yaml.safe_load(described.stdout)["jobs"] == jobs
    assert arenactl(controller_in_thread, "describe", run_id, "-o", "csv").exit_code == 2


def test_describe_and_jobs_of_unknown_ids_are_clear_errors(
    controller_in_thread: ControllerThread,
) -> None:
    for args, expected in [
        (("jobs", "run-nope"), "no run 'run-nope'"),
        (("describe", "run-nope"), "no run 'run-nope'"),
        (("describe", "job-nope"), "unknown job 'job-nope'"),
        (("describe", "nope"), "unknown job 'nope'"),
        (("logs", "-f", "job-nope"), "unknown job 'job-nope'"),
    ]:
        result = arenactl(controller_in_thread, *args)
        assert result.exit_code == 1, args
        assert expected in result.output, result.output


async def ctl(controller: Controller, *args: str) -> Result:
    return await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), *args]
    )


async def test_describe_job_and_logs_follow_until_the_job_ends(controller: Controller) -> None:
    link, lease, run_id = await lease_one_job(controller, GOOD, "box", BOX)
    job_id, attempt = lease.job_id, lease.attempt
    await link.report(job_id, attempt, JobState.RUNNING)
    await link.push_logs(job_id, attempt, 1, ["engine up", "loading weights"])

    described = await ctl(controller, "describe", job_id, "-o", "json")
    assert described.exit_code == 0, described.output
    job = json.loads(described.stdout)
    assert (job["run_id"], job["suite"]) == (run_id, "cli-test")
    assert (job["job"]["state"], job["job"]["agent"], job["job"]["attempt"]) == (
        "running",
        "box",
        1,
    )
    assert job["benchmarks"][:2] == ["01-chat", "02-rag-8k"]
    assert any("quick=0.05" in note for note in job["notes"])
    table = await ctl(controller, "describe", job_id)
    assert "Run:" in table.output and run_id in table.output and "01-chat" in table.output

    following = asyncio.create_task(ctl(controller, "logs", "-f", job_id, "--interval", "0.05"))
    await asyncio.sleep(0.5)
    await link.push_logs(job_id, attempt, 3, ["serving"])
    await asyncio.sleep(0.5)
    assert not following.done()
    await link.push_logs(job_id, attempt, 4, ["shutting down"])
    await link.report(job_id, attempt, JobState.FAILED, "engine exited")
    result = await asyncio.wait_for(following, 30)
    await link.close()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "engine up",
        "loading weights",
        "serving",
        "shutting down",
    ]
    tail = await ctl(controller, "logs", "-f", job_id, "--tail", "1")
    assert tail.stdout.splitlines() == ["shutting down"]


def test_shell_completion_offers_commands_and_choices() -> None:
    def complete(words: str) -> list[str]:
        env = {
            "_ARENACTL_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        result = CliRunner().invoke(cli, [], env=env, prog_name="arenactl")
        assert result.exit_code == 0, result.output
        return [line.split(",", 1)[1] for line in result.stdout.splitlines()]

    assert complete("arenactl de") == ["describe"]
    assert complete("arenactl runs --state f") == ["failed"]
    assert complete("arenactl show -o y") == ["yaml"]


async def test_logs_follow_marks_a_retry_and_prints_the_new_attempts_lines(
    controller: Controller,
) -> None:
    first, lease, _ = await lease_one_job(controller, GOOD, "box-1", BOX)
    await first.report(lease.job_id, lease.attempt, JobState.RUNNING)
    await first.push_logs(lease.job_id, lease.attempt, 1, ["first try"])
    following = asyncio.create_task(
        ctl(controller, "logs", "-f", lease.job_id, "--interval", "0.05")
    )
    second = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    await second.register("box-2", BOX, {}, {"arena": "test"})
    retry = await second.lease(wait_s=10)  # box-1 stays silent: its 2 s lease expires
    assert retry is not None and (retry.job_id, retry.attempt) == (lease.job_id, 2)
    await second.report(retry.job_id, 2, JobState.RUNNING)
    await second.push_logs(retry.job_id, 2, 1, ["second try"])
    await second.report(retry.job_id, 2, JobState.FAILED, "engine exited")
    result = await asyncio.wait_for(following, 30)
    await first.close()
    await second.close()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["first try", "second try"]
    assert "--- attempt 2 ---" in result.stderr
