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


# ------------------------------------------------------------------------------------------- import graph
# core/ by noun, lowest layer first. A module may import its own package and any lower layer; a package that
# imports a higher layer, or another package of its own layer, breaks the layering (and is how circles start).
LAYERS = [
    {"errors"},
    {"settings"},
    {"hardware"},
    {"storage"},
    {"security", "safety", "synthetic"},
    {"context"},
    {"llm"},
    {"models"},      # the encoder and its heads; task heads answer the language model's IMHI tasks
    {"backends"},
    {"labels"},      # where a label comes from: a task head reads the note, the LLM writes the rationale
    {"review", "serving"},
    {"clinical"},
    {"commands"},
    {"cli"},
]
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _core_modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "core").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imported_names(path: Path) -> list[tuple[int, str]]:
    """Every import in the file, function-local ones included (they hide circles just as well)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _import_graph() -> dict[str, set[str]]:
    mods = _core_modules()
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        for _, name in _imported_names(path):
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name and name != m and name != "core" and not m.startswith(name + "."):
                graph[m].add(name)
    return graph


def _area(module: str) -> str:
    area = module.split(".")[1] if module.count(".") >= 1 else module
    return "cli" if area == "__main__" else area


def test_core_has_no_import_circle():
    graph, circles = _import_graph(), []
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                circles.append(" -> ".join(path[path.index(t):] + [t]) if t in path else f"{m} -> {t}")
            elif t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert circles == []


def test_core_packages_import_only_downward():
    graph, offenders = _import_graph(), []
    for m, targets in graph.items():
        if m == "core":
            continue
        a = _area(m)
        assert a in LAYER_OF, f"{m}: area {a!r} has no layer in LAYERS; place it there"
        for t in targets:
            b = _area(t)
            if a != b and LAYER_OF[b] >= LAYER_OF[a]:
                offenders.append(f"{m} -> {t}")
    assert sorted(offenders) == []


def test_core_imports_nothing_of_the_front_ends_or_outside_core():
    """core/ stands alone: no api, app, pages, tests, bench, data (shipped artifacts are read as files)."""
    offenders = []
    for path in _core_modules().values():
        for line, name in _imported_names(path):
            top = name.split(".")[0]
            if top in {"api", "app", "pages", "tests", "bench", "data", "streamlit"}:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert offenders == []


def test_each_noun_has_one_home():
    """A newcomer finds each noun in one obvious place."""
    homes = {"patient": "clinical/patients.py", "visit": "clinical/patients.py", "access": "clinical/access.py",
             "analysis": "clinical/analysis.py", "task": "llm/tasks.py", "head": "models/heads.py",
             "adapter": "llm/lora.py", "review item": "review/items.py", "audit event": "security/audit.py",
             "crisis": "safety/crisis.py"}
    for noun, home in homes.items():
        assert (ROOT / "core" / home).is_file(), f"{noun}: core/{home} is missing"
    flat = sorted(p.name for p in (ROOT / "core").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "backends.py", "cli.py", "context.py", "errors.py", "hardware.py",
                    "labels.py", "settings.py"]
