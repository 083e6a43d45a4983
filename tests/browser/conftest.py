"""Real-browser fixtures: the real app (`streamlit run app/main.py`) on a free loopback port against a
temporary database, driven by Playwright with Debian's chromium.

Without /usr/bin/chromium the journeys skip with a reason, except when MHD_REQUIRE_BROWSER=1 (CI), where a
missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

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
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           # The journeys check the flow around generated text, not its length: shorter rationales, same path.
           "MHD_MAX_NEW_TOKENS": "48"}
    setup = (
        "from core.clinical import demo\n"
        "from core.security import auth\n"
        "from core.settings import load_settings\n"
        "from core.storage import open_store\n"
        "s = load_settings()\n"
        "st = open_store(s.database)\n"
        # must_change=False: the journeys are about the clinical work, not the forced first-login change.
        f"a = auth.create_user(st, 'admin', {PASSWORD!r}, 'admin', must_change=False)\n"
        f"auth.create_user(st, 'dr.journey', {PASSWORD!r}, 'psychiatrist', 'Dr Journey', actor=a, must_change=False)\n"
        f"auth.create_user(st, 'lead.journey', {PASSWORD!r}, 'clinical_lead', 'Lead Journey', actor=a, "
        "must_change=False)\n"
        f"auth.create_user(st, 'qa.journey', {PASSWORD!r}, 'qa_reviewer', 'QA Journey', actor=a, must_change=False)\n"
        "demo.seed_demo(open_store(s.demo_database))\n"
        "from core.llm.model import load_llm\n"
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
    save_screenshot(pg, f"{request.node.name}.png")
    context.close()


# Streamlit scrolls its main area inside the page, so ``full_page=True`` alone stops at the viewport: the
# window is made tall enough for every scrolled area to show in full, and restored afterwards.
_SCROLLED_BEYOND_VIEW = """() => Math.max(0, ...[...document.querySelectorAll('*')].filter(e => {
    const o = getComputedStyle(e).overflowY;
    return (o === 'auto' || o === 'scroll') && e.scrollHeight > e.clientHeight;
}).map(e => e.scrollHeight - e.clientHeight))"""


def save_screenshot(page, name: str) -> Path:
    """The whole of the app's current state as ``ARTIFACTS/name`` (after the current run has finished)."""
    from playwright.sync_api import Error as PlaywrightError

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    try:
        settle(page, timeout=30_000)
    except PlaywrightError:
        pass  # still running (or the test failed mid-run): the picture of that state is wanted all the same
    size = page.viewport_size
    extra = min(int(page.evaluate(_SCROLLED_BEYOND_VIEW)), 12_000)
    if extra > 0:
        page.set_viewport_size({"width": size["width"], "height": size["height"] + extra})
        page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    if extra > 0:
        page.set_viewport_size(size)
    return path


def login(page, url: str, username: str, password: str = PASSWORD, path: str = "") -> None:
    """Open ``url + path`` (a fresh session: the login token lives only in Streamlit's session state) and log in."""
    page.goto(url + path)
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


def tick(page, label: str) -> None:
    """Tick a Streamlit checkbox by clicking its label as a person does; a click that lands while the app is
    re-rendering can be lost, so it is retried (the final assertion still fails when the box never ticks)."""
    box = page.get_by_role("checkbox", name=label)
    for _ in range(3):
        settle(page)
        if box.is_checked():
            break
        page.get_by_text(label, exact=True).click()
        try:
            expect(box).to_be_checked(timeout=5_000)
            break
        except AssertionError:
            continue
    expect(box).to_be_checked()


def navigate_in_session(page, path: str) -> None:
    """Change the address to ``path`` the way the browser's back/forward buttons do, keeping the session.

    ``page.goto`` would reload the app into a new session (and so the login form); a history change is
    handled by the running app, which decides which page, if any, the logged-in person gets.
    """
    settle(page)
    page.evaluate("p => { history.pushState({}, '', p);"
                  " window.dispatchEvent(new PopStateEvent('popstate', {state: {}})); }", path)
    settle(page)


def nav_link(page, title: str):
    """The sidebar navigation's link to the page titled ``title`` (its text also holds the icon's name)."""
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(rf"(^|\s){re.escape(title)}$"))


def nav_links(page):
    return page.get_by_test_id("stSidebarNav").get_by_role("link")


def tab(page, name: str):
    settle(page)
    return page.get_by_role("tab", name=name, exact=True).first
