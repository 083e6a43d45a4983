"""The library's boundaries: core never imports streamlit, importing core stays light."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_never_imports_streamlit():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "streamlit" or n.startswith("streamlit.") or n.startswith("app") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_import_core_does_not_import_torch():
    code = ("import sys, core, core.settings, core.storage, core.security.auth, core.clinical.patients, core.safety.crisis, core.cli;"
            "print('torch' in sys.modules, 'transformers' in sys.modules, 'streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_sql_only_in_storage():
    """Raw SQL strings (execute calls) appear only under core/storage."""
    offenders = []
    for path in list((ROOT / "core").rglob("*.py")) + list((ROOT / "pages").rglob("*.py")) + list(
            (ROOT / "app").rglob("*.py")):
        if "storage" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if ".execute(" in text and ("SELECT " in text or "INSERT " in text or "UPDATE " in text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
