"""``emotive compose --emotion "..." --bars 16 -o song.mid [--wav song.wav] [--png roll.png]``: an emotion-targeted
arrangement (melody, accompaniment, bass, drums where fitting)."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compose",
        help="compose music for an emotion: melody, chords, bass (multi-track MIDI, optional WAV preview and piano roll)",
        description="Compose 4/4 music for an emotion: a melody in 4-bar phrases (VQ-VAE + prior), chords from a "
        "chorale-trained model, an accompaniment texture, bass and (folk, rock) drums as named General MIDI tracks. "
        "Tempo, mode, note density, texture and instruments follow the emotion unless overridden.",
    )
    p.add_argument("--emotion", "-e", default="neutral", help="label, mixture, vad(v,a,d), free text, or an EMOPIA quadrant Q1-Q4")
    p.add_argument("--bars", type=int, default=16,
                   help="bars to compose (4-512, whole 4-bar phrases: other counts are rounded up; default 16)")
    p.add_argument("-o", "--out", required=True, help="output MIDI file")
    p.add_argument("--wav", help="also write an audio preview (FluidSynth, GM soundfont)")
    p.add_argument("--png", help="also write a piano-roll picture")
    add_seed_argument(p, "random seed")
    p.add_argument("--tempo", type=float, help="override the tempo (BPM, 40-200)")
    p.add_argument("--mode", choices=["major", "minor"], help="override the mode")
    p.add_argument("--density", type=float, help="override the melody's note density (onsets per bar, 1-16)")
    p.add_argument("--texture", help="accompaniment texture: sustained, broken, alberti or driving (default: from the emotion)")
    p.add_argument("--instruments", help="ensemble (piano, strings, folk, rock, ambient) and/or role=instrument items, "
                   "e.g. 'strings,melody=flute,drums=none' (roles melody, accompaniment, bass, drums; instruments by "
                   "General MIDI name or program number)")
    p.add_argument("--guidance", type=float, default=1.5, help="classifier-free guidance scale (emotion/attribute strength; default 1.5)")
    p.add_argument("--temperature", type=float, default=0.9, help="sampling temperature (default 0.9)")
    p.add_argument("--top-k", type=int, default=32, help="sample among the k likeliest codes (default 32)")
    p.add_argument("--continue", dest="prompt", metavar="MIDI", help="continue this MIDI file (its top line)")
    p.add_argument("--model", help="model folder (default: the shipped emotive-music-v2)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.conditioning import EmotiveError
    from emotive.conditioning.files import atomic_outputs, check_output
    from emotive.generators.music.pipeline import MIDI_SUFFIXES, MusicPipeline

    torch.set_num_threads(1)
    # Fail before composing, not after. Distinct endings also keep one output from replacing another.
    for path, suffixes in ((args.out, MIDI_SUFFIXES), (args.wav, (".wav",)), (args.png, (".png",))):
        if path:
            check_output(path, args.force, suffixes)
    pipe = MusicPipeline.from_pretrained(args.model)
    out = pipe(
        emotion=args.emotion,
        bars=args.bars,
        generator=torch.Generator().manual_seed(args.seed),
        guidance_scale=args.guidance,
        temperature=args.temperature,
        top_k=args.top_k,
        tempo=args.tempo,
        mode=args.mode,
        density=args.density,
        texture=args.texture,
        instruments=args.instruments,
        prompt_midi=args.prompt,
    )
    if not any(inst.notes for inst in out.midi.instruments):  # whatever the musical rule, never an empty song
        raise EmotiveError(f"The composition of {args.bars} bar(s) has no notes; nothing was written. "
                           "Compose more bars or try another seed.")
    # All or none: a full disk or a failed render keeps no MIDI without its WAV and PNG.
    outputs = [(args.out, MIDI_SUFFIXES), (args.wav, (".wav",)), (args.png, (".png",))]
    outputs = [(path, suffixes) for path, suffixes in outputs if path]
    with atomic_outputs([p for p, _ in outputs], args.force, [s for _, s in outputs]) as tmps:
        out.write_midi(tmps[0], overwrite=True)
        for (path, _), tmp in zip(outputs[1:], tmps[1:]):
            if path == args.wav:
                out.write_wav(tmp, overwrite=True)
            else:
                out.write_pianoroll(tmp, overwrite=True)
    written = [p for p, _ in outputs]
    t = out.targets
    if "bars_rounded_up_from" in out.info:
        print(f"note: --bars {args.bars} rounded up to {len(out.bars) - out.prompt_bars} (whole 4-bar phrases)")
    print(f"{out.emotion.label}: {len(out.bars)} bars ({' '.join(out.plan)}), {out.key}, {t.tempo_bpm:.0f} BPM, "
          f"{out.texture} texture, {out.instruments}, {len(out.midi.instruments)} tracks, {out.duration_s:.1f} s"
          f"{' (mode rewritten)' if out.mode_rewritten else ''}; composed in {out.seconds:.2f} s")
    print("wrote " + ", ".join(written))
    return 0
