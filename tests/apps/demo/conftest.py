"""One demo server per test session, started the way users start it (``emotive demo --port N``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 90


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
