"""``emotive train speech-lm``: make the prosody-token data with Kokoro + the rules, then train (or resume) the
prosody LM; ``--ship`` copies the best weights and writes the model card."""

from __future__ import annotations

import argparse


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser("speech-lm", help="train the prosody LM of the codec-lm engine (data made here; resumable)")
    p.add_argument("--out", default="/work/cache/prosody_lm/run", help="run folder (data/, ckpt.pt, latest/, best/, train.log)")
    p.add_argument("--steps", type=int, default=None, help="total optimiser steps (default 3000; 4 with --tiny)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes of this invocation")
    p.add_argument("--frames-per-batch", type=int, default=3000, help="25 ms steps per batch (padded)")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--max-sentences", type=int, default=None, help="use at most this many sentences per split")
    p.add_argument("--data-only", action="store_true", help="make the data and stop")
    p.add_argument("--targets", choices=("params", "audio"), default="params",
                   help="params: the F0 and level the rules command (the shipped LM); audio: the same utterances "
                   "rendered and re-analysed (pYIN F0, measured level; data ~70x slower)")
    p.add_argument("--ship", default=None, help="copy best/ (or latest/) + MODEL_CARD.md into this folder")
    p.add_argument("--ship-from", choices=("best", "latest"), default="best",
                   help="best: lowest held-out CE; latest: the last step (the shipped LM: the held-out CE does not "
                   "weigh the level, which stage 2 fixes)")
    p.add_argument("--tiny", action="store_true", help="smoke mode: 3 sentences, a tiny LM, 4 steps (used by tests)")
    p.add_argument("--first-gain-weight", type=float, default=0.0,
                   help="extra loss weight on the first step's level (also on resume); the shipped LM: 0 to step "
                   "1200, then 1")
    p.add_argument("--neutral-ref", action="store_true",
                   help="a new run's LM conditions on Kokoro's own neutral F0/N and samples pitch relative to it")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import shutil
    from pathlib import Path

    import torch

    from emotive.generators.speech.prosody_lm_data import DataConfig, build_data, load_data
    from emotive.generators.speech.prosody_lm_train import TrainConfig, train

    torch.set_num_threads(args.threads)
    if args.tiny:
        dcfg = DataConfig(voices_per_sentence=1, emotions_per_voice=2, max_sentences=args.max_sentences or 3,
                          targets=args.targets)
        tcfg = TrainConfig(tiny=True, max_steps=args.steps or 4, eval_every=2, frames_per_batch=400, ckpt_every_s=0,
                           neutral_ref=args.neutral_ref)
    else:
        dcfg = DataConfig(max_sentences=args.max_sentences, targets=args.targets)
        tcfg = TrainConfig(max_steps=args.steps or 3000, eval_every=args.eval_every,
                           frames_per_batch=args.frames_per_batch, first_gain_weight=args.first_gain_weight,
                           neutral_ref=args.neutral_ref)
    folder = build_data(args.out, dcfg, progress=not args.tiny)
    if args.data_only:
        print(f"data -> {folder}")
        return 0
    res = train(load_data(folder, "train", dcfg), load_data(folder, "val", dcfg), args.out, tcfg,
                max_minutes=args.minutes)
    print(f"speech-lm step {res['step']}: held-out loss {res.get('loss', float('nan')):.4f} -> {args.out}/latest")
    if args.ship:
        best = Path(args.out) / "best"
        src = best if args.ship_from == "best" and (best / "model.safetensors").is_file() else Path(args.out) / "latest"
        dest = Path(args.ship)
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors"):
            shutil.copy2(src / name, dest / name)
        metrics = json.loads((src / "metrics.json").read_text()) if src == best and (src / "metrics.json").is_file() \
            else res
        card = dest / "MODEL_CARD.md"
        head = ("# emotive prosody LM (engine `codec-lm`)\n\n"
                f"- command: `emotive train speech-lm --out {args.out}"
                f"{' --steps ' + str(args.steps) if args.steps else ''}"
                f"{' --max-sentences ' + str(args.max_sentences) if args.max_sentences else ''}`\n"
                f"- shipped: {src.name}/ of a run stopped at step {res['step']}; held-out (val sentences) "
                f"{json.dumps({k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)})}\n")
        rest = card.read_text().split("\n## ", 1)[1] if card.is_file() and "\n## " in card.read_text() else ""
        card.write_text(head + ("\n## " + rest if rest else ""))
        print(f"shipped -> {dest}")
    return 0
