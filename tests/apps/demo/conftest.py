"""One demo server per test session, started the way users start it (``emotive demo --port N``)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 90
KOKORO_ENV = ("EMOTIVE_KOKORO_MODEL", "EMOTIVE_KOKORO_VOICES")
"""Overrides of the Kokoro model and voices: the session's demo never takes them from the caller's shell."""


@dataclass
class DemoServer:
    url: str
    proc: subprocess.Popen
    log_path: Path
    started_at: float
    """``time.perf_counter()`` just before the process was spawned."""
    serving_after_s: float
    """Seconds from spawn to the first HTTP 200 on ``/``."""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path):
    port = free_port()
    log_path = artifacts_dir / "demo-server.log"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio-tmp")),
    }
    for name in KOKORO_ENV:  # the packaged Kokoro, never the caller's shell's files
        env.pop(name, None)
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log_file:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "emotive.apps", "demo", "--port", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        server = None
        try:
            while time.perf_counter() - t0 < START_TIMEOUT_S:
                if proc.poll() is not None:
                    pytest.fail(f"emotive demo exited with {proc.returncode}:\n{log_path.read_text()}")
                try:
                    if httpx.get(url + "/", timeout=2).status_code == 200:
                        server = DemoServer(url, proc, log_path, t0, time.perf_counter() - t0)
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            if server is None:
                pytest.fail(f"emotive demo did not serve within {START_TIMEOUT_S} s:\n{log_path.read_text()}")
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


# A throw-away tab package for discovery and bind() tests (never part of the product).
MODULES = {
    "alpha": """
        import gradio as gr
        TITLE = "Alpha"
        ORDER = 20
        API_NAMES = ("alpha_run",)
        def available():
            return True
        def build(panel):
            box = gr.Textbox(label="alpha in")
            out = gr.Textbox(label="alpha out")
            btn = gr.Button("Go", elem_id="alpha-go")
            panel.bind(btn.click, run, [box], [out], api_name="alpha_run")
        def run(text, request):
            from emotive.apps.demo.panel import request_to_emotion
            return f"{text}|{request_to_emotion(request)}"
    """,
    "beta": """
        TITLE = "Beta"
        ORDER = 10
        REQUIRES = "the beta weights (run emotive train beta)"
        def available():
            return False
        def build(panel):
            raise AssertionError("an unavailable tab must not be built")
    """,
    "broken": "import emotive.generators.does_not_exist\n",
    "raising": """
        TITLE = "Raising"
        ORDER = 5
        def available():
            raise RuntimeError("weights corrupt")
        def build(panel):
            raise AssertionError("must not be built")
    """,
    "incomplete": "TITLE = 'Incomplete'\nORDER = 1\n",
    "_helpers": "raise AssertionError('private modules are not imported')\n",
}


@pytest.fixture
def fake_tabs(tmp_path, monkeypatch):
    pkg = tmp_path / "emotive_fake_tabs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, src in MODULES.items():
        (pkg / f"{name}.py").write_text(textwrap.dedent(src))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("emotive_fake_tabs")
    yield module
    for name in [n for n in sys.modules if n.startswith("emotive_fake_tabs")]:
        del sys.modules[name]
