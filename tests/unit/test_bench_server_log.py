from pathlib import Path

from bench.parity import Window, pool_server_time
from bench.server_log import ServerLog

TASK = """\
0.04.137.977 I slot print_timing: id  3 | task {task} | prompt eval time =      {prompt} ms /    {n} tokens (    2.00 ms per token,   498.94 tokens per second)
0.04.137.985 I slot print_timing: id  3 | task {task} |        eval time =     100.11 ms /     {gen} tokens (   14.30 ms per token,    69.92 tokens per second)
0.04.137.987 I slot print_timing: id  3 | task {task} |       total time =     130.17 ms /    23 tokens
"""  # noqa: E501 (llama-server's own lines)


def write_tasks(path: Path, tasks: list[tuple[int, float, int]]) -> None:
    with path.open("a") as log:
        for task, prompt, gen in tasks:
            log.write(TASK.format(task=task, prompt=prompt, n=15, gen=gen))


def test_reads_the_measured_tasks_after_the_mark(tmp_path: Path) -> None:
    log = ServerLog(tmp_path / "server.log")
    write_tasks(log.path, [(0, 99.0, 16)])  # an earlier tool's
    mark = log.mark()
    # a warm-up and a latency probe generate fewer tokens than the measured requests
    write_tasks(log.path, [(1, 5.0, 4), (2, 3.0, 1), (3, 30.06, 16), (4, 31.5, 16)])
    assert [t.prompt_ms for t in log.tasks_since(mark)] == [5.0, 3.0, 30.06, 31.5]
    assert log.prompt_ms(mark, 2, generated=16) == [30.06, 31.5]
    assert log.prompt_ms(mark, 1, generated=16) == [31.5]


def test_too_few_tasks_in_the_log_give_none(tmp_path: Path) -> None:
    log = ServerLog(tmp_path / "server.log")
    write_tasks(log.path, [(0, 30.0, 16)])
    assert log.prompt_ms(0, 2, generated=16, wait_s=0.0) is None


def test_pooling_the_server_time_keeps_only_what_each_client_adds() -> None:
    """Hand-checked: pooled server times 8.5, 17.5, 26; excesses 2, 3, 5 and 3, 5, 6."""
    ours = Window({"ttft": 20.0}, [10.0, 20.0, 30.0], 16, [8.0, 17.0, 25.0])
    theirs = Window({"ttft": 23.0}, [12.0, 23.0, 33.0], 16, [9.0, 18.0, 27.0])
    mine, reference = pool_server_time(ours, theirs, "ttft")
    assert mine["ttft (server log)"] == 20.5
    assert reference["ttft (server log)"] == 22.5
    assert (mine["excess_ms (server log)"], reference["excess_ms (server log)"]) == (3.0, 5.0)
    assert mine["ttft"] == 20.0


def test_no_pooling_without_a_server_time_for_every_request() -> None:
    ours = Window({"ttft": 20.0}, [10.0, 20.0], 16, [8.0, 17.0])
    theirs = Window({"ttft": 23.0}, [12.0, 23.0], 16, None)
    assert pool_server_time(ours, theirs, "ttft") == ({"ttft": 20.0}, {"ttft": 23.0})
