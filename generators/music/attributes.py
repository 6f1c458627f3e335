"""Emotion -> musical attribute targets (the generator's side of the emotion <-> music mapping).

The judge (``emotive.evaluators.music.emotion``) maps measured attributes back to
valence/arousal with its own formulas; both follow the same literature:

- Mode is the strongest valence cue: major -> happiness/serenity, minor ->
  sadness/anger/fear (Gabrielsson & Lindström 2010, Table 14.2; Eerola, Friberg &
  Bresin 2013, Frontiers in Psychology 4:487, where mode explains the largest share
  of valence ratings). We pick **major for valence >= 0, minor below**.
- Tempo is the strongest arousal cue (Eerola et al. 2013; Gabrielsson & Lindström
  2010: fast -> activity, happiness, anger; slow -> calm, sadness, tenderness;
  Juslin & Laukka 2004, Table 6: happiness/anger fast, sadness/tenderness slow).
  **tempo = 96 + 56·arousal BPM**, clipped to 40-200 (96 BPM is a moderate tempo;
  sad music in Juslin & Laukka's summary is slow, ~60-80 BPM, happy/angry fast).
- Note density and loudness follow arousal (Gabrielsson & Lindström 2010: many
  notes / loud -> activity, anger, joy; few notes / soft -> sadness, tenderness):
  density class from arousal thresholds below; **velocity = 70 + 34·arousal**.
- Articulation: staccato -> gaiety, activity; legato -> sadness, tenderness
  (Gabrielsson & Lindström 2010; Juslin & Laukka 2004): **sounding fraction
  = 0.95 − 0.35·max(arousal, 0)** of each note's slot.
- Register: high pitch -> happiness, activity; low pitch -> sadness, seriousness
  (Gabrielsson & Lindström 2010; Eerola et al. 2013 find register a weaker,
  mostly valence cue): **mean pitch target = 67 + 7·(0.6·valence + 0.4·arousal)**.

Every target can be overridden by the user (``tempo``, ``mode``, ``density``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from emotive.conditioning import Emotion, EmotiveError

# onsets per 4/4 bar: class upper bounds (class i holds densities <= DENSITY_EDGES[i])
DENSITY_EDGES = (4, 6, 8, 11, 16)
DENSITY_CENTRES = (3.0, 5.5, 7.5, 10.0, 13.0)
REGISTER_EDGES = (71.0, 75.0)  # mean pitch of a training window (tonic C space): tertiles of the corpus
TEMPO_RANGE = (40.0, 200.0)


class MusicInputError(EmotiveError):
    """A bad composition request (bars, tempo, mode, density)."""


def density_class(onsets_per_bar: float) -> int:
    """Onsets per bar -> class 0..4 (see ``DENSITY_EDGES``)."""
    for i, edge in enumerate(DENSITY_EDGES):
        if onsets_per_bar <= edge:
            return i
    return len(DENSITY_EDGES) - 1


def register_class(mean_pitch: float) -> int:
    """Mean MIDI pitch (in the model's C-normalised space) -> 0 low, 1 middle, 2 high."""
    return 0 if mean_pitch < REGISTER_EDGES[0] else (1 if mean_pitch < REGISTER_EDGES[1] else 2)


@dataclass(frozen=True)
class AttributeTargets:
    """What a piece should sound like. Units: BPM, onsets per bar, MIDI pitch/velocity."""

    mode: str  # "major" | "minor"
    tempo_bpm: float
    density: float  # onsets per bar (the prior's density class is derived from it)
    register: float  # target mean MIDI pitch of the rendered melody
    velocity: float
    articulation: float  # fraction of each note's slot that sounds

    @property
    def density_class(self) -> int:
        return density_class(self.density)

    @property
    def mode_index(self) -> int:
        return 0 if self.mode == "major" else 1

    def to_dict(self) -> dict:
        return asdict(self)


def density_from_arousal(arousal: float) -> float:
    """Onsets per bar for an arousal value: 3 (a <= -0.5) ... 13 (a > 0.75), piecewise by class."""
    if arousal <= -0.5:
        return DENSITY_CENTRES[0]
    if arousal <= -0.1:
        return DENSITY_CENTRES[1]
    if arousal <= 0.3:
        return DENSITY_CENTRES[2]
    if arousal <= 0.75:
        return DENSITY_CENTRES[3]
    return DENSITY_CENTRES[4]


def targets_from_emotion(
    emotion: Emotion,
    tempo: float | None = None,
    mode: str | None = None,
    density: float | None = None,
) -> AttributeTargets:
    """Attribute targets for an emotion (formulas in the module docstring); faders override."""
    v, a = emotion.valence, emotion.arousal
    bad_tempo = not (isinstance(tempo, int | float) and math.isfinite(tempo) and TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1])
    if tempo is not None and bad_tempo:
        raise MusicInputError(f"tempo must be between {TEMPO_RANGE[0]:g} and {TEMPO_RANGE[1]:g} BPM, got {tempo}.")
    if mode is not None and mode not in ("major", "minor"):
        raise MusicInputError(f"mode must be 'major' or 'minor', got {mode!r}.")
    if density is not None and (not math.isfinite(density) or not 1 <= density <= 16):
        raise MusicInputError(f"density must be between 1 and 16 notes per bar, got {density}.")
    return AttributeTargets(
        mode=mode or ("major" if v >= 0 else "minor"),
        tempo_bpm=float(tempo) if tempo is not None else float(min(max(96.0 + 56.0 * a, 40.0), 200.0)),
        density=float(density) if density is not None else density_from_arousal(a),
        register=67.0 + 7.0 * (0.6 * v + 0.4 * a),
        velocity=float(min(max(70.0 + 34.0 * a, 25.0), 120.0)),
        articulation=0.95 - 0.35 * max(a, 0.0),
    )


def register_class_for(targets: AttributeTargets) -> int:
    """The prior's register class for a target (low / middle / high third of the corpus); the rendered key is
    then shifted to the exact target register."""
    r = (targets.register - 67.0) / 7.0  # = 0.6 valence + 0.4 arousal
    return 0 if r < -0.2 else (2 if r > 0.2 else 1)


def training_emotion(mode: str, onsets_per_bar: float, mean_pitch: float) -> Emotion:
    """The emotion a training piece is paired with (the data has no emotion labels):
    the inverse of :func:`targets_from_emotion` on the attributes a score carries
    (mode -> valence sign, density -> arousal, register -> a little of both)."""
    v = (0.55 if mode == "major" else -0.55) + 0.03 * (mean_pitch - 67.0)
    a = {0: -0.7, 1: -0.3, 2: 0.1, 3: 0.5, 4: 0.85}[density_class(onsets_per_bar)]
    clip = lambda x: max(-1.0, min(1.0, x))  # noqa: E731
    return Emotion.from_vad(clip(v), clip(a))


# ------------------------------------------------------------------ modal rewriting
MAJOR_TO_MINOR = {4: 3, 9: 8, 11: 10}  # scale degrees 3, 6, 7 lowered (major -> natural minor, same tonic)
MINOR_TO_MAJOR = {3: 4, 8: 9, 10: 11}


def rewrite_mode(bars: list[list[tuple[int, int, int]]], tonic: int, to: str) -> list[list[tuple[int, int, int]]]:
    """Major <-> minor on the same tonic (the valence counterfactual of a melody)."""
    table = MAJOR_TO_MINOR if to == "minor" else MINOR_TO_MAJOR
    out = []
    for bar in bars:
        nb = []
        for s, p, d in bar:
            deg = (p - tonic) % 12
            nb.append((s, p + table.get(deg, deg) - deg, d))
        out.append(nb)
    return out
