"""The shape of the code: small modules, no import loop, light imports where they matter."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("digitcmp", "digitcmp_report")
MAX_LINES = 300


def modules() -> dict[str, Path]:
    """Dotted name → file, for every module of the two packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports (`from a import b` counts a.b when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & known


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, set(mods)) - {name} for name, path in mods.items()}


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


@pytest.mark.parametrize("name, path", modules().items(), ids=list(modules()))
def test_no_module_over_300_lines(name, path):
    assert len(path.read_text().splitlines()) <= MAX_LINES, name


def test_no_import_loop():
    edges = graph()
    loops = sorted(name for name in edges if name in reachable(name, edges))
    assert not loops, loops


def test_import_graph_sees_the_imports():
    """The checks above and below would pass vacuously on a graph with no edges."""
    edges = graph()
    assert {"digitcmp.engine", "digitcmp.training.train"} <= reachable("digitcmp.search", edges)
    assert "digitcmp.training.registry" in reachable("digitcmp.params", edges)


def test_params_imports_neither_the_engine_nor_the_training_loop():
    assert not {"digitcmp.engine", "digitcmp.training.train"} & reachable("digitcmp.params", graph())


def test_statistics_load_without_plotting():
    """bench/ and scripts/ import the statistics room for a t-test, not the report's figures."""
    code = "import sys, digitcmp_report.stats; print(sorted(m for m in ('matplotlib', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_training_package_imports_nothing_outside_it_but_the_error_type():
    """digitcmp.training is what the training cache's key hashes: an import of a module
    outside it would let that module change a number without changing the key."""
    edges = graph()
    inside = {name for name in edges if name == "digitcmp.training" or name.startswith("digitcmp.training.")}
    assert {"digitcmp.training.train", "digitcmp.training.task", "digitcmp.training.extras.probcmp_conv"} <= inside
    allowed = {"digitcmp", "digitcmp.errors"}  # the package itself (`from digitcmp.training import x`)
    outside = {(name, dep) for name in inside for dep in edges[name] - inside - allowed}
    assert not outside, sorted(outside)
    assert "digitcmp.errors" in edges["digitcmp.training.registry"]  # the check above sees imports
    top = ast.parse((ROOT / "digitcmp" / "__init__.py").read_text()).body  # runs on every import of the inside
    assert len(top) == 1 and isinstance(top[0].value, ast.Constant), "digitcmp/__init__.py: a docstring only"


def test_the_import_check_flags_an_import_of_the_outside(tmp_path):
    """The graph sees a lazy import inside a function as well as a top-level one."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from digitcmp.cache import cache_dir\n")
    assert imports(module, {"digitcmp.cache", "digitcmp.training.train"}) == {"digitcmp.cache"}
