"""``emotive evaluate face video.mp4 --emotion sad [--motion m.csv] [--portrait p.png]``."""

from __future__ import annotations

import argparse


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser(
        "face",
        help="judge a talking-face video: FER emotion over frames, lip sync, identity drift (+ rig honesty)",
        description=(
            "FER2013 recogniser averaged over face crops of the frames (8 labels + VAD); lip sync as the "
            "correlation of MediaPipe's re-read jawOpen with the audio energy and its best lag; identity drift "
            "of the face shape in closed-mouth frames; with --motion, the correlation of commanded and re-read "
            "blendshapes."
        ),
    )
    p.add_argument("video", help="MP4 (or any video ffmpeg reads)")
    p.add_argument("--emotion", "-e", help="the requested emotion (for MATCH / NO MATCH)")
    p.add_argument(
        "--motion", help="the commanded motion (.csv/.json with ARKit names, e.g. from --motion-out)"
    )
    p.add_argument("--portrait", help="the source portrait (identity reference; default: the first frame)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.conditioning import LABELS
    from emotive.evaluators.face.evaluate import evaluate

    torch.set_num_threads(1)
    v = evaluate(args.video, args.emotion, motion=args.motion, portrait=args.portrait)
    if args.json:
        print(v.to_json(indent=2))
        return 0
    print(v.summary())
    for name, p in zip(LABELS, v.probs):
        print(f"  {name:<10} {p:6.1%} {'█' * round(p * 30)}")
    print(f"VAD         valence {v.vad[0]:+.2f}  arousal {v.vad[1]:+.2f}  dominance {v.vad[2]:+.2f}")
    return 0
