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
import importlib.resources as r
import emotive.conditioning as c
assert (r.files(c) / "data" / "label_descriptions.json").is_file(), "package data missing from wheel"
print("wheel check: package data present")
PY
echo "wheel check: OK"
