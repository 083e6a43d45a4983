"""The API refuses unauthenticated and oversized bodies before reading them, and rate-limits wrong tokens.

A real uvicorn server (lazy model server: no model is loaded by any of these requests) runs in a child process;
its peak RSS (VmHWM) is read from /proc before and after a 300 MB unauthenticated upload.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.attack.conftest import ROOT, record

TOKEN = "attack-suite-token-" + "z" * 24
BODY_MB = 300
GROWTH_LIMIT_MB = 20

SERVER = """
import sys, uvicorn
from api.main import create_app
from core.settings import load_settings
s = load_settings(env={}, data_dir=sys.argv[2], api_token=sys.argv[3])
uvicorn.run(create_app(s), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vm(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(field)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("api-attack")
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(data_dir), TOKEN], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()[-2000:]) from None
            time.sleep(0.2)
    yield proc, port
    proc.terminate()
    proc.wait(timeout=10)


def _send(port: int, head: bytes, body_mb: int, chunked: bool = False) -> tuple[str, int]:
    """Send a request head and then up to ``body_mb`` MB of body; returns (status line, MB actually sent)."""
    sent = 0
    block = b"a" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        try:
            for _ in range(body_mb):
                if chunked:
                    s.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
                else:
                    s.sendall(block)
                sent += 1
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.settimeout(30)
        try:
            reply = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            reply = b""
    return reply.split(b"\r\n", 1)[0].decode(errors="replace"), sent


def test_300_mb_unauthenticated_body_is_refused_unread(server):
    proc, port = server
    _send(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0)  # warm up
    before = _vm(proc.pid, "VmHWM")
    head = (f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BODY_MB * 1024 * 1024}\r\n\r\n").encode()
    status, sent = _send(port, head, BODY_MB)
    chunked_head = (b"POST /predict_batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
    status_chunked, _ = _send(port, chunked_head, 64, chunked=True)
    growth = _vm(proc.pid, "VmHWM") - before
    record(f"API peak-memory growth on a {BODY_MB} MB unauthenticated body", f"{growth:.1f} MB ({status})")
    assert " 401 " in status + " " and " 401 " in status_chunked + " ", (status, status_chunked)
    assert growth < GROWTH_LIMIT_MB, growth


def test_oversized_authenticated_body_gets_413_before_reading(server):
    proc, port = server
    before = _vm(proc.pid, "VmHWM")
    head = (f"POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n").encode()
    status, _ = _send(port, head, 200)
    chunked = (f"POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
               f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    status_chunked, _ = _send(port, chunked, 64, chunked=True)
    assert " 413 " in status + " " and " 413 " in status_chunked + " ", (status, status_chunked)
    assert _vm(proc.pid, "VmHWM") - before < GROWTH_LIMIT_MB + 16  # at most the 16 MB limit buffered


def test_wrong_token_bursts_get_429_with_retry_after(tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from core.settings import load_settings

    s = load_settings(env={}, data_dir=tmp_path / "var", api_token=TOKEN, api_auth_failures_per_minute=20)
    client = TestClient(create_app(s))
    codes = []
    for i in range(400):
        r = client.post("/predict", json={"text": "x"}, headers={"Authorization": f"Bearer wrong-{i:040d}"})
        codes.append(r.status_code)
    last = r
    record("API: 400 wrong-token requests in a burst", f"{codes.count(401)} got 401, {codes.count(429)} got 429")
    assert codes.count(401) == 20 and codes.count(429) == 380
    assert int(last.headers["retry-after"]) > 0
    # The right token still works from the same address (no lockout of the legitimate caller).
    assert client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/openapi.json").status_code == 429  # still over the wrong-token budget


def test_request_flood_gets_429(tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from core.settings import load_settings

    s = load_settings(env={}, data_dir=tmp_path / "var", api_token=TOKEN, api_rate_per_minute=50)
    client = TestClient(create_app(s))
    codes = [client.get("/health").status_code for _ in range(60)]
    assert codes.count(200) == 50 and codes.count(429) == 10


def test_docs_and_schema_need_the_token(tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from core.settings import load_settings

    client = TestClient(create_app(load_settings(env={}, data_dir=tmp_path / "var", api_token=TOKEN)))
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/docs").status_code == 401
    assert client.get("/health").status_code == 200
    on = TestClient(create_app(load_settings(env={}, data_dir=tmp_path / "var2", api_token=TOKEN, api_docs=True)))
    assert on.get("/docs").status_code == 401
    assert on.get("/docs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
