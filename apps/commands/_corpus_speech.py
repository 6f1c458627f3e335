"""``emotive corpus speech --size {tiny,small,full} --out DIR``: the emotional speech corpus."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser(
        "speech",
        help="render the emotional speech corpus (8 Kokoro voices x sentences x emotions) or import a real corpus",
        description="Render sentences x Kokoro voices x emotions through the speech pipeline into 24 kHz WAVs + "
        "manifest.jsonl and 16 kHz copies + manifest_16k.jsonl (deterministic per seed, resumable: rerun with the same "
        "--out). With --from-real, read an ESD/RAVDESS/EmoV-DB tree instead.",
    )
    p.add_argument("--size", choices=["tiny", "small", "full"], default="small", help="tiny: seconds (4 utterances); small: 960 utterances (~1 h of one core); full: 8,656 (~8 h of audio)")
    p.add_argument("--out", required=True, help="output folder (reused to resume)")
    add_seed_argument(p, "corpus seed")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (one Kokoro each, one thread each)")
    p.add_argument("--from-real", choices=["esd", "ravdess", "emovdb"], help="import a real corpus laid out like this")
    p.add_argument("--root", help="root folder of the real corpus (with --from-real)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.from_real:
        from emotive.conditioning import EmotiveError
        from emotive.generators.speech.readers import write_manifest

        if not args.root:
            raise EmotiveError("--from-real needs --root (the corpus folder).")
        path = write_manifest(args.from_real, args.root, args.out)
        print(path)
        return 0
    from emotive.generators.speech.corpus import build_corpus

    path = build_corpus(args.out, args.size, seed=args.seed, workers=args.workers, progress=not args.no_progress)
    print(path)
    return 0
