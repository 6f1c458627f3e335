#!/usr/bin/env bash
# Builds a wheel, installs it into a clean venv and runs the CLI from another
# directory: catches package data that the wheel forgot.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/dist" .
python3.11 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --upgrade "pip>=24"
"$tmp/venv/bin/pip" install -q torch==2.13.0
"$tmp/venv/bin/pip" install -q -c "$root/constraints.txt" "$tmp"/dist/emotive-*.whl
cd "$tmp"
"$tmp/venv/bin/emotive" --help >/dev/null
"$tmp/venv/bin/emotive" --version
"$tmp/venv/bin/emotive" emotion "happy:0.6" --json >/dev/null
"$tmp/venv/bin/python" - <<'PY'
# files only (the wheel venv has the core dependencies, not every extra)
import importlib.util
from pathlib import Path
root = Path(importlib.util.find_spec("emotive.conditioning").origin).parent.parent
need = [
    "conditioning/data/label_descriptions.json",
    "apps/bench/data/text_prompts.jsonl",
]
missing = [n for n in need if not (root / n).is_file()]
for folder in ("generators/music/pretrained", "generators/face/pretrained", "evaluators/speech/pretrained",
               "generators/speech/pretrained"):
    src = Path("$root") / folder
    for f in src.rglob("*") if src.is_dir() else []:
        if f.is_file() and f.suffix in {".safetensors", ".json", ".md"}:
            rel = f.relative_to(Path("$root"))
            if not (root / rel).is_file():
                missing.append(str(rel))
examples = Path("$root") / "apps/demo/examples"
for f in examples.glob("*.wav") if examples.is_dir() else []:
    if not (root / "apps/demo/examples" / f.name).is_file():
        missing.append(f"apps/demo/examples/{f.name}")
assert not missing, f"package data missing from the wheel: {missing}"
print("wheel check: package data present")
PY
echo "wheel check: OK"
