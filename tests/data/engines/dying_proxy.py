"""An engine process that dies mid-run: a stdlib-only proxy (run by the system Python as the
policy's unprivileged user) in front of Arena's simulated engine, which at its third
``/metrics`` scrape (the start of the job's second benchmark) logs a root cause, then a screen
of shutdown chatter, and exits 1, as a real engine's crash scrolls its cause out of the tail.

``chatty`` (third argument): it also logs each chat request's prompt at INFO (text that reads
like an error: "ERROR … out of memory … is not running") and, at the second scrape, a stale
error line followed by a screen of INFO stats, as vLLM logs prompts and throughput: neither
may lead the failure message.

Usage: ``python3 dying_proxy.py PORT UPSTREAM_URL [chatty]``
"""

import http.client
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PORT, UPSTREAM = int(sys.argv[1]), urlsplit(sys.argv[2])
CHATTY = sys.argv[3:] == ["chatty"]
PROMPT_LINE = (
    "INFO 12-07 14:59:00 logger.py:39] Received request chatcmpl-1: prompt: "
    "'ERROR: my GPU is out of memory and the engine is not running, why?'"
)
STALE_LINE = "ERROR 12-07 14:58:00 serving_chat.py:9] request chatcmpl-0 failed: bad grammar"
UPSTREAM_HOST = UPSTREAM.hostname or "127.0.0.1"
scrapes = 0
lock = threading.Lock()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def die() -> None:
    say("ERROR 12-07 15:00:00 worker.py:42] CUDA error: out of memory")
    for worker in range(40):
        say(f"INFO 12-07 15:00:00 shutdown.py:7] stopping worker {worker}")
    os._exit(1)


class Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.forward()

    def do_POST(self) -> None:
        self.forward()

    def forward(self) -> None:
        global scrapes
        if self.path == "/metrics":
            with lock:
                scrapes += 1
                if scrapes >= 3:
                    die()
                if CHATTY and scrapes == 2:
                    say(STALE_LINE)
                    for line in range(120):
                        say(f"INFO 12-07 14:58:00 metrics.py:1] Avg throughput: {line} tokens/s")
        elif CHATTY and self.path == "/v1/chat/completions":
            say(PROMPT_LINE)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(UPSTREAM_HOST, UPSTREAM.port, timeout=60)
        headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type", "text/plain"))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while piece := answer.read1(65536):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        upstream.close()


say("INFO starting engine")


class Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up is no engine error: nothing logged."""


Server(("127.0.0.1", PORT), Forward).serve_forever()
