"""Arrangement: a harmonised melody -> named General MIDI tracks (melody, accompaniment, bass, drums).

Everything here is deterministic given its inputs (the randomness is in the melody and the form plan).

- **Texture** (:data:`TEXTURES`), chosen by emotion unless the user picks one
  (:func:`texture_for`): ``sustained`` block chords for low arousal (calm, sad: Gabrielsson &
  Lindström 2010 - few onsets, legato -> low activity), ``broken`` chords (quarter-note
  arpeggios, pedalled) for moderate arousal, ``alberti`` figures (eighths, low-high-mid-high)
  for positive valence and higher arousal, ``driving`` repeated eighth-note chords over an
  octave bass for negative valence and high arousal (loud, fast, many onsets -> anger).
- **Voicing** (:func:`voice_chord`): close-position triads whose top note stays at least
  ``MELODY_CLEARANCE`` semitones under the lowest melody note of the slot (the accompaniment
  never crosses the tune), above ``ACCOMP_FLOOR``, chosen for the smallest total movement
  from the previous voicing (voice leading).
- **Bass**: the chord root in ``BASS_RANGE``, nearest to the previous bass note; octaves for
  ``driving``, root-fifth for ``alberti``, a stepwise approach note into a new chord for ``broken``.
  The piece's last bar is the tonic chord with the tonic in the bass on its downbeat.
- **Phrase dynamics**: velocity rises toward the middle of each phrase and falls into its
  cadence (an arch, ``PHRASE_SWELL`` either side), on top of metrical accents (downbeat >
  half bar > beat; Lerdahl & Jackendoff 1983); a contrasting (B/C) phrase is a little louder.
- **Instruments** (:data:`ENSEMBLES`): General MIDI programs per role; one ensemble per quadrant
  by default (:func:`ensemble_for`); ``parse_instruments`` reads ``--instruments``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emotive.generators.music.attributes import MusicInputError

STEPS_PER_BAR = 16
TEXTURES = ("sustained", "broken", "alberti", "driving")
MELODY_CLEARANCE = 3  # semitones between the accompaniment's top and the melody's lowest note in a slot
ACCOMP_FLOOR = 48  # C3: lowest accompaniment note when the melody leaves room (else down to ACCOMP_MIN)
ACCOMP_MIN = 41
BASS_RANGE = (31, 52)  # G1..E3
PHRASE_SWELL = 7.0  # velocity units

# General MIDI programs (0-based) by role; "drums" is a kit style (None, "light" or "rock").
ENSEMBLES: dict[str, dict[str, int | str | None]] = {
    "piano": {"melody": 0, "accompaniment": 0, "bass": 0, "drums": None},
    "strings": {"melody": 40, "accompaniment": 48, "bass": 42, "drums": None},
    "folk": {"melody": 73, "accompaniment": 24, "bass": 32, "drums": "light"},
    "rock": {"melody": 29, "accompaniment": 30, "bass": 34, "drums": "rock"},
    "ambient": {"melody": 11, "accompaniment": 89, "bass": 32, "drums": None},
}
ROLES = ("melody", "accompaniment", "bass", "drums")
DRUM_STYLES = ("none", "light", "rock")
# Short instrument names accepted by --instruments (any full General MIDI name works too, e.g. "Electric Piano 1").
INSTRUMENT_ALIASES = {
    "piano": 0, "epiano": 4, "harpsichord": 6, "celesta": 8, "vibraphone": 11, "marimba": 12, "organ": 19,
    "accordion": 21, "guitar": 24, "steel-guitar": 25, "jazz-guitar": 26, "clean-guitar": 27,
    "overdriven-guitar": 29, "distortion-guitar": 30, "bass": 32, "acoustic-bass": 32, "electric-bass": 33,
    "pick-bass": 34, "fretless-bass": 35, "synth-bass": 38, "violin": 40, "viola": 41, "cello": 42,
    "contrabass": 43, "harp": 46, "strings": 48, "choir": 52, "trumpet": 56, "trombone": 57, "tuba": 58,
    "horn": 60, "brass": 61, "sax": 65, "oboe": 68, "bassoon": 70, "clarinet": 71, "flute": 73,
    "recorder": 74, "pan-flute": 75, "lead": 80, "saw-lead": 81, "pad": 89, "warm-pad": 89,
}


def texture_for(valence: float, arousal: float) -> str:
    """The default accompaniment texture for an emotion (see the module docstring)."""
    if arousal < -0.25:
        return "sustained"
    if arousal < 0.25:
        return "broken"
    return "alberti" if valence >= 0 else "driving"


def ensemble_for(valence: float, arousal: float) -> str:
    """The default ensemble per EMOPIA quadrant: Q1 folk, Q2 rock, Q3 strings, Q4 piano."""
    if arousal >= 0:
        return "folk" if valence >= 0 else "rock"
    return "piano" if valence >= 0 else "strings"


def _program(name: str) -> int:
    import pretty_midi

    key = name.strip().lower()
    if key in INSTRUMENT_ALIASES:
        return INSTRUMENT_ALIASES[key]
    if key.isdigit() and 0 <= int(key) <= 127:
        return int(key)
    try:
        return int(pretty_midi.instrument_name_to_program(name.strip().title()))
    except (ValueError, KeyError):
        raise MusicInputError(
            f"Unknown instrument '{name}'. Use a General MIDI name (e.g. 'Electric Piano 1'), a program number "
            f"0-127, or one of: {', '.join(sorted(INSTRUMENT_ALIASES))}."
        ) from None


def parse_instruments(spec: str | None, default: str) -> tuple[str, dict[str, int | str | None]]:
    """``--instruments``: an ensemble name (``piano``, ``strings``, ``folk``, ``rock``, ``ambient``) and/or
    ``role=instrument`` items, comma-separated (``strings,melody=flute,drums=none``).

    Returns:
        (description, ``{role: GM program or drum style}``). Raises MusicInputError on unknown names.
    """
    roles = dict(ENSEMBLES[default])
    name = default
    if spec is None or not spec.strip():
        return name, roles
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        raise MusicInputError("--instruments is empty; give an ensemble name or role=instrument items.")
    custom = []
    for item in items:
        if "=" not in item:
            if item.lower() not in ENSEMBLES:
                raise MusicInputError(
                    f"Unknown ensemble '{item}'; choose one of {', '.join(ENSEMBLES)} or give role=instrument "
                    f"(roles: {', '.join(ROLES)}).")
            name, roles = item.lower(), dict(ENSEMBLES[item.lower()])
            continue
        role, _, inst = (x.strip() for x in item.partition("="))
        role = role.lower()
        if role not in ROLES:
            raise MusicInputError(f"Unknown role '{role}' in --instruments; roles are {', '.join(ROLES)}.")
        if role == "drums":
            if inst.lower() not in DRUM_STYLES:
                raise MusicInputError(f"drums must be one of {', '.join(DRUM_STYLES)}, got '{inst}'.")
            roles["drums"] = None if inst.lower() == "none" else inst.lower()
        else:
            roles[role] = _program(inst)
        custom.append(item)
    return (name + (" + " + ", ".join(custom) if custom else "")), roles


def check_texture(texture: str | None) -> None:
    if texture is not None and texture not in TEXTURES:
        raise MusicInputError(f"Unknown texture '{texture}'; choose one of {', '.join(TEXTURES)}.")


# ------------------------------------------------------------------ the arrangement
@dataclass
class Track:
    """One MIDI track. ``notes``: ``(start, end, pitch, velocity)`` with times in sixteenth steps."""

    name: str
    program: int
    is_drum: bool = False
    notes: list[tuple[float, float, int, int]] = field(default_factory=list)


@dataclass
class Harmony:
    """Chords of a piece in absolute pitch classes.

    Attributes:
        tonic: tonic pitch class; mode: "major" | "minor".
        slots_per_bar: harmonic rhythm (1 or 2 chords per 4/4 bar).
        chords: one ``(root pitch class, pitch classes of the triad)`` per slot.
        names: the Roman numeral of each slot.
        phrase_bars: bars per phrase; contrast: per phrase, True for a contrasting (B/C) phrase.
    """

    tonic: int
    mode: str
    slots_per_bar: int
    chords: list[tuple[int, tuple[int, ...]]]
    names: list[str]
    phrase_bars: int
    contrast: list[bool]


def voice_chord(pcs: tuple[int, ...], melody_low: int, prev: list[int] | None) -> list[int]:
    """A close-position triad (3 notes, ascending MIDI pitches) below ``melody_low - MELODY_CLEARANCE``.

    Among the inversions and octaves that fit under the melody and above ``ACCOMP_FLOOR`` (relaxed down
    to ``ACCOMP_MIN`` when the melody is low), the one moving least from ``prev`` (or, first, the one whose
    top lies closest to 5 semitones under the melody) is chosen.
    """
    top_max = melody_low - MELODY_CLEARANCE
    cands = []
    for floor in (ACCOMP_FLOOR, ACCOMP_MIN, 24):
        for inv in range(3):
            order = [pcs[(inv + i) % 3] for i in range(3)]
            for octave in range(2, 7):
                notes = [order[0] + 12 * octave]
                for pc in order[1:]:
                    n = notes[-1] + 1
                    while n % 12 != pc:
                        n += 1
                    notes.append(n)
                if notes[0] >= floor and notes[-1] <= top_max:
                    cands.append(notes)
        if cands:
            break
    if not cands:  # the melody sits extremely low: put the chord an octave under it regardless
        base = min(pcs) + 12 * max(1, (melody_low - 14) // 12)
        return sorted({base + (pc - min(pcs)) % 12 for pc in pcs})
    if prev:
        return min(cands, key=lambda c: (sum(abs(a - b) for a, b in zip(c, prev)), -c[-1]))
    return min(cands, key=lambda c: abs(c[-1] - (top_max - 2)))


def _nearest(pc: int, ref: int, lo: int, hi: int) -> int:
    best = None
    for p in range(lo, hi + 1):
        if p % 12 == pc % 12 and (best is None or abs(p - ref) < abs(best - ref)):
            best = p
    return best if best is not None else lo + (pc - lo) % 12


def _velocity(base: float, step: float, phrase_steps: int, contrast: bool, accent_scale: float = 1.0) -> int:
    """MIDI velocity at ``step`` (sixteenths): base + phrase arch + metrical accent (+4 in a contrasting phrase)."""
    pos = (step % phrase_steps) / phrase_steps
    swell = PHRASE_SWELL * math.sin(math.pi * pos) - PHRASE_SWELL / 2  # arch over the phrase, mean ~0
    s = int(step) % STEPS_PER_BAR
    accent = 8 if s == 0 else (5 if s == 8 else (2 if s % 4 == 0 else 0))
    return int(min(127, max(1, round(base + swell + accent * accent_scale + (4 if contrast else 0) - 3))))


def arrange(
    melody: list[list[tuple[int, int, int]]],
    harmony: Harmony,
    texture: str,
    roles: dict[str, int | str | None],
    velocity: float,
    articulation: float,
) -> list[Track]:
    """Melody bars (``(step, pitch, length)`` per bar, rendered key) + chords -> tracks.

    Args:
        velocity: the melody's base MIDI velocity (accompaniment -12, bass -6, drums -8).
        articulation: sounding fraction of each melody note's slot (0.6-0.95).
    """
    n_bars = len(melody)
    total = n_bars * STEPS_PER_BAR
    slot = STEPS_PER_BAR // harmony.slots_per_bar
    phrase_steps = harmony.phrase_bars * STEPS_PER_BAR

    def contrast_at(step: float) -> bool:
        i = int(step // phrase_steps)
        return harmony.contrast[min(i, len(harmony.contrast) - 1)] if harmony.contrast else False

    mel = Track("melody", int(roles["melody"]))
    for b, bar in enumerate(melody):
        for s, p, d in bar:
            start = b * STEPS_PER_BAR + s
            length = d if b == n_bars - 1 else max(0.5, d * articulation)
            mel.notes.append((start, start + length, int(p), _velocity(velocity, start, phrase_steps, contrast_at(start))))
    # lowest melody pitch per slot (carried over rests) for the voicing ceiling
    mlow: list[int] = []
    last = min((p for bar in melody for _, p, _ in bar), default=67)
    for i in range(len(harmony.chords)):
        a, b = i * slot, (i + 1) * slot
        ps = [p for st, en, p, _ in mel.notes if st < b and en > a]
        if ps:
            last = min(ps)
        mlow.append(last)

    acc = Track("accompaniment", int(roles["accompaniment"]))
    bass = Track("bass", int(roles["bass"]))
    va, vb = velocity - 12, velocity - 6
    prev_v: list[int] | None = None
    prev_b = 43
    for i, (root, pcs) in enumerate(harmony.chords):
        a = i * slot
        bar = a // STEPS_PER_BAR
        final_bar = bar == n_bars - 1
        cadence_bar = (bar + 1) % harmony.phrase_bars == 0
        v = voice_chord(pcs, mlow[i], prev_v)
        prev_v = v
        c = contrast_at(a)
        lo_b = _nearest(root, prev_b, *BASS_RANGE)
        while lo_b > v[0] - 3 and lo_b - 12 >= BASS_RANGE[0] - 5:
            lo_b -= 12
        prev_b = lo_b
        nxt_root = harmony.chords[i + 1][0] if i + 1 < len(harmony.chords) else root
        if final_bar:  # the closing tonic chord: struck on the downbeat, held
            if a % STEPS_PER_BAR == 0 or slot == STEPS_PER_BAR:
                end = total
                for p in v:
                    acc.notes.append((a, end, p, _velocity(va, a, phrase_steps, c)))
                bass.notes.append((a, end, lo_b, _velocity(vb, a, phrase_steps, c)))
            continue
        simple = cadence_bar and texture in ("alberti", "driving") and (i + 1) % harmony.slots_per_bar == 0
        if texture == "sustained" or simple:
            for p in v:
                acc.notes.append((a, a + slot * 0.98, p, _velocity(va, a, phrase_steps, c)))
        elif texture == "broken":
            seq = [v[0], v[1], v[2], v[1]]
            for k, st in enumerate(range(a, a + slot, 4)):
                acc.notes.append((st, a + slot * 0.98, seq[k % 4], _velocity(va - 2, st, phrase_steps, c, 0.5)))
        elif texture == "alberti":
            seq = [v[0], v[2], v[1], v[2]]
            for k, st in enumerate(range(a, a + slot, 2)):
                acc.notes.append((st, st + 1.8, seq[k % 4], _velocity(va - 4, st, phrase_steps, c, 0.6)))
        else:  # driving
            for st in range(a, a + slot, 2):
                for p in v:
                    acc.notes.append((st, st + 1.5, p, _velocity(va, st, phrase_steps, c, 1.4)))
        # bass
        if texture == "driving":
            for k, st in enumerate(range(a, a + slot, 2)):
                p = lo_b + (12 if k % 2 else 0)
                bass.notes.append((st, st + 1.6, min(p, v[0] - 1), _velocity(vb, st, phrase_steps, c, 1.4)))
        elif texture == "alberti" and slot >= 8:
            half = slot // 2
            fifth = lo_b + 7 if lo_b + 7 < v[0] else lo_b - 5
            bass.notes.append((a, a + half - 1, lo_b, _velocity(vb, a, phrase_steps, c)))
            bass.notes.append((a + half, a + slot - 1, fifth, _velocity(vb - 4, a + half, phrase_steps, c)))
        elif texture == "broken" and nxt_root != root and slot >= 8:
            approach = _nearest(nxt_root, lo_b, *BASS_RANGE)
            step_in = approach - 1 if approach > lo_b else approach + 2
            bass.notes.append((a, a + slot - 4, lo_b, _velocity(vb, a, phrase_steps, c)))
            bass.notes.append((a + slot - 4, a + slot - 0.2, step_in, _velocity(vb - 6, a + slot - 4, phrase_steps, c)))
        else:
            bass.notes.append((a, a + slot * 0.97, lo_b, _velocity(vb, a, phrase_steps, c)))
    tracks = [mel, acc, bass]
    style = roles.get("drums")
    if style:
        tracks.append(_drums(str(style), n_bars, velocity - 8, phrase_steps))
    return tracks


KICK, SNARE, HAT, CRASH, TAMBOURINE = 36, 38, 42, 49, 54


def _drums(style: str, n_bars: int, vel: float, phrase_steps: int) -> Track:
    """A drum kit part (GM channel 10): ``rock`` = kick 1/3, snare 2/4, eighth hats; ``light`` = kick 1/3, tambourine 2/4."""
    t = Track("drums", 0, is_drum=True)
    for b in range(n_bars):
        o = b * STEPS_PER_BAR
        if b == n_bars - 1:
            t.notes += [(o, o + 4, KICK, int(vel + 6)), (o, o + 8, CRASH, int(vel))]
            break
        fill = (b + 1) * STEPS_PER_BAR % phrase_steps == 0
        t.notes += [(o, o + 1, KICK, int(vel + 6)), (o + 8, o + 9, KICK, int(vel + 2))]
        if b % (phrase_steps // STEPS_PER_BAR) == 0:
            t.notes.append((o, o + 4, CRASH, int(vel - 6)))
        if style == "rock":
            t.notes += [(o + 4, o + 5, SNARE, int(vel + 4)), (o + 12, o + 13, SNARE, int(vel + 4))]
            t.notes += [(o + s, o + s + 1, HAT, int(vel - 10 + (4 if s % 4 == 0 else 0))) for s in range(0, 16, 2)]
            if fill:
                t.notes += [(o + 14, o + 15, SNARE, int(vel)), (o + 15, o + 16, SNARE, int(vel + 2))]
        else:
            t.notes += [(o + 4, o + 5, TAMBOURINE, int(vel - 6)), (o + 12, o + 13, TAMBOURINE, int(vel - 6))]
    return t


def to_pretty_midi(tracks: list[Track], tempo_bpm: float, tonic: int, mode: str):
    """Tracks -> ``pretty_midi.PrettyMIDI`` (4/4, key signature, one named instrument per track)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    pm.key_signature_changes.append(pretty_midi.KeySignature(tonic + (12 if mode == "minor" else 0), 0.0))
    step_s = 60.0 / tempo_bpm / 4
    for tr in tracks:
        inst = pretty_midi.Instrument(program=tr.program, is_drum=tr.is_drum, name=tr.name)
        for st, en, p, v in sorted(tr.notes):
            inst.notes.append(pretty_midi.Note(velocity=int(min(127, max(1, v))), pitch=int(p), start=st * step_s,
                                               end=max(st + 0.25, en) * step_s))
        pm.instruments.append(inst)
    return pm
