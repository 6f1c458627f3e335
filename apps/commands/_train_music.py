"""``emotive train music``: reproduce the shipped music model (VQ-VAE + prior) from the music21 corpus."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser(
        "music",
        help="train the music VQ-VAE, emotion-conditioned prior and chorale chord model on the music21 corpus "
        "(reproduces the shipped weights)",
        description="Parse the music21 corpus (O'Neill, Ryan's Mammoth, Aird, Bach chorale melodies), train the bar "
        "VQ-VAE, then the conditioned prior, then fit the chord HMM on the Bach chorales; checkpoints in --work "
        "(resumable); writes a pretrained folder.",
    )
    p.add_argument("--out", required=True, help="output model folder (config.json + model.safetensors + MODEL_CARD.md)")
    p.add_argument("--work", default="music-train", help="checkpoints, logs and the parsed-corpus cache (resumable)")
    p.add_argument("--data", help="parsed-corpus cache folder (default: --work)")
    p.add_argument("--tiny", action="store_true", help="smoke mode: one corpus file, tiny models, seconds")
    p.add_argument("--vq-steps", type=int, help="VQ-VAE steps (default 4000)")
    p.add_argument("--prior-steps", type=int, help="prior steps (default 1600)")
    add_seed_argument(p, "training seed")
    p.add_argument("--melody-from", metavar="MODEL", help="reuse the melody VQ-VAE + prior of this model folder and "
                   "retrain only the chord model (~2 min)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model in --out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.generators.music.train import TrainConfig, train

    torch.set_num_threads(1)
    cfg = TrainConfig.tiny_preset(args.work, args.data) if args.tiny else TrainConfig(work_dir=args.work, data_dir=args.data)
    cfg.seed = args.seed
    if args.vq_steps is not None:
        cfg.vq_steps = args.vq_steps
    if args.prior_steps is not None:
        cfg.prior_steps = args.prior_steps
    cfg.melody_from = args.melody_from
    m = train(cfg, args.out, overwrite=args.force)
    print(f"held-out token accuracy {m['held_out_token_accuracy']:.1%}, codebook usage {m['held_out_codebook_usage']:.1%}, "
          f"chord accuracy {m['harmony']['held_out_chord_accuracy']:.1%} -> {args.out}")
    return 0
