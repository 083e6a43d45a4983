"""The CLI's base commands and the real server answering HTTP (what `make run` starts)."""

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.fixture
def cli_env(tmp_path):
    return {**os.environ, "MHD_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)}


def test_help_lists_commands(cli_env):
    out = run_cli("--help", env=cli_env)
    assert out.returncode == 0
    for command in ["init-db", "seed-demo"]:
        assert command in out.stdout


def test_init_db_creates_accounts_once_and_is_idempotent(cli_env, tmp_path):
    first = run_cli("init-db", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert "admin" in first.stdout and "dr.demo" in first.stdout
    creds = tmp_path / "var" / "first-run-credentials.txt"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    second = run_cli("init-db", env=cli_env)
    assert second.returncode == 0 and "dr.demo" not in second.stdout
    assert stat.S_IMODE((tmp_path / "var" / "mhdash.db").stat().st_mode) == 0o600


def test_init_db_makes_a_runtime_folder_made_by_someone_else_private(cli_env, tmp_path):
    """A model cache may create var/ first (0755); init-db (the first step of make run) makes it 0700."""
    (tmp_path / "var" / "cache").mkdir(parents=True, mode=0o755)
    os.chmod(tmp_path / "var", 0o755)
    out = run_cli("init-db", "--no-accounts", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700


def test_seed_demo_if_empty(cli_env):
    assert "12 synthetic patients" in run_cli("seed-demo", "--if-empty", env=cli_env).stdout
    assert "already seeded" in run_cli("seed-demo", "--if-empty", env=cli_env).stdout


def test_bad_config_is_a_clear_error(cli_env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("quantization = '3bit'\n")
    out = run_cli("--config", str(bad), "init-db", env=cli_env)
    assert out.returncode == 2 and "quantization must be one of" in out.stderr


@pytest.mark.slow
def test_server_answers_200(cli_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_cli("init-db", env=cli_env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        codes = {}
        deadline = time.time() + 60
        while time.time() < deadline and len(codes) < 2:
            for path in ["/_stcore/health", "/"]:
                try:
                    codes[path] = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).status
                except OSError:
                    time.sleep(0.5)
        assert codes == {"/_stcore/health": 200, "/": 200}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _listening_addresses(port: int) -> set[str]:
    """IPv4 and IPv6 addresses with a socket listening on ``port`` (from /proc/net, state 0A = LISTEN)."""
    import ipaddress

    found = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(addr)
            # /proc stores each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))
            found.add(str(ipaddress.ip_address(raw)))
    return found


@pytest.mark.slow
def test_api_serve_binds_loopback_by_default_and_needs_its_token(cli_env):
    """`python -m core serve` as documented: loopback only, /health open, the rest behind the bearer token, and
    a placeholder token refused before anything starts."""
    import json

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    weak = run_cli("serve", "--port", str(port), "--no-preload-llm", env={**cli_env, "MHD_API_TOKEN": "changeme"})
    assert weak.returncode != 0 and "token" in (weak.stderr + weak.stdout).lower()
    token = "serve-test-" + "x" * 32
    env = {**cli_env, "MHD_API_TOKEN": token}
    proc = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port), "--no-preload-llm"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = None
        deadline = time.time() + 90
        while time.time() < deadline and health is None:
            try:
                health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2))
            except OSError:
                time.sleep(0.5)
        assert health and health["status"] in ("ok", "degraded")
        assert _listening_addresses(port) == {"127.0.0.1"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/tasks"), timeout=5)
        assert refused.value.code == 401
        req = urllib.request.Request(f"http://127.0.0.1:{port}/tasks", headers={"Authorization": f"Bearer {token}"})
        assert urllib.request.urlopen(req, timeout=10).status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.mark.parametrize("if_empty_twice", [False, True])
def test_seed_demo_leaves_no_connection_open(settings, monkeypatch, if_empty_twice):
    """The command closes the demo database after scoring it: a connection reopened after close() kept the file
    in use, so a later restore in the same process refused."""
    import argparse

    from core.commands import base
    from core.storage import open_store

    opened = []

    def tracking_open(*args, **kwargs):
        opened.append(open_store(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(base, "open_store", tracking_open)
    args = argparse.Namespace(reset=False, if_empty=True, seed=7)
    for _ in range(2 if if_empty_twice else 1):
        assert base.seed_demo(args, settings) == 0
    assert opened and all(getattr(s._local, "db", None) is None for s in opened)
