"""``emotive evaluate speech file.wav --emotion happy [--text "..."]``: emotion verdict (+ WER/CER)."""

from __future__ import annotations

import argparse


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser(
        "speech",
        help="recognise the emotion of a speech WAV (8 labels + VAD) and its naturalness (MOS), with WER/CER when --text is given",
        description="Speech emotion recogniser (shipped weights) + Distill-MOS naturalness + Whisper tiny.en intelligibility.",
    )
    p.add_argument("file", help="speech WAV")
    p.add_argument("--emotion", "-e", help="the requested emotion (for MATCH / NO MATCH)")
    p.add_argument("--text", help="what the speech says: adds WER and CER")
    p.add_argument("--reference", nargs="+", help="neutral recordings of the same voice (speaker normalisation; much better accuracy on new voices)")
    p.add_argument("--model", help="recogniser folder (default: shipped)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.conditioning import LABELS, Emotion
    from emotive.conditioning.errors import EmotiveError
    from emotive.evaluators.speech import evaluate_speech

    torch.set_num_threads(1)
    if args.emotion is not None:
        Emotion.parse(args.emotion)  # a bad request is refused before the models load
    if args.text is not None and not args.text.strip():
        raise EmotiveError("--text is empty: give the words spoken, or leave --text out.")
    v = evaluate_speech(args.file, target=args.emotion, text=args.text, reference=args.reference, model=args.model)
    if args.json:
        print(v.to_json(indent=2))
        return 0
    print(v.summary())
    for name, p in zip(LABELS, v.probs):
        print(f"  {name:<10} {p:6.1%} {'█' * round(p * 30)}")
    print(f"VAD         valence {v.vad[0]:+.2f}  arousal {v.vad[1]:+.2f}  dominance {v.vad[2]:+.2f}")
    print(f"naturalness Distill-MOS {v.figures['mos']:.2f} (1 bad - 5 excellent)")
    if "transcript" in v.figures:
        print(f"transcript  {v.figures['transcript']}")
    return 0
