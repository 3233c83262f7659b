"""llama-server's own timing of each request, read from its log.

For every task it finishes, llama-server logs how long its prompt took to process and how many
tokens it generated (``print_timing`` lines). Set beside a client's per-request TTFT, that
separates what the server spent computing from what the client and the transport added, so
two clients run one after the other can be compared without the server's drift between them.
"""

import re
import time
from dataclasses import dataclass
from pathlib import Path

PROMPT = re.compile(r"task (\d+) \| prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
EVAL = re.compile(r"task (\d+) \|\s+eval time =\s*([\d.]+) ms /\s*(\d+) tokens")


@dataclass(frozen=True)
class ServerTask:
    prompt_ms: float
    prompt_tokens: int
    generated_tokens: int


@dataclass(frozen=True)
class ServerLog:
    path: Path

    def mark(self) -> int:
        """Where the log ends now: read from here for what comes next."""
        return self.path.stat().st_size if self.path.exists() else 0

    def tasks_since(self, mark: int) -> list[ServerTask]:
        """The tasks finished after ``mark``, in the order the server finished them."""
        with self.path.open("rb") as log:
            log.seek(mark)
            text = log.read().decode(errors="replace")
        prompts = {m[1]: (float(m[2]), int(m[3])) for m in PROMPT.finditer(text)}
        tasks = []
        for match in EVAL.finditer(text):
            if match[1] in prompts:
                prompt_ms, prompt_tokens = prompts[match[1]]
                tasks.append(ServerTask(prompt_ms, prompt_tokens, int(match[3])))
        return tasks

    def prompt_ms(
        self, mark: int, count: int, generated: int, wait_s: float = 2.0
    ) -> list[float] | None:
        """The server's prompt time of the last ``count`` tasks since ``mark`` that generated
        ``generated`` tokens each (a tool's measured requests; its warm-ups and latency probes
        generate fewer), or None when the log does not hold that many. The server writes its
        log from a thread of its own, so the last lines may lag the last answer a little."""
        deadline = time.monotonic() + wait_s
        while True:
            tasks = [t for t in self.tasks_since(mark) if t.generated_tokens == generated]
            if len(tasks) >= count:
                return [task.prompt_ms for task in tasks[len(tasks) - count :]]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)
