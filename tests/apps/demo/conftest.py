"""One demo server per test session, started the way users start it (``emotive demo --port N``)."""

from __future__ import annotations

import importlib
import importlib.util
import math
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
TTS_ENV = "EMOTIVE_DEMO_TTS"
"""The Speech tab's override of its TTS folder (``emotive.apps.demo.tabs.speech.TTS_ENV``)."""


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


def lm_shipped() -> bool:
    """The embedded codec LM weights exist (generators/speech/pretrained/lm)."""
    spec = importlib.util.find_spec("emotive.generators.speech.tts")
    return spec is not None and (Path(spec.origin).parent / "pretrained" / "lm" / "model.safetensors").is_file()


@pytest.fixture(scope="session")
def session_tts(tiny_tts_dir):
    """The TTS folder of this session's demo: None = the embedded weights; else the tiny test pipeline.

    Without the shipped LM the Speech tab would be hidden and its code (and the portrait's text -> speech
    input) untested, so the session's demo -- and ``discover()`` in this process, which must agree with
    it -- speak with the tiny random pipeline instead (``EMOTIVE_DEMO_TTS``, what ``--tts`` sets).
    """
    if lm_shipped():
        os.environ.pop(TTS_ENV, None)
        yield None
        return
    before = os.environ.get(TTS_ENV)
    os.environ[TTS_ENV] = str(tiny_tts_dir)
    yield tiny_tts_dir
    if before is None:
        os.environ.pop(TTS_ENV, None)
    else:
        os.environ[TTS_ENV] = before


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path, session_tts):
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
    env.pop(TTS_ENV, None)  # the embedded weights, or the tiny pipeline (session_tts), never the caller's shell's
    if session_tts is not None:
        env[TTS_ENV] = str(session_tts)
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


@pytest.fixture(scope="session")
def tiny_tts_dir(tmp_path_factory) -> Path:
    """A randomly initialised, few-thousand-parameter TTS pipeline folder (codec/ + lm/), for the Speech tab's plumbing.

    Built like tests/generators/speech: the tiny spectral codec and the tiny codec LM. It speaks noise, but
    through exactly the code the shipped weights will use.
    """
    import torch

    from emotive.generators.speech.codec_spectral import SpectralCodec, tiny_spectral_config
    from emotive.generators.speech.lm import CodecLM, tiny_lm_config
    from emotive.generators.speech.tts import EmotionalSpeechPipeline

    torch.manual_seed(0)
    codec = SpectralCodec(tiny_spectral_config()).eval()
    codec.embed.normal_()  # the RVQ codebooks start at zero (filled by k-means in training): make codes audible
    lm = CodecLM(tiny_lm_config(codec.num_codebooks, codec.codebook_size))
    with torch.no_grad():  # a predictable length: 5 frames (50 ms) per phone, and no early end of speech
        lm.dur_head.weight.zero_()
        lm.dur_head.bias.fill_(math.log1p(5.0))
        lm.heads[0].bias[lm.config.eos] = -1e4
    root = tmp_path_factory.mktemp("tiny-tts")
    EmotionalSpeechPipeline(codec, lm).save_pretrained(root)
    return root


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
