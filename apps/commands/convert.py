"""``emotive convert in.wav --emotion furious -o out.wav``: emotional voice conversion (WORLD prosody rules)."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="make a speech recording sound emotional (WORLD prosody rules; mono/stereo WAV, 8-48 kHz, <= 10 min)",
        description="Re-render a speech WAV with emotional prosody: F0 level/range/contour, tempo and pauses, "
        "level, spectral tilt, breathiness, jitter/tremor, driven by the emotion (intensity 0 = unchanged).",
    )
    p.add_argument("input", help="speech WAV (mono or stereo, 8-48 kHz, at most 10 min)")
    p.add_argument("--emotion", "-e", required=True, help="e.g. furious, 'happy:0.6', '0.7 sad + 0.3 angry', 'vad(0.5,0.6,0)'")
    p.add_argument("-o", "--out", required=True, help="output WAV (same sample rate and channel count as the input)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    add_seed_argument(p, "seed for jitter/tremor")
    p.add_argument("--allow-clipping", action="store_true", help="accept inputs with more than 5%% clipped samples")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import soundfile as sf

    from emotive.conditioning import Emotion
    from emotive.conditioning.files import atomic_output, check_output
    from emotive.evaluators.speech.audio import load_speech
    from emotive.generators.speech.prosody import ProsodyPipeline, describe

    emotion = Emotion.parse(args.emotion)
    check_output(args.out, args.force, suffixes=(".wav",))
    sa = load_speech(args.input, allow_clipping=args.allow_clipping)
    audio = sa.audio if sa.channels == 1 else sa.audio[:, None].repeat(2, axis=1)
    out = ProsodyPipeline()(audio, sa.sr, emotion=emotion, generator=args.seed)
    with atomic_output(args.out, overwrite=args.force, suffixes=(".wav",)) as tmp:
        sf.write(str(tmp), out.audio, out.sr, subtype="PCM_16", format="WAV")
    print(f"{args.out}: {emotion.label} (intensity {emotion.intensity:.2f}) | {describe(out.params)}")
    return 0
