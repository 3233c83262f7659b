"""A failed job's message names the root cause: the exception chain's origin, and the first
error-level line of the engine's or a tool's output however much follows it."""

from arena.agent.engines.logs import EngineLog, FirstError
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
