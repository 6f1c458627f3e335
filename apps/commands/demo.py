"""``emotive demo``: serve the Gradio demo page (offline, on 127.0.0.1:7860 by default)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

KOKORO_ENV = {"model": "EMOTIVE_KOKORO_MODEL", "voices": "EMOTIVE_KOKORO_VOICES"}
"""Read by ``emotive.generators.speech.kokoro``; set here from ``--kokoro-model`` / ``--kokoro-voices``."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="open the web demo: every generator and evaluator in one page",
        description="Serve the Gradio demo: a shared emotion panel and one tab per available generator. "
        "Runs offline; stop it with Ctrl+C.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--no-warm-up", dest="warm", action="store_false",
                   help="do not preload models in the background (the first request loads them)")
    p.add_argument("--kokoro-model", metavar="FILE", default=None,
                   help="speak with this official kokoro-v1.0.onnx instead of the packaged int8 model")
    p.add_argument("--kokoro-voices", metavar="FILE", default=None,
                   help="add the voices of this voices-v1.0.bin / .npz (e.g. Kokoro's English voices)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emotive.apps.demo.ports import check_port

    check_port(args.host, args.port)  # before the slow gradio import
    for kind in ("model", "voices"):
        value = getattr(args, f"kokoro_{kind}")
        if value:
            from emotive.conditioning import EmotiveError

            path = Path(value).expanduser()
            if not path.is_file():
                raise EmotiveError(f"--kokoro-{kind} {value}: no such file.")
            os.environ[KOKORO_ENV[kind]] = str(path.resolve())
    from emotive.apps.demo import rundir

    rundir.sweep_abandoned_runs()  # folders of demos that were killed
    rundir.adopt_as_temp_dir()  # before gradio, torch and mediapipe are imported: their files go there too
    from emotive.apps.demo.app import launch  # gradio loads only for this command

    launch(host=args.host, port=args.port, block=True, warm=args.warm)
    # Stopped (Ctrl-C / SIGTERM) and cleaned up: leave now. Tearing down the interpreter with torch, mediapipe and
    # onnxruntime loaded took seconds more, and a job still running in a worker thread would keep it alive.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
