"""``emotive demo``: serve the Gradio demo page (offline, on 127.0.0.1:7860 by default)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

TTS_ENV = "EMOTIVE_DEMO_TTS"
"""Read by the Speech tab (``emotive.apps.demo.tabs.speech.TTS_ENV``); set here from ``--tts``."""


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
    p.add_argument("--tts", metavar="DIR", default=None,
                   help="use this text-to-speech pipeline folder (codec/ + lm/, e.g. a training checkpoint saved "
                        "with EmotionalSpeechPipeline.save_pretrained) instead of the embedded weights")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emotive.apps.demo.ports import check_port

    check_port(args.host, args.port)  # before the slow gradio import
    if args.tts:
        from emotive.conditioning import EmotiveError

        tts = Path(args.tts).expanduser()
        if not (tts / "lm" / "model.safetensors").is_file() or not (tts / "codec" / "config.json").is_file():
            raise EmotiveError(f"--tts {args.tts}: expected a pipeline folder with codec/ and lm/ "
                               "(config.json + model.safetensors in each).")
        os.environ[TTS_ENV] = str(tts.resolve())
    from emotive.apps.demo.app import launch  # gradio loads only for this command

    launch(host=args.host, port=args.port, block=True, warm=args.warm)
    return 0
