"""A failed job's message names the root cause: the exception chain's origin, and the first
error-level line of the engine's or a tool's output however much follows it."""

from arena.agent.engines.logs import RECENT_LINES, EngineLog, FirstError
from arena.agent.jobs import _reason


def test_the_origin_of_an_exception_chain_leads_the_message() -> None:
    try:
        try:
            raise ConnectionRefusedError("connect to 127.0.0.1:8000 refused")
        except OSError as error:
            raise RuntimeError("vllm bench serve exited with code 1") from error
    except RuntimeError as error:
        message = _reason(error)
    assert message == (
        "ConnectionRefusedError: connect to 127.0.0.1:8000 refused"
        " (then: RuntimeError: vllm bench serve exited with code 1)"
    )
    assert _reason(TimeoutError()) == "TimeoutError: TimeoutError"


def test_the_first_error_line_survives_the_chatter_after_it() -> None:
    log = EngineLog()
    log.append("INFO loading weights")
    log.append("Error response from daemon: container 3f2a is not running")
    for line in range(30):
        log.append(f"INFO stopping worker {line}")
    explained = log.explain("engine container exited with code 137")
    assert explained.splitlines()[0] == (
        "Error response from daemon: container 3f2a is not running"
        " (engine container exited with code 137)"
    )


def test_benign_lines_are_not_errors() -> None:
    seen = FirstError()
    for line in ("INFO 0 errors so far", "request failed: 0", "error_rate=0.0", "Killed 0 jobs"):
        seen.see(line)
    assert seen.line is None
    seen.see("Traceback (most recent call last):")
    seen.see("torch.OutOfMemoryError: CUDA out of memory")
    assert seen.line == "torch.OutOfMemoryError: CUDA out of memory"


def test_level_words_count_only_where_the_level_sits() -> None:
    errors = [
        "ERROR 12-07 15:00:00 worker.py:42] CUDA error: out of memory",
        "(EngineCore_0 pid=7) ERROR 12-07 15:00:00 [core.py:1] EngineCore failed",
        "\x1b[1;36m(VllmWorker rank=0 pid=9)\x1b[0;0m ERROR 12-07 15:00:00 boom",
        "2026-12-07 15:00:00,123 ERROR scheduler died",
        "[2026-12-07 15:00:00] CRITICAL cannot allocate",
        "2026/12/07 15:00:00 FATAL listener closed",
        "ERROR:root:model failed to load",
        "2026-12-07 15:00:00 [error    ] engine crashed",
        'time=2026-12-07T15:00:00Z level=ERROR msg="engine crashed"',
        "torch.OutOfMemoryError: CUDA out of memory",
        "Killed",
    ]
    not_errors = [
        "INFO 12-07 15:00:00 Received request: prompt: 'ERROR: the GPU is out of memory'",
        "INFO 12-07 15:00:00 prompt: 'say the engine is not running'",
        "DEBUG 12-07 15:00:00 token ERROR",
        "ERROR 12-07 15:00:00 [serving.py:1] asyncio.exceptions.CancelledError",
        "ERROR:    Exception in ASGI application",
    ]
    for line in errors:
        seen = FirstError()
        seen.see(line)
        assert seen.line == line.strip(), line
    for line in not_errors:
        seen = FirstError()
        seen.see(line)
        assert seen.line is None, line


def test_an_old_error_does_not_lead_a_later_failure() -> None:
    """A long-past error (one request's failure an hour ago) is no cause of this failure: only
    an error among the last ``RECENT_LINES`` lines leads it."""
    log = EngineLog()
    log.append("ERROR 12-07 14:00:00 serving.py:9] request 7 failed: bad grammar")
    for line in range(RECENT_LINES):
        log.append(f"INFO 12-07 14:00:00 metrics.py:1] throughput {line}")
    assert log.explain("engine exited with code 1").splitlines()[0] == "engine exited with code 1"
    log.append("ERROR 12-07 15:00:00 worker.py:42] CUDA error: out of memory")
    log.append("ERROR 12-07 15:00:00 worker.py:43] shutting down after the error")
    assert log.explain("engine exited with code 1").splitlines()[0] == (
        "ERROR 12-07 15:00:00 worker.py:42] CUDA error: out of memory (engine exited with code 1)"
    )
