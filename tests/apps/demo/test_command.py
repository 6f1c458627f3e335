"""``emotive demo``: the command's flags and its one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys


def emotive(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emotive.apps", *args], capture_output=True, text=True, timeout=120)


def test_demo_help_names_the_flags():
    r = emotive("demo", "--help")
    assert r.returncode == 0
    assert "--port" in r.stdout and "--host" in r.stdout and "7860" in r.stdout


def test_busy_port_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = emotive("demo", "--port", str(port))
    assert r.returncode == 2
    assert f"Port {port} on 127.0.0.1 is in use" in r.stderr and "Traceback" not in r.stderr


def test_bad_port_and_host_are_one_clear_error():
    r = emotive("demo", "--port", "70000")
    assert r.returncode == 2 and "--port must be in 1-65535" in r.stderr
    r = emotive("demo", "--host", "192.0.2.1")  # TEST-NET-1: a valid address that is not this machine
    assert r.returncode == 2 and "--host '192.0.2.1' is not an address" in r.stderr and "Traceback" not in r.stderr


def test_kokoro_files_are_checked_before_gradio_loads(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = emotive("demo", "--kokoro-model", str(tmp_path / "none.onnx"), "--port", str(port))
    assert r.returncode == 2 and "--kokoro-model" in r.stderr and "no such file" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert "--kokoro-voices" in emotive("demo", "--help").stdout
