"""Case 3's capture: the arrival-logging server of ``tests/integration/test_send_lag.py``;
the client's event loop is busy for 50 ms while each fresh connection is set up. Prints what
the record says against what the server saw. Usage, from the repository root:
``PYTHONPATH=. python docs/results/edges/sendlag.py``
"""

import asyncio
import sys
import time

from arena.agent.generator.client import ChatRequest, Endpoint, prepare, stream_chat
from arena.agent.generator.clock import JobClock
from arena.agent.generator.http import Connections
from tests.integration.test_send_lag import BUSY_S, ArrivalLog


async def main() -> None:
    clock = JobClock()
    server = ArrivalLog(clock)
    rows = []
    async with Connections(clock) as pool:
        request = prepare(Endpoint(server.url, "m"), ChatRequest([], 1))
        for _ in range(3):
            started = clock.now()
            asyncio.get_running_loop().call_soon(time.sleep, BUSY_S)
            measurement = await stream_chat(pool, request)
            rows.append((started, measurement.sent_s))
    server.close()
    lines = ["request  recorded lag (sent_s - start)  server arrival - start"]
    for index, ((start, sent), arrival) in enumerate(zip(rows, server.arrivals, strict=True)):
        lines.append(
            f"{index:7d}  {1000 * (sent - start):27.2f} ms  {1000 * (arrival - start):20.2f} ms"
        )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
