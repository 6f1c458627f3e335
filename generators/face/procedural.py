"""Procedural face motion: the training data of the motion diffusion model.

motion(t) = visemes(phones; coarticulation) ⊕ expression(emotion) + blinks + head motion,
with randomised style parameters so a model trained on it learns a distribution
of plausible performances, not one curve. Everything random comes from the
passed ``numpy.random.Generator`` (or seed).

Sources for the numbers (each also cited next to its constant):
- blink rate ~17/min at rest, ~26/min in conversation (Bentivoglio et al. 1997,
  "Analysis of blink rate patterns in normal subjects", Movement Disorders 12(6));
  blink closing ~100 ms and reopening ~2x slower (Stern, Walrath & Goldstein 1984,
  "The endogenous eyeblink", Psychophysiology 21(1));
- head motion follows speech prosody/energy (Munhall et al. 2004, "Visual prosody
  and speech intelligibility", Psychological Science 15(2)); its amplitude and
  mean posture change with emotion (Busso et al. 2007, "Rigid head motion in
  expressive speech animation", IEEE TASLP 15(3)): larger for high arousal, head
  lowered in sadness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from emotive.conditioning import LABELS, Emotion
from emotive.evaluators.face.blendshapes import BLENDSHAPE_INDEX, NUM_BLENDSHAPES
from emotive.generators.face.expressions import expression_blendshapes
from emotive.generators.face.motion import FPS, FaceMotion, lids_follow_gaze
from emotive.generators.face.phones import SILENCE, Phone
from emotive.generators.face.visemes import viseme_curves

BLINKS_PER_MIN_REST = 17.0  # Bentivoglio et al. 1997
BLINKS_PER_MIN_TALKING = 26.0  # Bentivoglio et al. 1997 (conversation)
BLINK_CLOSE_S = 0.10  # Stern et al. 1984: fast closing ...
BLINK_OPEN_S = 0.20  # ... slower reopening
HEAD_DOWN_SIGN = 1.0
"""Sign of ``pitch`` that lowers the head (chin down) in MediaPipe's pose convention (+x rotation brings the
top of the head toward the camera), checked by rendering: a positive pitch moves the eyes down in the frame and
MediaPipe re-reads the rendered pose with the same sign (tests/generators/face/test_render.py)."""

ENERGY_JAW_RANGE = (0.6, 1.4)
"""Spread of ``MotionStyle.energy_jaw``: the viseme jaw opening is scaled by ``1 - k/2 + k * loudness`` (loudness in
[0, 1], :func:`energy_envelope`), so loud syllables open the jaw wider than quiet ones, as measured in loud vs
normal speech (Schulman 1989, "Articulatory dynamics of loud and normal speech", JASA 85(1)). v4 used (0.3, 0.7):
the procedural jaw's correlation with loudness was 0.685 on 60 held-out corpus rows; (0.6, 1.4): 0.723."""

_I = BLENDSHAPE_INDEX
_MOUTH_SHAPES = [i for n, i in _I.items() if n.startswith(("mouth", "jaw"))]


@dataclass
class MotionStyle:
    """Randomised style of one take (the variation the diffusion model should learn)."""

    articulation: float = 1.0  # viseme target scale
    coarticulation: float = 1.0  # theta scale (<1: smoother)
    lead_s: float = 0.02  # visual lead over the audio
    expression_gain: float = 1.0
    expression_wobble: float = 0.08  # slow relative fluctuation of the expression
    asymmetry: float = 0.0  # left/right imbalance of the expression
    blink_rate_scale: float = 1.0
    head_gain: float = 1.0
    energy_jaw: float = 1.0  # how much loudness opens the jaw further (ENERGY_JAW_RANGE)

    @classmethod
    def sample(cls, rng: np.random.Generator) -> MotionStyle:
        return cls(
            articulation=float(rng.uniform(0.8, 1.2)),
            coarticulation=float(rng.uniform(0.75, 1.3)),
            lead_s=float(rng.uniform(0.0, 0.04)),
            expression_gain=float(rng.uniform(0.8, 1.15)),
            expression_wobble=float(rng.uniform(0.03, 0.12)),
            asymmetry=float(rng.normal(0.0, 0.06)),
            blink_rate_scale=float(rng.uniform(0.7, 1.3)),
            head_gain=float(rng.uniform(0.6, 1.4)),
            energy_jaw=float(rng.uniform(*ENERGY_JAW_RANGE)),
        )


