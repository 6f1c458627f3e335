"""``emotive train speech --model ser`` (alias ``emotive train speech-ser``): train the speech emotion recogniser."""

from __future__ import annotations

import argparse


def _add(p: argparse.ArgumentParser, with_model: bool) -> None:
    if with_model:
        p.add_argument("--model", choices=["ser"], default="ser", help="which speech model to train")
    p.add_argument("--corpus", default="/work/cache/speech/corpus_v2",
                   help="corpus folder (manifest.jsonl) from `emotive corpus speech`; evaluated leave-one-voice-out")
    p.add_argument("--out", help="output folder (default: the shipped evaluators/speech/pretrained/ser)")
    p.add_argument("--cache", default=None, help="feature cache folder (default: <corpus>/cache)")
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=run)


def register(subsub: argparse._SubParsersAction) -> None:
    _add(subsub.add_parser("speech", help="train a speech model (--model ser: the emotion recogniser)"), True)
    _add(subsub.add_parser("speech-ser", help="train the speech emotion recogniser (leave-one-voice-out figures + shipped weights)"), False)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.evaluators.speech.training import train_pretrained

    torch.set_num_threads(1)
    cache = args.cache or f"{args.corpus.rstrip('/')}/cache"
    res = train_pretrained(args.corpus, args.out, cache, workers=args.workers)
    print(f"LOVO 8-class accuracy {res['loso']['accuracy']:.1%}, arousal CCC {res['loso']['arousal_ccc']:.3f}, "
          f"valence CCC {res['loso']['valence_ccc']:.3f} -> {res['path']}")
    return 0
