"""A small generated Banking77-shaped dataset, and a local HTTP server that serves it.

The generated files have Banking77's layout but made-up intents and text: tests of the fetch
and the reader never touch the real data or the network.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from agent.taxonomy import PRIORITIES, Taxonomy, load_taxonomy

INTENTS = ["parcel_late", "parcel_damaged", "login_failed", "invoice_question"]
QUEUES = {"deliveries": INTENTS[:2], "access": INTENTS[2:3], "billing": INTENTS[3:]}


def _csv(rows: list[tuple[str, str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "category"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def generated_files() -> dict[str, bytes]:
    """train.csv, test.csv and categories.json, generated: 3 train and 1 test row per intent."""
    train = [
        (f"generated query {n} about {i.replace('_', ' ')}", i) for n in range(3) for i in INTENTS
    ]
    # Quoting, a comma and a line break inside one text, as real CSV exports have.
    train.append(('a "quoted" query, over\ntwo lines', "login_failed"))
    test = [(f"held-out query about {i.replace('_', ' ')}", i) for i in INTENTS]
    return {
        "train.csv": _csv(train),
        "test.csv": _csv(test),
        "categories.json": json.dumps(INTENTS).encode(),
    }


def digests(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


@pytest.fixture
def files() -> dict[str, bytes]:
    return generated_files()


@pytest.fixture
def dataset_dir(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A Banking77-shaped directory on disk, already present."""
    root = tmp_path / "banking77"
    root.mkdir()
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def taxonomy(tmp_path: Path) -> Taxonomy:
    """A taxonomy over the generated intents."""
    doc = {
        "name": "generated",
        "version": "1",
        "queues": [{"name": q, "description": q, "intents": i} for q, i in QUEUES.items()],
        "priorities": [
            {"name": p, "description": p, "target_first_response": "1 day"} for p in PRIORITIES
        ],
        "intent_priority": {"login_failed": "P1"},
        "default_priority": {"deliveries": "P3", "access": "P2", "billing": "P4"},
    }
    path = tmp_path / "generated.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_taxonomy(path)


@dataclass
class FileServer:
    """What the local server serves and what it was asked for."""

    url: str
    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)  # answered with 404
    truncated: set[str] = field(default_factory=set)  # connection dropped mid-body


@pytest.fixture
def file_server(files: dict[str, bytes]) -> Iterator[FileServer]:
    """A local HTTP server on a free port serving the generated files under /data/."""
    state = FileServer(url="", files=dict(files))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.removeprefix("/data/")
            state.requests.append(name)
            body = state.files.get(name)
            if body is None or name in state.missing:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if name in state.truncated:
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/data"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