def energy_envelope(audio: np.ndarray, sr: int, num_frames: int, fps: float = FPS) -> np.ndarray:
    """Loudness per video frame [T] in [0, 1]: RMS over a 2-frame window, in dB, mapped from
    [peak - 40 dB, peak] to [0, 1] (peak = 98th percentile)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    hop = sr / fps
    out = np.zeros(num_frames)
    for i in range(num_frames):
        a = int(max(0, (i - 0.5) * hop))
        b = int(min(len(x), (i + 1.5) * hop))
        if b > a:
            out[i] = np.sqrt(np.mean(x[a:b] ** 2) + 1e-12)
    db = 20 * np.log10(out + 1e-9)
    peak = np.percentile(db, 98) if num_frames else 0.0
    return np.clip((db - (peak - 40.0)) / 40.0, 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, n: int, tau_s: float, fps: float) -> np.ndarray:
    """Unit-variance Ornstein-Uhlenbeck noise [n] with time constant ``tau_s``."""
    a = np.exp(-1.0 / (tau_s * fps))
    e = rng.normal(size=n) * np.sqrt(1 - a * a)
    out = np.empty(n)
    x = rng.normal()
    for i in range(n):
        x = a * x + e[i]
        out[i] = x
    return out


def _blink_track(
    n: int, fps: float, rate_per_min: float, rng: np.random.Generator, slow: float
) -> np.ndarray:
    """Eyelid closure [n] in [0, 1]: blinks at gamma-distributed intervals (shape 3: fairly regular)."""
    out = np.zeros(n)
    mean_gap = 60.0 / max(rate_per_min, 1.0)
    t = rng.uniform(0.3, mean_gap)
    while t < n / fps:
        close, hold, open_ = BLINK_CLOSE_S * slow, rng.uniform(0.0, 0.04) * slow, BLINK_OPEN_S * slow
        depth = 1.0 if rng.random() > 0.15 else rng.uniform(0.6, 0.9)  # some blinks are partial
        tt = np.arange(n) / fps - t
        up = np.clip(tt / close, 0, 1)
        down = np.clip(1 - (tt - close - hold) / open_, 0, 1)
        shape = np.where(tt < close, up, np.where(tt < close + hold, 1.0, down))
        shape = np.where((tt < 0) | (tt > close + hold + open_), 0.0, shape)
        out = np.maximum(out, depth * np.sin(shape * np.pi / 2) ** 2)
        t += close + hold + open_ + rng.gamma(3.0, mean_gap / 3.0)
    return out


def _bandpass_energy(energy: np.ndarray, fps: float) -> np.ndarray:
    """Energy's 0.5-4 Hz component (syllable/phrase rhythm) via a difference of moving averages."""

    def ma(x, w):
        w = max(1, round(w))
        k = np.ones(w) / w
        return np.convolve(np.pad(x, (w, w), mode="edge"), k, mode="same")[w:-w]

    return ma(energy, fps / 8) - ma(energy, fps / 1.0)


