"""``emotive train speech-lm``: tokenise the corpus with the codec and train (or resume) the codec language model."""

from __future__ import annotations

import argparse


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser("speech-lm", help="train the codec language model (emotional TTS; resumable, held-out eval)")
    p.add_argument("--corpus", default="/work/cache/speech/corpus_small", help="corpus folder from `emotive corpus speech`")
    p.add_argument("--codec", default=None, help="codec folder (default: the embedded codec)")
    p.add_argument("--out", default="/work/cache/lm/run", help="run folder (tokens.pt, ckpt.pt, latest/, train.log)")
    p.add_argument("--steps", type=int, default=None, help="total optimiser steps (default 100000; 4 with --tiny)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes of this invocation")
    p.add_argument("--frames-per-batch", type=int, default=2400)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--ship", default=None, help="after training copy the LM + MODEL_CARD.md into this folder")
    p.add_argument("--tiny", action="store_true", help="smoke mode: tiny LM, a few steps (used by tests)")
    p.add_argument("--code-drop", type=float, default=None,
                   help="share of frames whose previous-token input is blanked in training (also on resume); "
                   "the shipped LM: 0 to step 1322, 0.5 to 1546, then 0.8")
    p.add_argument("--init", default=None,
                   help="start a new run (no ckpt.pt in --out yet) from these LM weights, e.g. a small-corpus run's best/")
    p.add_argument("--eval-clips", type=int, default=240, help="held-out clips scored at each evaluation")
    p.add_argument("--lr", type=float, default=1e-3,
                   help="AdamW learning rate (also on resume: the shipped LM's last stage decays it to 3e-4)")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.generators.speech.codec_lm_train import LMTrainConfig, train_lm
    from emotive.generators.speech.codec_train import load_rows

    torch.set_num_threads(args.threads)
    if args.tiny:
        cfg = LMTrainConfig(tiny=True, max_steps=args.steps or 4, eval_every=2, frames_per_batch=600, ckpt_every_s=0,
                            code_drop=args.code_drop, init_from=args.init, lr=args.lr)
    else:
        cfg = LMTrainConfig(max_steps=args.steps or 100_000, eval_every=args.eval_every, frames_per_batch=args.frames_per_batch,
                            code_drop=args.code_drop, init_from=args.init, eval_clips=args.eval_clips, lr=args.lr)
    res = train_lm(lambda: load_rows(args.corpus), args.codec, args.out, cfg, max_minutes=args.minutes)
    print(f"speech-lm step {res['step']}: held-out CE {res.get('ce', float('nan')):.3f}, "
          f"codebook-0 accuracy {res.get('acc0', float('nan')):.3f} -> {args.out}/latest")
    if args.ship:
        import shutil
        from pathlib import Path

        dest = Path(args.ship)
        dest.mkdir(parents=True, exist_ok=True)
        # early stopping: the checkpoint with the lowest held-out loss, when evaluation ran
        src = Path(args.out) / ("best" if (Path(args.out) / "best" / "model.safetensors").is_file() else "latest")
        for name in ("config.json", "model.safetensors"):
            shutil.copy2(src / name, dest / name)
        from emotive.generators.speech.codec_train import merge_card

        card = ("# emotive codec language model\n\n"
                f"- command: `emotive train speech-lm --corpus {args.corpus} --out {args.out} --steps {args.steps}"
                f"{' --init ' + args.init if args.init else ''} --lr {args.lr}`\n"
                f"- steps: {res['step']} (shipped: {src.name}/)\n"
                f"- held-out (test sentences) CE {res.get('ce')}, codebook-0 acc {res.get('acc0')}\n"
                "- data: emotive speech corpus (own sentences, six voices, WORLD prosody rules); weights MIT (project licence)\n")
        mc = dest / "MODEL_CARD.md"
        mc.write_text(merge_card(mc.read_text() if mc.is_file() else None, card))
        print(f"shipped -> {dest}")
    return 0
