"""``emotive train speech-codec``: train (or resume) the compact neural codec on the speech corpus."""

from __future__ import annotations

import argparse


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser("speech-codec", help="train the compact RVQ speech codec (resumable; STOI eval; ships weights)")
    p.add_argument("--corpus", default="/work/cache/speech/corpus_small", help="corpus folder from `emotive corpus speech`")
    p.add_argument("--out", default="/work/cache/codec/run", help="run folder (ckpt.pt, latest/, train.log, eval.jsonl)")
    p.add_argument("--steps", type=int, default=None, help="stop after this many optimiser steps in total "
                   "(default 100000; 4 with --tiny)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes of this invocation")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--ship", default=None, help="after training copy the codec + MODEL_CARD.md into this folder")
    p.add_argument("--freeze-encoder", action="store_true",
                   help="train the decoder only (encoder + codebooks fixed, so an LM's tokens stay valid)")
    p.add_argument("--tiny", action="store_true", help="smoke mode: tiny model, 4 steps (used by tests)")
    p.add_argument("--arch", choices=["world", "encodec"], default="world",
                   help="world: WORLD vocoder parameters with k-means-trained RVQ codebooks (the embedded default; "
                   "minutes, no gradient steps); "
                   "encodec: transformers EncodecModel SEANet at 16 kHz (waveform, needs many more steps)")
    p.add_argument("--max-frames", type=int, default=200_000, help="world: envelope frames used by k-means")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.generators.speech.codec_train import CodecTrainConfig, train_codec

    torch.set_num_threads(args.threads)
    if args.arch == "world":
        from emotive.generators.speech.codec_world import (
            WorldCodecConfig,
            tiny_world_config,
            train_world_codec,
        )

        wcfg = tiny_world_config() if args.tiny else WorldCodecConfig()
        res = train_world_codec(args.corpus, args.out, wcfg, max_frames=2000 if args.tiny else args.max_frames,
                                iters=3 if args.tiny else 25, eval_clips=1 if args.tiny else 8)
        res["step"] = 0
        return _report(args, res)
    if args.tiny:
        cfg = CodecTrainConfig(preset="tiny", batch_size=2, segment_s=0.2, ae_warmup=2, max_steps=args.steps or 4,
                               eval_every=2, eval_clips=1, ckpt_every_s=0.0, scales=[256, 512], freeze_encoder=args.freeze_encoder)
    else:
        cfg = CodecTrainConfig(batch_size=args.batch_size, max_steps=args.steps or 100_000, eval_every=args.eval_every,
                               freeze_encoder=args.freeze_encoder)
    res = train_codec(args.corpus, args.out, cfg, max_minutes=args.minutes, progress=True)
    return _report(args, res)


def _report(args: argparse.Namespace, res: dict) -> int:
    print(f"codec step {res['step']}: STOI seen {res.get('stoi_seen', float('nan')):.3f}, "
          f"held-out speaker {res.get('stoi_unseen', float('nan')):.3f} -> {args.out}/latest")
    if args.ship:
        from emotive.generators.speech.codec_train import ship

        ship(args.out, args.ship, _card(args, res))
        print(f"shipped -> {args.ship}")
    return 0


def _card(args: argparse.Namespace, res: dict) -> str:
    if args.arch == "world":
        return _world_card(args, res)
    arch = "EnCodec architecture (transformers.EncodecModel; Défossez et al. 2022) at 16 kHz, 50 Hz, 8 codebooks."
    return (
        "# emotive compact speech codec\n\n"
        f"{arch} Trained from scratch here on the project's own synthetic speech corpus.\n\n"
        f"- command: `emotive train speech-codec --arch {args.arch} --corpus {args.corpus} --out {args.out}"
        f"{' --steps ' + str(args.steps) if args.steps else ''}`\n"
        f"- steps: {res['step']}\n"
        f"- held-out STOI (pystoi, 8 clips each): held-out sentences {res.get('stoi_seen')}, "
        f"held-out speaker awb {res.get('stoi_unseen')}\n"
        "- data: emotive speech corpus (own sentences; voices Piper joe, festival slt/kal/ked, flite rms; awb held out)\n"
        "- licence: weights MIT (project licence); corpus voices: see NOTICE.md\n"
    )


def _world_card(args: argparse.Namespace, res: dict) -> str:
    return (
        "# emotive speech codec (WORLD parameters + RVQ, 16 kHz, 50 Hz)\n\n"
        "WORLD analysis (DIO + StoneMask F0, CheapTrick envelope, D4C aperiodicity; Morise et al. 2016) every 10 ms; "
        "pairs of frames coded at 50 Hz as 6 tokens: log-F0 (255 bins, 0 = unvoiced), 4 residual-VQ stages "
        "(1024 entries, k-means) of the 40-d coded spectral envelope, aperiodicity (32 levels); WORLD synthesis.\n\n"
        f"- command: `emotive train speech-codec --arch world --corpus {args.corpus} --out {args.out}`\n"
        f"- training: {res.get('clips')} clips, {res.get('frames')} code frames, {res.get('seconds')} s\n"
        f"- held-out STOI (pystoi, 8 clips each): held-out sentences {res.get('stoi_seen')}, "
        f"held-out speaker awb {res.get('stoi_unseen')}\n"
        f"- bitrate: {res.get('bitrate')} bit/s\n"
        "- data: emotive speech corpus (own sentences; voices Piper joe, festival slt/kal/ked, flite rms; awb held out)\n"
    )
