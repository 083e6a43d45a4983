"""Real-browser fixtures: the real app (`streamlit run app/main.py`) on a free loopback port against a
temporary database, driven by Playwright with Debian's chromium.

Without /usr/bin/chromium the journeys skip with a reason, except when MHD_REQUIRE_BROWSER=1 (CI), where a
missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "journeys"
PASSWORD = "journey password 1"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path():
    if not Path(CHROMIUM).exists():
        if os.environ.get("MHD_REQUIRE_BROWSER") == "1":
            pytest.fail("MHD_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed here (apt-get install chromium); CI installs it and runs these")
    return CHROMIUM


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, chromium_path):
    data_dir = tmp_path_factory.mktemp("journey-var")
    # Converted model weights are shared with the rest of the suite (no PHI in there), so the journey's app
    # does not convert the GGUF again.
    env = {**os.environ, "MHD_DATA_DIR": str(data_dir), "MHD_CACHE_PATH": str(ROOT / "var" / "cache"),
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    setup = (
        "from core import auth, demo\n"
        "from core.settings import load_settings\n"
        "from core.storage import open_store\n"
        "s = load_settings()\n"
        "st = open_store(s.database)\n"
        f"a = auth.create_user(st, 'admin', {PASSWORD!r}, 'admin')\n"
        f"auth.create_user(st, 'dr.journey', {PASSWORD!r}, 'psychiatrist', 'Dr Journey', actor=a)\n"
        f"auth.create_user(st, 'lead.journey', {PASSWORD!r}, 'clinical_lead', 'Lead Journey', actor=a)\n"
        f"auth.create_user(st, 'qa.journey', {PASSWORD!r}, 'qa_reviewer', 'QA Journey', actor=a)\n"
        "demo.seed_demo(open_store(s.demo_database))\n"
        "from core.llm import load_llm\n"
        "load_llm(s)  # converts the embedded GGUF once into the shared cache\n"
    )
    subprocess.run([sys.executable, "-c", setup], env=env, cwd=ROOT, check=True)
    port = _free_port()
    log = open(data_dir / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("the app did not answer /_stcore/health within 60 s; see " + str(data_dir / "streamlit.log"))
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def login(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def button(page, text: str):
    """A Streamlit button by its visible text (not the selectboxes' "Open" toggles)."""
    return page.locator("[data-testid^=stBaseButton]", has_text=text).first


def settle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the current run (no 'Running…' indicator, stale elements gone)."""
    page.wait_for_timeout(300)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=timeout)
    page.locator("[data-stale=true]").first.wait_for(state="detached", timeout=timeout)


def tab(page, name: str):
    settle(page)
    return page.get_by_role("tab", name=name, exact=True).first
