"""``emotive serve --port 8000``: the OpenAI-compatible speech API (``POST /v1/audio/speech``, ``GET /v1/models``,
``GET /v1/voices``) on this machine's loopback address unless ``--host`` says otherwise."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve speech over HTTP with OpenAI's /v1/audio/speech API (existing OpenAI clients work unchanged)",
        description="POST /v1/audio/speech with OpenAI's fields (model, input, voice, response_format "
        "wav/pcm/flac/mp3, speed, instructions, stream_format) plus emotion, intensity, guidance and seed; "
        "GET /v1/models, /v1/voices. Inline tags in the input work as in `emotive speak`.",
    )
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--workers", type=int, default=1, help="requests rendered at once (default 1; each uses the cores)")
    p.add_argument("--queue", type=int, default=16, help="requests waiting for a render slot before 429 (default 16)")
    p.add_argument("--max-chars", type=int, default=4096, help="longest input text (default 4096, OpenAI's limit)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import uvicorn

    from emotive.apps.server.app import Limits, create_app
    from emotive.conditioning import EmotiveError
    from emotive.generators.speech.pipeline import MAX_CHARS

    if not 0 <= args.port <= 65535:
        raise EmotiveError(f"--port must be from 0 to 65535, got {args.port}.")
    if not 1 <= args.workers <= 16 or not 0 <= args.queue <= 1000:
        raise EmotiveError("--workers must be from 1 to 16 and --queue from 0 to 1000.")
    if not 1 <= args.max_chars <= MAX_CHARS:
        raise EmotiveError(f"--max-chars must be from 1 to {MAX_CHARS}.")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}: other machines can reach this server (it has no authentication).",
              file=sys.stderr)
    app = create_app(limits=Limits(max_chars=args.max_chars, workers=args.workers, queue=args.queue))
    print(f"emotive speech API on http://{args.host}:{args.port}/v1/audio/speech (Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    return 0
