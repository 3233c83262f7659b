"""The simulated engine over real HTTP: in-process on port 0, and as the ``arena-sim`` process."""

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arena.agent.simulated.app import SCHEDULER_KEY
from arena.agent.simulated.server import LISTENING_PREFIX, RunningServer, running_server
from arena.agent.simulated.tokenizer import VOCAB
from arena.common.schemas.engine import SimulatedEngine

REPO_ROOT = Path(__file__).resolve().parents[2]


def engine(**fields: float) -> SimulatedEngine:
    return SimulatedEngine.model_validate({"runtime": "simulated", **fields})


def chat(max_tokens: int, words: int = 3, **extra: Any) -> dict[str, Any]:
    prompt = " ".join(VOCAB[:words])
    return {
        "model": "arena-sim",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        **extra,
    }


async def sse_events(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[float, str]]:
    """``(arrival time, data)`` of each SSE event."""
    async for line in response.content:
        if line.startswith(b"data: "):
            yield time.monotonic(), line[len(b"data: ") :].decode().strip()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with running_server(engine(decode_step_ms=5, decode_step_ms_per_seq=0)) as running:
        yield running


async def test_health_models_and_version_say_simulated(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/health") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "simulated": True}
        assert response.headers["X-Arena-Engine"] == "simulated"
    async with http.get(f"{server.url}/v1/models") as response:
        models = await response.json()
    assert [(m["id"], m["owned_by"]) for m in models["data"]] == [("arena-sim", "arena-simulated")]
    async with http.get(f"{server.url}/version") as response:
        assert (await response.json())["engine"] == "arena-simulated"


async def test_health_is_503_until_startup_time_has_passed(http: aiohttp.ClientSession) -> None:
    async with running_server(engine(startup_s=0.3)) as slow:
        async with http.get(f"{slow.url}/health") as response:
            assert response.status == 503
        await asyncio.sleep(0.35)
        async with http.get(f"{slow.url}/health") as response:
            assert response.status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "prompt": f"{VOCAB[0]} {VOCAB[1]}"},
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": VOCAB[0]},
                {"role": "assistant", "content": VOCAB[1]},
            ],
        },
        {"content": f"{VOCAB[0]} {VOCAB[1]}"},
    ],
)
async def test_tokenize_accepts_vllm_and_llama_cpp_shapes(
    server: RunningServer, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    async with http.post(f"{server.url}/tokenize", json=body) as response:
        assert await response.json() == {"tokens": [0, 1], "count": 2, "max_model_len": 131072}


async def test_detokenize_round_trips_and_refuses_unknown_ids(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{server.url}/detokenize", json={"tokens": [5, 6]}) as response:
        text = f"{VOCAB[5]} {VOCAB[6]}"
        assert await response.json() == {"prompt": text, "content": text}
    async with http.post(f"{server.url}/detokenize", json={"tokens": [10**6]}) as response:
        assert response.status == 400


async def test_a_stream_is_role_chunk_then_one_chunk_per_token_then_usage_then_done(
    http: aiohttp.ClientSession,
) -> None:
    profile = engine(prefill_tokens_per_s=10_000, decode_step_ms=20, decode_step_ms_per_seq=0)
    body = chat(8, words=2000, stream=True, stream_options={"include_usage": True})
    async with running_server(profile) as slow_prefill:
        sent = time.monotonic()
        async with http.post(f"{slow_prefill.url}/v1/chat/completions", json=body) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            events = [event async for event in sse_events(response)]
    assert events[-1][1] == "[DONE]"
    chunks = [(at, json.loads(data)) for at, data in events[:-1]]
    assert all(chunk["system_fingerprint"] == "arena-simulated" for _, chunk in chunks)
    role_at, role = chunks[0]
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    tokens = chunks[1:-1]
    assert len(tokens) == 8
    assert all(chunk["choices"][0]["delta"]["content"].endswith(" ") for _, chunk in tokens)
    assert [chunk["choices"][0]["finish_reason"] for _, chunk in tokens] == [None] * 7 + ["length"]
    assert chunks[-1][1]["choices"] == []
    assert chunks[-1][1]["usage"] == {
        "prompt_tokens": 2000,
        "completion_tokens": 8,
        "total_tokens": 2008,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    ttft = 2000 / 10_000 + 0.020
    # like vLLM, the role-only chunk comes with the first token, not on admission
    assert ttft - 0.002 <= role_at - sent <= tokens[0][0] - sent
    assert ttft - 0.002 <= tokens[0][0] - sent <= ttft * 1.25 + 0.020
    end = ttft + 7 * 0.020
    assert end - 0.002 <= tokens[-1][0] - sent <= end * 1.25 + 0.020


async def test_a_plain_completion_has_max_tokens_words_and_a_seed_repeats_it(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    contents = []
    for _ in range(2):
        async with http.post(f"{server.url}/v1/chat/completions", json=chat(6, seed=7)) as resp:
            completion = await resp.json()
        assert completion["object"] == "chat.completion"
        assert completion["choices"][0]["finish_reason"] == "length"
        assert completion["usage"] == {
            "prompt_tokens": 3,
            "completion_tokens": 6,
            "total_tokens": 9,
            "prompt_tokens_details": {"cached_tokens": 0},
        }
        contents.append(completion["choices"][0]["message"]["content"])
    assert len(contents[0].split()) == 6
    assert contents[0] == contents[1]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"model": "m"}, "messages"),
        ({"messages": []}, "messages"),
        (chat(0), "max_tokens"),
        (chat(131072), "maximum context length"),
    ],
)
async def test_bad_requests_get_an_openai_style_400(
    server: RunningServer, http: aiohttp.ClientSession, body: dict[str, Any], complaint: str
) -> None:
    async with http.post(f"{server.url}/v1/chat/completions", json=body) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert complaint in error["message"]


