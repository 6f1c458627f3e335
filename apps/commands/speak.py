"""``emotive speak "text" --emotion happy --voice jf_alpha -o out.wav``: emotional text-to-speech (Kokoro-82M with
the emotion inside its graph)."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "speak",
        help="say text with an emotion (Kokoro-82M voices, emotion applied inside the model)",
        description="Text -> English phonemes -> Kokoro's predicted durations and pitch, moved by the emotion's "
        "prosody rules -> Kokoro's decoder -> 24 kHz WAV. Long text is split at sentences.",
    )
    p.add_argument("text", nargs="?", help="English text ('-' reads standard input)")
    p.add_argument("--emotion", "-e", default="neutral", help="e.g. happy, 'sad:0.6', '0.7 sad + 0.3 angry', 'vad(0.5,0.6,0)'")
    p.add_argument("--voice", "-v", default=None,
                   help="a voice name (see --list-voices) or a same-gender blend, e.g. '0.6 jf_alpha + 0.4 jf_nezumi'")
    p.add_argument("--list-voices", action="store_true", help="print the voice names, one per line (default first)")
    p.add_argument("--engine", choices=("direct",), default="direct",
                   help="direct: the prosody rules straight into Kokoro's graph")
    p.add_argument("-o", "--out", help="output WAV (24 kHz mono, 16-bit)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    add_seed_argument(p, "seed for jitter/tremor and the variation of extra takes")
    p.add_argument("--candidates", "-n", type=int, default=1,
                   help="takes per sentence (1-16), reranked by the judges (WER, emotion, naturalness)")
    p.add_argument("--pace", type=float, default=1.0, help=">1 slower, <1 faster (0.5-2)")
    p.add_argument("--verdict", action="store_true",
                   help="also judge the result: naturalness (Distill-MOS), Whisper transcript and WER, recognised emotion")
    p.add_argument("--kokoro-model", default=None, help="an official kokoro-v1.0.onnx (default: the packaged int8 model)")
    p.add_argument("--kokoro-voices", default=None, help="a voices-v1.0.bin / .npz adding its voices")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import soundfile as sf
    import torch

    from emotive.conditioning import Emotion, EmotiveError
    from emotive.conditioning.files import atomic_output, check_output
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    pipe = None
    if args.list_voices:
        pipe = EmotionalSpeechPipeline.from_pretrained(model=args.kokoro_model, voices=args.kokoro_voices)
        print("\n".join(pipe.voices))
        return 0
    if args.text is None or args.out is None:
        raise EmotiveError("speak needs a text and -o OUT.wav (or --list-voices).")
    text = sys.stdin.read() if args.text == "-" else args.text
    emotion = Emotion.parse(args.emotion)
    check_output(args.out, args.force, suffixes=(".wav",))
    pipe = EmotionalSpeechPipeline.from_pretrained(model=args.kokoro_model, voices=args.kokoro_voices)
    out = pipe(text, emotion=emotion, voice=args.voice or pipe.voices[0], engine=args.engine,
               generator=torch.Generator().manual_seed(args.seed), num_candidates=args.candidates, pace=args.pace,
               progress=True)
    with atomic_output(args.out, overwrite=args.force, suffixes=(".wav",)) as tmp:
        sf.write(str(tmp), out.waveform, out.sample_rate, subtype="PCM_16", format="WAV")
    print(f"{args.out}: {out.duration:.2f} s, voice {out.voice}, {emotion.label} (intensity {emotion.intensity:.2f}), "
          f"{len(out.segments)} sentence(s), engine {out.engine}")
    if args.verdict:
        from emotive.evaluators.speech import evaluate_speech

        v = evaluate_speech(out.waveform, out.sample_rate, emotion, text=" ".join(out.chunks))
        print(f"naturalness Distill-MOS {v.figures['mos']:.2f}; heard: {v.figures.get('transcript', '')}")
        print(v.summary())
    return 0
