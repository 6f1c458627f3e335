"""``emotive emotion "<anything>"``: show how a request resolves."""

from __future__ import annotations

import argparse
import json

from emotive.conditioning import LABELS, Emotion


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emotion",
        help="resolve an emotion request (label, mixture, VAD or free text) and print it",
        description="Resolve an emotion request and print its label distribution, VAD, intensity and confidence.",
    )
    p.add_argument("request", help="e.g. happy, 'happy:0.6', '0.7 sad + 0.3 angry', 'vad(0.5,0.3,0)', 'quietly hopeful'")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    e = Emotion.parse(args.request)
    if args.json:
        d = e.to_dict()
        d["string"] = str(e)
        print(json.dumps(d, indent=2, ensure_ascii=False))
        return 0
    print(f"request     {args.request}")
    print(f"label       {e.label}")
    width = 30
    for name, p in zip(LABELS, e.probs):
        print(f"  {name:<10} {p:6.1%} {'█' * round(p * width)}")
    v, a, d = e.vad
    print(f"VAD         valence {v:+.2f}  arousal {a:+.2f}  dominance {d:+.2f}")
    print(f"intensity   {e.intensity:.2f}")
    print(f"confidence  {e.confidence:.2f}")
    print(f"source      {e.source}")
    print(f"canonical   {e}")
    return 0