async def test_a_body_that_is_not_json_is_a_400(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{server.url}/v1/chat/completions", data=b"{nope") as response:
        assert response.status == 400


async def wait_until_batch_is_empty(server: RunningServer) -> None:
    scheduler = server.app[SCHEDULER_KEY]
    for _ in range(200):
        if scheduler.running_count == 0 and scheduler.waiting_count == 0:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"batch still holds {scheduler.running_count} + {scheduler.waiting_count}")


async def test_a_client_leaving_mid_stream_frees_its_sequence(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as own_session:
        url = f"{server.url}/v1/chat/completions"
        async with own_session.post(url, json=chat(10_000, stream=True)) as response:
            await response.content.readline()
            assert server.app[SCHEDULER_KEY].running_count == 1
    await wait_until_batch_is_empty(server)


async def test_a_client_giving_up_while_queued_leaves_the_queue(
    http: aiohttp.ClientSession,
) -> None:
    async with running_server(engine(decode_step_ms=5, max_batch=1)) as server:
        url = f"{server.url}/v1/chat/completions"
        async with http.post(url, json=chat(10_000, stream=True)) as hog:
            await hog.content.readline()
            with pytest.raises(TimeoutError):
                await http.post(url, json=chat(5, stream=True), timeout=aiohttp.ClientTimeout(0.2))
            assert server.app[SCHEDULER_KEY].running_count == 1
            scheduler = server.app[SCHEDULER_KEY]
            for _ in range(100):
                if scheduler.waiting_count == 0:
                    break
                await asyncio.sleep(0.01)
            assert scheduler.waiting_count == 0
        await wait_until_batch_is_empty(server)


async def test_fifty_concurrent_streams_all_finish_at_the_modelled_pace(
    http: aiohttp.ClientSession,
) -> None:
    async def stream_tokens(url: str) -> int:
        async with http.post(url, json=chat(20, stream=True)) as response:
            events = [data async for _, data in sse_events(response)]
        return sum('"content":"' in data and '"content":""' not in data for data in events)

    async with running_server(engine(decode_step_ms=10, decode_step_ms_per_seq=0)) as server:
        started = time.monotonic()
        counts = await asyncio.gather(
            *(stream_tokens(f"{server.url}/v1/chat/completions") for _ in range(50))
        )
        elapsed = time.monotonic() - started
    assert counts == [20] * 50
    assert elapsed < 20 * 0.010 * 2 + 0.3


async def test_the_arena_sim_process_announces_its_port_and_serves_a_stream(
    http: aiohttp.ClientSession,
) -> None:
    process = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "arena.agent.simulated.server",
            "--port",
            "0",
            "--decode-step-ms",
            "2",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        assert line.startswith(LISTENING_PREFIX)
        url = f"http://127.0.0.1:{int(line[len(LISTENING_PREFIX) :])}"
        async with http.get(f"{url}/health") as response:
            assert (await response.json())["simulated"] is True
        body = chat(5, stream=True, stream_options={"include_usage": True})
        async with http.post(f"{url}/v1/chat/completions", json=body) as response:
            events = [data async for _, data in sse_events(response)]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(data) for data in events[:-1]]
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert [len(chunk["choices"]) for chunk in chunks[1:]] == [1] * 5 + [0]
        assert chunks[-1]["usage"]["completion_tokens"] == 5
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(process.wait(), timeout=10)
    assert exit_code == 0


async def test_generation_seconds_count_decode_only_under_mixed_load(
    http: aiohttp.ClientSession,
) -> None:
    """Prompts admitted while a long answer decodes lengthen its steps by their prefill; the
    engine's generation seconds (its time per output token) count only the decode part, as
    llama.cpp's ``tokens_predicted_seconds`` does."""
    profile = engine(decode_step_ms=5, decode_step_ms_per_seq=0, prefill_tokens_per_s=2000)
    async with running_server(profile) as sim:
        url = f"{sim.url}/v1/chat/completions"

        async def ask(body: dict[str, Any], after_s: float) -> None:
            await asyncio.sleep(after_s)
            async with http.post(url, json=body) as response:
                assert response.status == 200
                await response.read()

        long_answer = ask(chat(80), 0.0)
        prompts = [ask(chat(1, words=200), 0.05 + 0.06 * i) for i in range(4)]
        await asyncio.gather(long_answer, *prompts)
        async with http.get(f"{sim.url}/metrics") as response:
            text = await response.text()
    figures = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("arena_sim:generation_")
    }
    tpot_ms = (
        figures["arena_sim:generation_seconds_total"]
        / figures["arena_sim:generation_tokens_total"]
        * 1000
    )
    assert tpot_ms == pytest.approx(5.0, rel=0.01)