def synthesize_motion(
    phones: Sequence[Phone],
    emotion: Emotion | str = "neutral",
    duration: float | None = None,
    audio: np.ndarray | None = None,
    sr: int | None = None,
    rng: np.random.Generator | int | None = 0,
    style: MotionStyle | None = None,
    fps: float = FPS,
) -> FaceMotion:
    """Procedural talking-face motion for timed phones, an emotion, and (optionally) the audio.

    Args:
        phones: timed ARPAbet phones (s), e.g. from a corpus manifest row or ``phones_from_text``.
        emotion: ``Emotion`` or any string ``Emotion.parse`` accepts.
        duration: seconds (default: the audio's length, else the last phone's end).
        audio, sr: mono waveform and its rate; its energy drives jaw amplitude and head nods.
        rng: numpy Generator or seed; ``style=None`` samples a random :class:`MotionStyle` from it.
        style: fixed style (e.g. ``MotionStyle()`` for the plain, deterministic-average take).
    Returns:
        FaceMotion with ``meta`` = {"emotion", "style", "source": "procedural"}.
    """
    e = Emotion.parse(emotion) if isinstance(emotion, str) else emotion
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    style = style if style is not None else MotionStyle.sample(rng)
    if duration is None:
        if audio is not None and sr:
            duration = len(audio) / sr
        elif phones:
            duration = max(p.end for p in phones)
        else:
            duration = 1.0
    n = max(1, round(duration * fps))
    t = np.arange(n) / fps

    speaking = np.zeros(n, bool)
    for p in phones:
        if p.phone != SILENCE:
            speaking[(t >= p.start) & (t < p.end)] = True
    if audio is not None and sr:
        energy = energy_envelope(audio, sr, n, fps)
    else:  # no audio: loudness ~ 0.8 while speaking, smoothed
        k = np.ones(3) / 3
        energy = np.convolve(speaking.astype(float) * 0.8, k, mode="same")

    # 1. Visemes (+ loudness opens the jaw further).
    vis = viseme_curves(phones, n, fps, style.articulation, style.coarticulation, style.lead_s)
    jaw = _I["jawOpen"]
    vis[:, jaw] *= 1.0 - style.energy_jaw * 0.5 + style.energy_jaw * energy

    # 2. Expression, with a slow wobble, onset ramp and left/right asymmetry.
    expr = expression_blendshapes(e) * style.expression_gain
    wobble = 1.0 + style.expression_wobble * _smooth_noise(rng, n, 1.5, fps)
    onset = np.clip(t / rng.uniform(0.2, 0.6), 0, 1)
    onset = onset * onset * (3 - 2 * onset)  # smoothstep
    ex = expr[None, :] * (wobble * onset)[:, None]
    left = np.array([n.endswith("Left") for n in _I], bool)
    right = np.array([n.endswith("Right") for n in _I], bool)
    ex[:, left] *= 1 + style.asymmetry
    ex[:, right] *= 1 - style.asymmetry

    # 3. Combine: visemes add to the expression; lip closure for /p b m/ wins over an expression's open jaw.
    bs = np.clip(ex + vis, 0, 1)
    closure = np.clip(vis[:, _I["mouthPressLeft"]] / 0.35, 0, 1)
    bs[:, jaw] = vis[:, jaw] + ex[:, jaw] * (1 - closure)
    # Speaking with a smile narrows it less than stretch/pucker would suggest: keep the larger smile.
    for side in ("Left", "Right"):
        i = _I["mouthSmile" + side]
        bs[:, i] = np.maximum(ex[:, i], vis[:, i])

    # 4. Blinks: more while talking and with arousal; slower when sad/calm (low arousal).
    talk_frac = float(speaking.mean())
    rate = (BLINKS_PER_MIN_REST + (BLINKS_PER_MIN_TALKING - BLINKS_PER_MIN_REST) * talk_frac) * (
        1 + 0.3 * e.arousal * e.intensity
    )
    slow = 1.0 + 0.4 * max(0.0, -e.arousal * e.intensity)
    blink = _blink_track(n, fps, rate * style.blink_rate_scale, rng, slow)
    lid_base = bs[:, [_I["eyeBlinkLeft"], _I["eyeBlinkRight"]]]
    bs[:, _I["eyeBlinkLeft"]] = np.maximum(lid_base[:, 0], blink)
    bs[:, _I["eyeBlinkRight"]] = np.maximum(lid_base[:, 1], np.clip(blink + rng.normal(0, 0.02, n), 0, 1))
    # eyeWide fights blinks: a blink closes a wide eye too.
    for side in ("Left", "Right"):
        bs[:, _I["eyeWide" + side]] *= 1 - blink

    # 5. Head: nods with the energy rhythm, slow drift, emotion-dependent posture and amplitude.
    arousal = e.arousal * e.intensity
    amp = style.head_gain * (1.0 + 0.6 * arousal)
    nod = _bandpass_energy(energy, fps)
    nod = nod / (np.abs(nod).max() + 1e-6)
    pitch = amp * (2.0 * nod * HEAD_DOWN_SIGN + 1.0 * _smooth_noise(rng, n, 2.0, fps))
    yaw = amp * 2.0 * _smooth_noise(rng, n, 2.5, fps)
    roll = amp * 1.0 * _smooth_noise(rng, n, 3.0, fps)
    # Posture (Busso et al. 2007): head lowered in sadness, raised in surprise, chin down in anger.
    posture = {"sad": 4.0, "angry": 2.0, "surprised": -2.5, "fearful": 1.5, "happy": -1.0}
    pitch += (
        HEAD_DOWN_SIGN
        * sum(posture.get(lbl, 0.0) * p for lbl, p in zip(LABELS, e.probs))
        * (e.intensity * onset)
    )
    rot = np.stack([pitch, yaw, roll], axis=1)
    trans = np.stack([0.05 * yaw, -0.03 * pitch, 0.1 * _smooth_noise(rng, n, 3.0, fps)], axis=1)
    bs = lids_follow_gaze(bs)
    motion = FaceMotion(bs, rot, trans, fps)
    motion.meta = {"source": "procedural", "emotion": str(e), "style": asdict(style)}
    assert motion.blendshapes.shape[1] == NUM_BLENDSHAPES
    return motion
