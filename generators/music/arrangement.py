"""Arrangement: a harmonised melody -> named General MIDI tracks (melody, accompaniment, bass, drums).

Everything here is deterministic given its inputs (the randomness is in the melody and the form plan).

- **Texture** (:data:`TEXTURES`), chosen by emotion unless the user picks one
  (:func:`texture_for`): ``sustained`` block chords for low arousal (calm, sad: Gabrielsson &
  Lindström 2010 - few onsets, legato -> low activity), ``broken`` chords (quarter-note
  arpeggios, pedalled) for moderate arousal, ``alberti`` figures (eighths, low-high-mid-high)
  for positive valence and higher arousal, ``driving`` repeated eighth-note chords over an
  octave bass for negative valence and high arousal (loud, fast, many onsets -> anger).
- **Voicing** (:func:`voice_chord`): close-position chords whose top note stays at least
  ``MELODY_CLEARANCE`` semitones under the lowest melody note of the slot (the accompaniment
  never crosses the tune), above ``ACCOMP_FLOOR``, chosen for the smallest total movement
  from the previous voicing (voice leading).
- **Rhythm by phrase position** (:data:`ACCOMP_PATTERNS`, :data:`BASS_PATTERNS`): each texture has a
  pattern for the first, second and third bar of a phrase and one for its cadence bar, so that
  adjacent bars differ about as much as the chorales' voices do (groove consistency ~0.8).
- **Chords as played** (:func:`with_seventh`): a V that resolves to the tonic becomes V7; the calm
  textures (sustained, broken) add the diatonic seventh to the other chords.
- **Bass**: the chord root in ``BASS_RANGE`` (under the chord), nearest to the previous bass note, with
  fifths, thirds, octaves (driving) and scale-step approach notes into the next bar's root.
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
from typing import Any

from emotive.generators.music.attributes import MusicInputError

STEPS_PER_BAR = 16
TEXTURES = ("sustained", "broken", "alberti", "driving")
MELODY_CLEARANCE = 3  # semitones between the accompaniment's top and the melody's lowest note in a slot
ACCOMP_FLOOR = 48  # C3: lowest accompaniment note when the melody leaves room (else down to ACCOMP_MIN)
ACCOMP_MIN = 41
BASS_RANGE = (35, 55)  # B1..G3: the range where bass lines of the chorales and of cello / bass guitar parts sit
BASS_LOWEST = 28  # E1 (double bass, bass guitar): how far the bass may drop to stay under a low chord
PHRASE_SWELL = 7.0  # velocity units

# General MIDI programs (0-based) by role; "drums" is a kit style (None, "light" or "rock").
ENSEMBLES: dict[str, dict[str, int | str | None]] = {
    "piano": {"melody": 0, "accompaniment": 0, "bass": 0, "drums": None},
    "strings": {"melody": 40, "accompaniment": 48, "bass": 43, "drums": None},
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
    """A close-position chord (one note per pitch class, ascending MIDI pitches) below
    ``melody_low - MELODY_CLEARANCE``.

    Among the inversions and octaves that fit under the melody and above ``ACCOMP_FLOOR`` (relaxed down
    to ``ACCOMP_MIN`` when the melody is low), the one moving least from ``prev`` (or, first, the one whose
    top lies closest to 5 semitones under the melody) is chosen.
    """
    top_max = melody_low - MELODY_CLEARANCE
    n = len(pcs)
    cands = []
    for floor in (ACCOMP_FLOOR, ACCOMP_MIN, 24):
        for inv in range(n):
            order = [pcs[(inv + i) % n] for i in range(n)]
            for octave in range(2, 7):
                notes = [order[0] + 12 * octave]
                for pc in order[1:]:
                    q = notes[-1] + 1
                    while q % 12 != pc:
                        q += 1
                    notes.append(q)
                if notes[0] >= floor and notes[-1] <= top_max:
                    cands.append(notes)
        if cands:
            break
    if not cands:  # the melody sits extremely low: put the chord an octave under it regardless
        base = min(pcs) + 12 * max(1, (melody_low - 14) // 12)
        return sorted({base + (pc - min(pcs)) % 12 for pc in pcs})
    if prev:
        return min(cands, key=lambda c: (sum(abs(a - b) for a, b in zip(c, prev)) + 3 * abs(len(c) - len(prev)), -c[-1]))
    return min(cands, key=lambda c: abs(c[-1] - (top_max - 2)))


def with_seventh(root: int, pcs: tuple[int, ...], tonic: int, mode: str, texture: str, resolves: bool) -> tuple[int, ...]:
    """The chord as the accompaniment plays it: a dominant seventh (root, third, seventh) on a V that resolves to
    the tonic; in the sustained and broken textures (calm, lyrical) every other chord takes its diatonic seventh
    too (root, third, fifth, seventh), as in lyrical pop and jazz ballad voicings."""
    if texture == "driving":
        return pcs
    if root == (tonic + 7) % 12 and pcs[1] == (root + 4) % 12 and resolves:
        return (pcs[0], pcs[1], (root + 10) % 12)
    if texture in ("sustained", "broken"):
        scale = [(tonic + k) % 12 for k in (MAJOR_STEPS if mode == "major" else MINOR_STEPS)]
        if root in scale:
            seventh = scale[(scale.index(root) + 6) % 7]
            return (*pcs, seventh)
    return pcs


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
    scale = [(harmony.tonic + k) % 12 for k in (MAJOR_STEPS if harmony.mode == "major" else MINOR_STEPS)]
    # voicings and bass roots per slot (voice leading from slot to slot)
    voicings, roots = [], []
    prev_v: list[int] | None = None
    prev_b = 43
    for i, (root, pcs) in enumerate(harmony.chords):
        nxt = harmony.chords[i + 1][0] if i + 1 < len(harmony.chords) else root
        v = voice_chord(pcs, mlow[i], prev_v)
        if i < len(harmony.chords) - harmony.slots_per_bar:  # the closing tonic stays a plain triad
            v7 = voice_chord(with_seventh(root, pcs, harmony.tonic, harmony.mode, texture, nxt == harmony.tonic),
                             mlow[i], prev_v)
            if v7[0] >= ACCOMP_FLOOR:  # a close seventh chord low in the bass register is mud: keep the triad there
                v = v7
        lo_b = _nearest(root, prev_b, *BASS_RANGE)
        while lo_b > v[0] - 5 and lo_b - 12 >= BASS_LOWEST:  # clear of the chord (a third at least) when room allows
            lo_b -= 12
        voicings.append(v)
        roots.append(lo_b)
        prev_v, prev_b = v, lo_b
    for bar in range(n_bars):
        o = bar * STEPS_PER_BAR
        c = contrast_at(o)
        if bar == n_bars - 1:  # the closing tonic chord: struck on the downbeat and held, tonic in the bass
            i = bar * harmony.slots_per_bar
            acc.notes += [(o, total, p, _velocity(va, o, phrase_steps, c)) for p in voicings[i]]
            bass.notes.append((o, total, roots[i], _velocity(vb, o, phrase_steps, c)))
            break
        pos = bar % harmony.phrase_bars
        if pos == harmony.phrase_bars - 1:
            pos = 3  # the cadence bar pattern, whatever the phrase length
        for step, length, voice in ACCOMP_PATTERNS[texture][min(pos, 3)]:
            i = (o + step) // slot
            end = min(o + step + length, (i + 1) * slot) if texture in ("broken", "sustained") else o + step + length
            v = voicings[i]
            notes = v if voice == "all" else [v[int(voice)]]
            vel = _velocity(va - (2 if voice != "all" else 0), o + step, phrase_steps, c, 1.4 if texture == "driving" else 0.6)
            acc.notes += [(o + step, end - 0.1, p, vel) for p in notes]
        for step, length, what in BASS_PATTERNS[texture][min(pos, 3)]:
            i = (o + step) // slot
            r = roots[i]
            nxt_i = min(len(roots) - 1, (o + STEPS_PER_BAR) // slot)
            if what == "root":
                p = r
            elif what == "octave":
                p = r + 12 if r + 12 < voicings[i][0] else r
            elif what == "fifth":
                p = _nearest(harmony.chords[i][1][2], r + 5, r - 6, r + 8)
            elif what == "third":
                p = _nearest(harmony.chords[i][1][1], r + 3, r - 9, r + 5)
            else:  # approach: the scale tone next to the coming bar's bass note
                target = roots[nxt_i]
                below = [q for q in range(target - 2, target) if q % 12 in scale]
                above = [q for q in range(target + 1, target + 3) if q % 12 in scale]
                p = (below[-1] if below and (r <= target or not above) else above[0]) if (below or above) else r
            while p >= voicings[i][0] and p - 12 >= BASS_LOWEST:  # under the chord, same pitch class
                p -= 12
            bass.notes.append((o + step, o + step + length - 0.2, p, _velocity(vb, o + step, phrase_steps, c,
                                                                                 1.4 if texture == "driving" else 1.0)))
    tracks = [mel, acc, bass]
    style = roles.get("drums")
    if style:
        tracks.append(_drums(str(style), n_bars, velocity - 8, phrase_steps))
    return tracks


MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor (the raised leading tone of the V chord)

# Accompaniment rhythm per texture and phrase position (bar 1, bar 2, bar 3, cadence bar):
# (step, length in sixteenths, "all" = the whole voicing or 0/1/2 = its low/middle/top note). The bars of a
# phrase differ a little (as in the chorales, whose voices change rhythm from bar to bar) and the cadence bar
# settles into longer chords. Sustained and broken notes are held to the end of their harmonic slot.
_Q: list[tuple[int, int, str | int]] = [(0, 16, 0), (4, 12, 1), (8, 8, 2), (12, 4, 1)]
ACCOMP_PATTERNS: dict[str, list[list[tuple[int, int, str | int]]]] = {
    "sustained": [[(0, 16, "all")], [(0, 12, "all"), (12, 4, 2)], [(0, 8, "all"), (8, 8, "all")], [(0, 16, "all")]],
    "broken": [_Q, [(0, 16, 0), (4, 12, 1), (6, 10, 2), (8, 8, 0), (12, 4, 1), (14, 2, 2)],
               [(0, 16, 0), (2, 14, 1), (4, 12, 2), (8, 8, 0), (10, 6, 1), (12, 4, 2)], [(0, 8, "all"), (8, 8, "all")]],
    "alberti": [[(s, 2, (0, 2, 1, 2)[k % 4]) for k, s in enumerate(range(0, 16, 2))],
                [(s, 2, (0, 2, 1, 2)[k % 4]) for k, s in enumerate(range(0, 8, 2))] + [(8, 4, "all"), (12, 4, "all")],
                [(s, 2, (0, 2, 1, 2)[k % 4]) for k, s in enumerate(range(0, 16, 2))],
                [(0, 6, "all"), (6, 2, 2), (8, 8, "all")]],
    "driving": [[(s, 2, "all") for s in range(0, 16, 2)],
                [(s, 2, "all") for s in range(0, 12, 2)] + [(12, 4, "all")],
                [(0, 3, "all"), (3, 3, "all"), (6, 2, "all"), (8, 3, "all"), (11, 3, "all"), (14, 2, "all")],
                [(0, 6, "all"), (6, 6, "all"), (12, 4, "all")]],
}
BASS_PATTERNS: dict[str, list[list[tuple[int, int, str]]]] = {
    "sustained": [[(0, 12, "root"), (12, 4, "approach")], [(0, 8, "root"), (8, 4, "third"), (12, 4, "approach")],
                  [(0, 8, "root"), (8, 8, "third")], [(0, 8, "root"), (8, 4, "fifth"), (12, 4, "approach")]],
    "broken": [[(0, 8, "root"), (8, 4, "fifth"), (12, 4, "approach")], [(0, 12, "root"), (12, 4, "approach")],
               [(0, 6, "root"), (6, 2, "root"), (8, 4, "third"), (12, 4, "approach")],
               [(0, 8, "root"), (8, 4, "fifth"), (12, 4, "approach")]],
    "alberti": [[(0, 4, "root"), (8, 4, "fifth"), (12, 4, "approach")], [(0, 4, "root"), (4, 4, "third"), (8, 4, "fifth"),
                                                                         (12, 4, "approach")],
                [(0, 6, "root"), (6, 2, "third"), (8, 4, "fifth"), (12, 4, "root")],
                [(0, 8, "root"), (8, 4, "fifth"), (12, 4, "approach")]],
    "driving": [[(s, 2, "root" if k % 2 == 0 else "octave") for k, s in enumerate(range(0, 12, 2))]
                + [(12, 2, "fifth"), (14, 2, "approach")],
                [(s, 2, "root" if k % 2 == 0 else "octave") for k, s in enumerate(range(0, 12, 2))] + [(12, 4, "approach")],
                [(0, 3, "root"), (3, 3, "root"), (6, 2, "octave"), (8, 3, "root"), (11, 3, "third"), (14, 2, "approach")],
                [(0, 6, "root"), (6, 6, "root"), (12, 4, "approach")]],
}

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


def to_pretty_midi(tracks: list[Track], tempo_bpm: float, tonic: int, mode: str) -> Any:
    """Tracks -> ``pretty_midi.PrettyMIDI`` (4/4, key signature, one named instrument per track; times from
    sixteenth steps at ``tempo_bpm``)."""
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
