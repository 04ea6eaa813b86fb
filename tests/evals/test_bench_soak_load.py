"""The soak's load driver against a real HTTP server: tickets at a fixed rate, marks on
time, every request recorded; and the figures of a period."""

from __future__ import annotations

import json
import socketserver
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Response

from evals.bench.soak_load import Request, drive_at_rate, drive_closed_loop, period_stats
from tests.live import ServerThread


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = FastAPI()

    @app.post("/v1/tickets", status_code=201)
    def accept(body: dict[str, Any], response: Response) -> dict[str, Any]:
        if body["external_id"].endswith("-bad"):
            response.status_code = 422
            return {"detail": "refused"}
        return {"ticket_id": str(uuid.uuid4())}

    with ServerThread(app) as running:
        yield f"{running.url}/v1/tickets"


def body(i: int) -> dict[str, Any]:
    return {"external_id": f"t{i}" + ("-bad" if i % 10 == 9 else "")}


def test_tickets_go_out_at_the_rate_and_marks_pass_in_order(server: str) -> None:
    marks: list[float] = []

    async def on_mark(at: float) -> None:
        marks.append(at)

    recorder = drive_at_rate(
        server, body, rate=20.0, seconds=2.0, headers={}, marks=[1.5, 0.5, 2.0], on_mark=on_mark
    )
    # slots at 0, 0.05, ... 1.95 s: forty requests, one in ten refused
    assert len(recorder.requests) == 40
    assert sum(not r.ok for r in recorder.requests) == 4
    assert len(recorder.error_samples) == 4 and "422" in recorder.error_samples[0]
    assert marks == [0.5, 1.5, 2.0]
    sent = sorted(r.sent_s for r in recorder.requests)
    assert sent[-1] < 2.0 + 0.5 and sent[20] >= 0.95  # paced, not sent at once


def test_closed_loop_sends_every_body(server: str) -> None:
    recorder, seconds = drive_closed_loop(
        server, [body(i) for i in range(30)], concurrency=4, headers={}
    )
    assert len(recorder.requests) == 30 and seconds > 0
    assert sum(r.ok for r in recorder.requests) == 27


def test_period_stats_count_errors_and_leave_them_out_of_latency() -> None:
    requests = [
        Request(0.5, 10.0, 201, "a", False),
        Request(1.0, 30.0, 201, "b", True),
        Request(1.5, 9999.0, 500, None, False),
        Request(0.2, 20.0, 201, None, False),  # 2xx without a ticket id is an error too
        Request(61.0, 5.0, 201, "c", False),  # next minute
    ]
    stats = period_stats(requests, 0.0, 60.0)
    assert stats["requests"] == 4 and stats["errors"] == 2 and stats["late"] == 1
    assert stats["retries"] == 0
    assert stats["p50_ms"] == 20.0 and stats["p99_ms"] == pytest.approx(29.8)
    assert period_stats([], 0.0, 60.0)["p50_ms"] is None


class DropsFirstConnection(socketserver.BaseRequestHandler):
    """Closes the first connection without an answer, answers 201 on the others."""

    seen = 0

    def handle(self) -> None:
        type(self).seen += 1
        if type(self).seen == 1:
            return
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.request.recv(65536)
        body = json.dumps({"ticket_id": str(uuid.uuid4())}).encode()
        head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        self.request.sendall(head.encode() + body)


def test_a_connection_dropped_before_an_answer_is_retried_once_not_an_error() -> None:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), DropsFirstConnection) as tcp:
        threading.Thread(target=tcp.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{tcp.server_address[1]}/v1/tickets"
        recorder, _ = drive_closed_loop(url, [body(0)], concurrency=1, headers={})
        tcp.shutdown()
    [request] = recorder.requests
    assert request.ok and request.retried and recorder.error_samples == []
    assert period_stats(recorder.requests, 0.0, 60.0)["retries"] == 1
