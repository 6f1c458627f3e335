"""``emotive speak "text" --emotion happy --voice slt -o out.wav``: emotional text-to-speech (codec LM + codec)."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "speak",
        help="say text with an emotion in one of six voices (codec language model + WORLD-parameter codec)",
        description="Text -> phonemes -> codec tokens (transformer LM conditioned on emotion and voice) -> waveform. "
        "Long text is split at sentence boundaries and joined with pauses.",
    )
    p.add_argument("text", help="English text ('-' reads standard input)")
    p.add_argument("--emotion", "-e", default="neutral", help="e.g. happy, 'sad:0.6', '0.7 sad + 0.3 angry', 'vad(0.5,0.6,0)'")
    p.add_argument("--voice", "-v", default="slt", help="joe, slt, kal, ked, rms or awb")
    p.add_argument("-o", "--out", required=True, help="output WAV (16 kHz mono, 16-bit)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    add_seed_argument(p, "sampling seed")
    p.add_argument("--candidates", "-n", type=int, default=1, help="takes per sentence, reranked by the speech evaluators")
    p.add_argument("--guidance", type=float, default=1.5, help="emotion strength (classifier-free guidance scale)")
    p.add_argument("--temperature", type=float, default=0.3, help="token sampling temperature (0 = greedy)")
    p.add_argument("--autoregressive", action="store_true",
                   help="feed sampled tokens back into the LM (measured less intelligible than the default)")
    p.add_argument("--envelope", choices=("expected", "sampled"), default="expected",
                   help="WORLD codec: synthesise the LM's expected spectral envelope (default) or its sampled tokens")
    p.add_argument("--pace", type=float, default=1.0, help=">1 slower, <1 faster")
    p.add_argument("--model", default=None, help="folder with codec/ and lm/ (default: the embedded weights)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import soundfile as sf
    import torch

    from emotive.conditioning import Emotion
    from emotive.conditioning.files import atomic_output, check_output
    from emotive.generators.speech.tts import EmotionalSpeechPipeline

    text = sys.stdin.read() if args.text == "-" else args.text
    emotion = Emotion.parse(args.emotion)
    check_output(args.out, args.force, suffixes=(".wav",))
    pipe = EmotionalSpeechPipeline.from_pretrained(args.model)
    out = pipe(text, emotion=emotion, voice=args.voice, generator=torch.Generator().manual_seed(args.seed),
               num_candidates=args.candidates, guidance_scale=args.guidance, temperature=args.temperature,
               pace=args.pace, progress=True, history=args.autoregressive, envelope=args.envelope)
    with atomic_output(args.out, overwrite=args.force, suffixes=(".wav",)) as tmp:
        sf.write(str(tmp), out.waveform, out.sample_rate, subtype="PCM_16", format="WAV")
    print(f"{args.out}: {out.duration:.2f} s, voice {out.voice}, {emotion.label} (intensity {emotion.intensity:.2f}), "
          f"{len(out.chunks)} chunk(s), {out.codes.shape[1]} codebooks x {out.codes.shape[-1]} frames")
    return 0
