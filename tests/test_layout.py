"""The repository layout is the architecture: check packaging and dependency direction."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("conditioning", "generators", "evaluators", "apps")
# who may import whom (shared/DESIGN.md)
ALLOWED = {
    "conditioning": {"conditioning"},
    "evaluators": {"evaluators", "conditioning"},
    "generators": {"generators", "evaluators", "conditioning"},
    "apps": {"apps", "generators", "evaluators", "conditioning"},
}


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name


def test_dependency_direction():
    bad = []
    for root in ROOTS:
        for f in (REPO / root).rglob("*.py"):
            for mod in _imports(f):
                parts = mod.split(".")
                if parts[0] == "emotive" and len(parts) > 1 and parts[1] not in ALLOWED[root]:
                    bad.append(f"{f.relative_to(REPO)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_generators_do_not_import_each_other():
    bad = []
    gen = REPO / "generators"
    for sub in [d for d in gen.iterdir() if (d / "__init__.py").exists()]:
        for f in sub.rglob("*.py"):
            for mod in _imports(f):
                parts = mod.split(".")
                if parts[:2] == ["emotive", "generators"] and len(parts) > 2 and parts[2] != sub.name:
                    bad.append(f"{f.relative_to(REPO)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_every_code_folder_is_a_package():
    missing = []
    for root in ROOTS:
        for d in (REPO / root).rglob("*"):
            if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists():
                missing.append(str(d.relative_to(REPO)))
    assert not missing, f"folders with .py files but no __init__.py (setup.py would skip them): {missing}"


def test_import_conditioning_is_fast_and_light():
    code = (
        "import sys, time; t = time.perf_counter(); import emotive.conditioning; "
        "dt = time.perf_counter() - t; print(dt, 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 1.0
    assert out[1] == "False" and out[2] == "False", "importing conditioning must not load torch/transformers"
