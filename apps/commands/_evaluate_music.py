"""``emotive evaluate music file.mid --emotion happy``: attributes -> valence/arousal -> quadrant, plus quality statistics."""

from __future__ import annotations

import argparse


def register(subsub: argparse._SubParsersAction) -> None:
    p = subsub.add_parser(
        "music",
        help="read a MIDI file's emotion (attributes -> valence/arousal -> EMOPIA quadrant) and quality statistics",
        description="Music evaluator: mode, tempo, density, register, loudness, articulation -> valence/arousal; "
        "pitch-class entropy, scale and groove consistency vs the training corpus, empty and repeated bars; for "
        "multi-track files the track roles, chords, texture, returning bars and the closing bass note.",
    )
    p.add_argument("file", help="MIDI file")
    p.add_argument("--emotion", "-e", help="the requested emotion (label, text, vad(...), or Q1-Q4) for MATCH / NO MATCH")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emotive.conditioning import LABELS
    from emotive.evaluators.music.evaluator import MusicEvaluator, parse_music_emotion

    target = parse_music_emotion(args.emotion) if args.emotion is not None else None  # "" is an error, as elsewhere
    v = MusicEvaluator().evaluate(args.file, target)
    if args.json:
        print(v.to_json(indent=2))
        return 0
    print(v.summary() if target is not None else f"{v.label} (no target given)")
    for name, p in zip(LABELS, v.probs):
        print(f"  {name:<10} {p:6.1%} {'█' * round(p * 30)}")
    f = v.figures
    print(f"VA          valence {v.vad[0]:+.2f}  arousal {v.vad[1]:+.2f}  quadrant {f['quadrant']}"
          + (f" (target {f['target_quadrant']})" if f.get("target_quadrant") else ""))
    print(f"attributes  {f['key']}, {f['tempo_bpm']:.0f} BPM, {f['density']:.1f} onsets/bar, {f['onset_rate']:.2f} onsets/s, "
          f"mean pitch {f['register']:.1f}, velocity {f['velocity']:.0f}, articulation {f['articulation']:.2f}")
    print(f"quality     pitch-class entropy {f['pitch_class_entropy']:.3f}, scale consistency {f['scale_consistency']:.3f}, "
          f"groove consistency {f['groove_consistency']:.3f}, empty bars {f['empty_bar_rate']:.1%}, "
          f"repeated bars {f['repeated_bar_rate']:.1%}, polyphony {f['polyphony']:.2f}")
    if "tracks" in f:
        regs = ", ".join(f"{r} {f[f'register_{r}']:.0f}" for r in ("melody", "accompaniment", "bass")
                         if f.get(f"register_{r}") is not None)
        tone = f["melody_chord_tone_rate"]
        print(f"tracks      {f['tracks']} ({', '.join(n or '(unnamed)' for n in f['track_names'])}); mean pitch {regs}")
        print(f"harmony     chords major {f['major_chord_share']:.0%} / minor {f['minor_chord_share']:.0%} / diminished "
              f"{f['diminished_chord_share']:.0%}, {f['harmonic_rhythm']:.2f} changes per bar, dissonance {f['dissonance']:.1%}, "
              f"melody on chord tones {'n/a' if tone is None else format(tone, '.0%')} (beats 1 and 3), "
              f">= 3 notes {f['three_note_time_share']:.0%} of the time")
        print(f"form        {f['returning_melody_bars']} returning melody bars; last bass note "
              f"{'is' if f['final_bass_is_tonic'] else 'is not'} the tonic, "
              f"{'on' if f['final_bass_on_strong_beat'] else 'off'} a strong beat")
    return 0
