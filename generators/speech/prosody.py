"""Rule-based emotional prosody on WORLD: any speech WAV in, the same words with an emotion out.

``ProsodyParams.from_emotion(e)`` turns an :class:`Emotion` into a continuous
set of prosodic modifications; ``apply_prosody`` performs them by WORLD
(``pyworld``) analysis -> parameter edits -> resynthesis;
``ProsodyPipeline`` is the user-facing pipeline (``emotive convert``).

How an emotion becomes parameters: every canonical label has a full-intensity
rule profile (table ``LABEL_RULES`` below, numbers chosen to realise the
directions and relative sizes reported in the literature). An emotion's
parameters are the probability-weighted mix of profile deltas from neutral,
scaled by its intensity (multiplicative parameters mix in the log domain), plus
a dimensional correction for VAD points that are off the label centroids
(arousal/valence/dominance rules after Schröder 2004). Intensity 0 gives the
identity, intensity scales every delta linearly, so the mapping is continuous.

Sources:
  [MA93] Murray, I. R. & Arnott, J. L. (1993). Toward the simulation of emotion in
         synthetic speech: a review of the literature on human vocal emotion.
         JASA 93(2), 1097-1108, Table I.
  [JL03] Juslin, P. N. & Laukka, P. (2003). Communication of emotions in vocal
         expression and music performance. Psychological Bulletin 129(5), 770-814,
         Table 7 (cue patterns: rate, intensity, F0 level/variability, high-frequency
         energy, jitter, contours).
  [S01]  Schröder, M. (2001). Emotional speech synthesis: a review. Eurospeech 2001,
         Table 1 (rule values of Cahn 1990, Murray & Arnott 1995, Burkhardt 2000 ...).
  [S04]  Schröder, M. (2004). Dimensional emotion representation as a basis for
         speech synthesis with non-extreme emotions. ADS 2004 (rules per arousal,
         valence and power/dominance).
  [B00]  Burkhardt, F. & Sendlmeier, W. (2000). Verification of acoustical
         correlates of emotional speech using formant synthesis. ISCA Workshop on
         Speech and Emotion (fear: +~150% F0 mean, jitter; boredom/calm: slower, lower).
  [SC86] Scherer, K. R. (1986). Vocal affect expression: a review and a model for
         future research. Psych. Bulletin 99(2) (sadness/calm: low HF energy; anger: high).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from emotive.conditioning import LABELS, VAD_CENTROIDS, Emotion, EmotiveError
from emotive.conditioning.emotion import vad_from_probs

FRAME_PERIOD_MS = 5.0


@dataclass(frozen=True)
class ProsodyParams:
    """Prosodic modification relative to the input (neutral values = identity).

    Attributes:
        f0_shift: mean F0 change in semitones.
        f0_range: factor on F0 excursions around the utterance mean (semitone domain).
        declination: extra F0 slope over the utterance, semitones per second.
        final_contour: semitones added at the end of the last voiced stretch (+ rise, - fall),
            ramped in over ``FINAL_SPAN`` s.
        emphasis: extra factor on upward F0 excursions only (accent peaks).
        jitter: relative cycle-to-cycle F0 perturbation (0.01 = 1 %), smoothed over ~10 ms.
        tremor: semitones of 5.5 Hz F0 modulation.
        tempo: speaking-rate factor for speech (> 1 faster).
        pause: duration factor for pauses (applied on top of tempo).
        energy_db: overall level change in dB.
        tilt_db: spectral tilt change in dB per octave above 500 Hz (+ brighter/tense, - softer).
        breathiness: 0..1, raises aperiodicity (more above 1 kHz).
    """

    f0_shift: float = 0.0
    f0_range: float = 1.0
    declination: float = 0.0
    final_contour: float = 0.0
    emphasis: float = 0.0
    jitter: float = 0.0
    tremor: float = 0.0
    tempo: float = 1.0
    pause: float = 1.0
    energy_db: float = 0.0
    tilt_db: float = 0.0
    breathiness: float = 0.0

    MULTIPLICATIVE = ("f0_range", "tempo", "pause")

    def is_identity(self) -> bool:
        return self == ProsodyParams()

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProsodyParams:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise EmotiveError(f"Unknown prosody parameters: {', '.join(sorted(unknown))}.")
        return cls(**{k: float(v) for k, v in d.items()})

    @classmethod
    def from_emotion(cls, emotion: Emotion | str) -> ProsodyParams:
        """The rule mapping (module docstring). Continuous in probs, VAD and intensity."""
        e = Emotion.parse(emotion)
        if e.intensity <= 0:
            return cls()
        out: dict[str, float] = {}
        for f in fields(cls):
            base = getattr(NEUTRAL, f.name)
            if f.name in cls.MULTIPLICATIVE:
                logd = sum(p * math.log(getattr(LABEL_RULES[lab], f.name) / base) for p, lab in zip(e.probs, LABELS))
                out[f.name] = base * math.exp(e.intensity * logd)
            else:
                d = sum(p * (getattr(LABEL_RULES[lab], f.name) - base) for p, lab in zip(e.probs, LABELS))
                out[f.name] = base + e.intensity * d
        # VAD off the label mix's centroid point: dimensional rules [S04].
        ref = vad_from_probs(e.probs, e.intensity)
        dv, da, dd = (e.vad[i] - ref[i] for i in range(3))
        out["f0_shift"] += 6.0 * da - 1.0 * dd  # [S04] arousal: higher F0 (+~50% at a=1 -> ~6 st)
        out["f0_range"] *= math.exp(0.4 * da + 0.1 * dv)  # [S04] arousal widens range
        out["tempo"] *= math.exp(0.15 * da)  # [S04] arousal: faster (~+15 %)
        out["energy_db"] += 5.0 * da + 2.0 * dd  # [S04] arousal/power: louder
        out["tilt_db"] += 2.0 * da  # [S04] arousal: flatter spectral slope (more HF energy)
        out["final_contour"] += 1.5 * dv  # [S04] positive valence: rising rather than falling ends
        out["breathiness"] = min(1.0, max(0.0, out["breathiness"] - 0.2 * dd))
        out["jitter"] = max(0.0, out["jitter"])
        out["tremor"] = max(0.0, out["tremor"])
        return cls(**out)

    def perturbed(self, rng: np.random.Generator, scale: float = 0.15) -> ProsodyParams:
        """Per-utterance variation for the corpus: each delta from neutral is scaled by
        ``1 + N(0, scale)`` (log domain for multiplicative ones), plus a small absolute jitter."""
        out = {}
        for f in fields(self):
            v, base = getattr(self, f.name), getattr(NEUTRAL, f.name)
            k = float(np.exp(rng.normal(0.0, scale)))
            if f.name in self.MULTIPLICATIVE:
                out[f.name] = base * (v / base) ** k * float(np.exp(rng.normal(0.0, 0.02)))
            else:
                noise = {"f0_shift": 0.3, "energy_db": 0.5, "tilt_db": 0.3, "final_contour": 0.3, "declination": 0.2}.get(f.name, 0.0)
                out[f.name] = base + (v - base) * k + float(rng.normal(0.0, noise))
        out["jitter"] = max(0.0, out["jitter"])
        out["tremor"] = max(0.0, out["tremor"])
        out["breathiness"] = min(1.0, max(0.0, out["breathiness"]))
        out["emphasis"] = max(0.0, out["emphasis"])
        return ProsodyParams(**out)


NEUTRAL = ProsodyParams()

# Full-intensity profiles. Direction words in comments are [MA93] Table I unless noted.
LABEL_RULES: dict[str, ProsodyParams] = {
    "neutral": NEUTRAL,
    # calm/relaxed ~ "tenderness" in [JL03]: slow rate, low intensity, low F0, low F0 variability,
    # little HF energy [JL03][SC86]; relaxation: slower, lower, narrower but smooth, regular voicing
    # (no jitter, no strong declination: that is what separates it from sadness) [S01][B00].
    "calm": ProsodyParams(f0_shift=-1.0, f0_range=0.8, declination=0.0, final_contour=-0.5, tempo=0.9,
                          pause=1.25, energy_db=-3.0, tilt_db=-1.0, breathiness=0.15),
    # happiness: pitch average much higher, range much wider, faster, breathy/blaring, smooth *upward*
    # inflections [MA93]; fast rate, high F0 and variability, medium-high HF energy [JL03].
    "happy": ProsodyParams(f0_shift=3.5, f0_range=1.5, declination=0.8, final_contour=2.5, emphasis=0.1,
                           tempo=1.12, pause=0.9, energy_db=2.0, tilt_db=0.5, breathiness=0.2),
    # sadness: slower, lower, narrower, lower intensity, resonant, downward inflections [MA93]; slow, low
    # intensity, low F0/variability, little HF energy, falling contours, some jitter [JL03][SC86].
    "sad": ProsodyParams(f0_shift=-2.5, f0_range=0.55, declination=-1.5, final_contour=-3.0, jitter=0.01, tempo=0.82,
                         pause=1.6, energy_db=-6.0, tilt_db=-3.0, breathiness=0.4),
    # anger: slightly faster, pitch very much higher, much wider, higher intensity, chest tone, *abrupt*
    # changes on stressed syllables, tense articulation [MA93]; loudest, most HF energy, jitter,
    # falling contours [JL03][SC86].
    "angry": ProsodyParams(f0_shift=3.0, f0_range=1.35, declination=-1.2, final_contour=-3.0, emphasis=0.9,
                           jitter=0.012, tempo=1.06, pause=0.75, energy_db=7.0, tilt_db=4.0),
    # fear: much faster, pitch very much higher, much wider, irregular voicing [MA93]; F0 mean up to
    # +150 % and jitter [B00]; fast, high F0, high jitter [JL03]. Tremor realises irregular voicing.
    "fearful": ProsodyParams(f0_shift=6.5, f0_range=1.25, final_contour=1.0, jitter=0.02, tremor=0.7, tempo=1.2,
                             pause=0.75, energy_db=0.0, tilt_db=0.5, breathiness=0.35),
    # disgust: very much slower, very much lower, slightly wider, lower intensity, grumbled chest tone,
    # wide downward terminal inflections [MA93].
    "disgusted": ProsodyParams(f0_shift=-3.0, f0_range=1.2, declination=-0.6, final_contour=-5.0, emphasis=0.3,
                               jitter=0.006, tempo=0.74, pause=1.3, energy_db=-1.0, tilt_db=-0.5, breathiness=0.05),
    # surprise: higher F0, widest range, strong final rise (Cahn 1990 in [S01]); high arousal [JL03].
    "surprised": ProsodyParams(f0_shift=5.5, f0_range=2.1, declination=0.0, final_contour=6.0, emphasis=0.3,
                               tempo=1.0, pause=1.1, energy_db=3.5, tilt_db=1.5, breathiness=0.1),
}
assert set(LABEL_RULES) == set(LABELS) and set(VAD_CENTROIDS) == set(LABELS)

FINAL_SPAN = 0.35  # s over which the final rise/fall is ramped in
TREMOR_HZ = 5.5  # physiological tremor band 4-7 Hz; fear "irregular voicing" [MA93]
TILT_PIVOT_HZ = 500.0


# ------------------------------------------------------------------ WORLD
@dataclass
class WorldFeatures:
    """WORLD analysis at ``frame_period`` ms: f0 [N] Hz (0 = unvoiced), sp [N, F] power, ap [N, F] in [0, 1]."""

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    sr: int
    frame_period: float = FRAME_PERIOD_MS


def analyze(x: np.ndarray, sr: int, frame_period: float = FRAME_PERIOD_MS) -> WorldFeatures:
    """WORLD analysis (DIO + StoneMask F0, CheapTrick envelope, D4C aperiodicity)."""
    import pyworld as pw

    xd = np.ascontiguousarray(x, dtype=np.float64)
    f0, t = pw.dio(xd, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=frame_period)
    f0 = pw.stonemask(xd, f0, t, sr)
    sp = pw.cheaptrick(xd, f0, t, sr)
    ap = pw.d4c(xd, f0, t, sr)
    return WorldFeatures(f0, sp, ap, sr, frame_period)


def synthesize(w: WorldFeatures) -> np.ndarray:
    import pyworld as pw

    y = pw.synthesize(
        np.ascontiguousarray(w.f0), np.ascontiguousarray(w.sp), np.ascontiguousarray(w.ap), w.sr, w.frame_period
    )
    return y.astype(np.float32)


def pause_mask(w: WorldFeatures, rel_db: float = -35.0, min_len: float = 0.06) -> np.ndarray:
    """Frames inside pauses: unvoiced, quieter than ``rel_db`` under the loudest frame, runs >= ``min_len`` s."""
    energy = 10 * np.log10(np.maximum(w.sp.sum(axis=1), 1e-20))
    quiet = (energy < energy.max() + rel_db) & (w.f0 <= 0)
    mask = np.zeros_like(quiet)
    n = len(quiet)
    min_frames = round(min_len * 1000 / w.frame_period)
    i = 0
    while i < n:
        if quiet[i]:
            j = i
            while j < n and quiet[j]:
                j += 1
            if j - i >= min_frames:
                mask[i:j] = True
            i = j
        else:
            i += 1
    return mask


def _smooth_noise(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    z = rng.standard_normal(n + width)
    k = np.hanning(width + 2)[1:-1]
    k /= np.sqrt((k**2).sum())
    return np.convolve(z, k, mode="valid")[:n]


def modify_f0(f0: np.ndarray, p: ProsodyParams, frame_period: float, rng: np.random.Generator) -> np.ndarray:
    """Apply level, range, emphasis, declination, final contour, tremor and jitter to voiced frames."""
    out = f0.copy()
    voiced = f0 > 0
    if voiced.sum() < 3:
        return out
    dt = frame_period / 1000.0
    t = np.arange(len(f0)) * dt
    st = 12 * np.log2(np.where(voiced, f0, 1.0) / 100.0)
    mu = float(np.median(st[voiced]))
    dev = st - mu
    new = mu + dev * p.f0_range + p.emphasis * np.maximum(dev, 0.0) + p.f0_shift
    tv = t[voiced]
    t_mid = 0.5 * (tv[0] + tv[-1])
    new += p.declination * (t - t_mid)
    if p.final_contour:
        t_end = tv[-1]
        ramp = np.clip((t - (t_end - FINAL_SPAN)) / FINAL_SPAN, 0.0, 1.0)
        new += p.final_contour * ramp**1.5
    if p.tremor:
        new += p.tremor * np.sin(2 * np.pi * TREMOR_HZ * t + rng.uniform(0, 2 * np.pi))
    if p.jitter:
        # jitter as relative period perturbation -> semitones, smoothed over 2 frames
        new += 12 * np.log2(1.0 + p.jitter * np.clip(_smooth_noise(rng, len(f0), 2), -3, 3))
    f = 100.0 * 2 ** (new / 12)
    out[voiced] = np.clip(f[voiced], 40.0, 1100.0)
    return out


def time_warp(n_frames: int, pauses: np.ndarray, tempo: float, pause: float) -> np.ndarray:
    """Source frame position for every output frame (float indices, monotonic).

    Speech frames last ``1/tempo`` of their original length, pause frames ``pause/tempo``.
    """
    if tempo == 1.0 and pause == 1.0:
        return np.arange(n_frames, dtype=np.float64)
    step_out = np.where(pauses, pause / tempo, 1.0 / tempo)  # output frames per source frame
    cum = np.concatenate([[0.0], np.cumsum(step_out)])  # output position of each source frame boundary
    n_out = max(1, round(cum[-1]))
    src = np.interp(np.arange(n_out) + 0.5, cum, np.arange(n_frames + 1, dtype=np.float64)) - 0.5
    return np.clip(src, 0, n_frames - 1)


def warp_time(times: np.ndarray, pauses: np.ndarray, tempo: float, pause: float, frame_period: float) -> np.ndarray:
    """Map source times (s) to output times (s) under :func:`time_warp`'s warp."""
    dt = frame_period / 1000.0
    step_out = np.where(pauses, pause / tempo, 1.0 / tempo)
    cum = np.concatenate([[0.0], np.cumsum(step_out)]) * dt
    src_t = np.arange(len(pauses) + 1) * dt
    times = np.asarray(times, dtype=np.float64)
    last_rate = step_out[-1] if len(step_out) else 1.0
    return np.where(times <= src_t[-1], np.interp(times, src_t, cum), cum[-1] + (times - src_t[-1]) * last_rate)


def apply_params(
    w: WorldFeatures, p: ProsodyParams, rng: np.random.Generator, pauses: np.ndarray | None = None
) -> WorldFeatures:
    """Edit WORLD features with ``p``; returns new features (possibly a different frame count)."""
    if pauses is None:
        pauses = pause_mask(w)
    f0 = modify_f0(w.f0, p, w.frame_period, rng)
    sp = w.sp
    ap = w.ap
    nbin = sp.shape[1]
    freqs = np.linspace(0, w.sr / 2, nbin)
    gain_db = p.energy_db + p.tilt_db * np.log2(np.maximum(freqs, TILT_PIVOT_HZ) / TILT_PIVOT_HZ)
    sp = sp * (10 ** (gain_db / 10))[None, :]
    if p.breathiness > 0:
        weight = np.clip(0.3 + 0.7 * freqs / 4000.0, 0.0, 1.0)
        ap = 1.0 - (1.0 - ap) * (1.0 - 0.85 * p.breathiness * weight)[None, :]
    src = time_warp(len(f0), pauses, p.tempo, p.pause)
    if len(src) != len(f0) or not np.allclose(src, np.arange(len(f0))):
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, len(f0) - 1)
        a = (src - lo)[:, None]
        log_sp = np.log(np.maximum(sp, 1e-30))
        sp = np.exp((1 - a) * log_sp[lo] + a * log_sp[hi])
        ap = (1 - a) * ap[lo] + a * ap[hi]
        near = np.rint(src).astype(int)
        f0_new = f0[near].copy()
        both = (f0[lo] > 0) & (f0[hi] > 0)
        f0_new[both] = np.exp((1 - a[both, 0]) * np.log(f0[lo][both]) + a[both, 0] * np.log(f0[hi][both]))
        f0 = f0_new
    return WorldFeatures(np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(np.clip(ap, 0, 1)), w.sr, w.frame_period)


# ------------------------------------------------------------------ Kokoro (the TTS engine's own predictions)
KOKORO_PAUSES = frozenset(';:,.!?—…"()“”')
"""Kokoro tokens that are pauses (their predicted duration is the pause)."""
KOKORO_VOWELS = frozenset("AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻɐɚᵊ")
"""Vowel characters of misaki's phoneme set (upper-case letters are its diphthongs)."""
KOKORO_STRESS = "ˈ"
EMPHASIS_LENGTHENING = 0.3
"""Accented vowels last up to 30 % longer at emphasis 1: stressed syllables lengthen with emphasis, and in
anger most (Murray & Arnott 1993: 'abrupt changes on stressed syllables'; Juslin & Laukka 2003, Table 7)."""
VOICED_HZ = 50.0
"""Kokoro's F0 track is 10-20 Hz where unvoiced; above this it is a pitch the rules may move."""
KOKORO_F0_FRAME_MS = 12.5


def kokoro_duration_factors(phonemes: str, p: ProsodyParams, pace: float = 1.0) -> np.ndarray:
    """Per-token factors [len(phonemes) + 2] (BOS and EOS at the ends) on Kokoro's predicted durations.

    Speech tokens last ``1 / tempo``, pauses ``pause / tempo``, and the first vowel after a primary stress
    ``1 + EMPHASIS_LENGTHENING * emphasis`` more; ``pace`` > 1 slows everything down. BOS and EOS keep Kokoro's
    own length: stretched (sad: x1.6 x 1/0.82), the decoder voiced a syllable before the first word ("yay the
    kettle ..."); the pause between sentences is silence added by the pipeline.
    """
    f = np.full(len(phonemes) + 2, pace / p.tempo, dtype=np.float64)
    f[0] = f[-1] = 1.0
    accent = False
    for i, c in enumerate(phonemes, start=1):
        if c in KOKORO_PAUSES:
            f[i] *= p.pause
        elif c == KOKORO_STRESS:
            accent = True
        elif c in KOKORO_VOWELS and accent:
            f[i] *= 1.0 + EMPHASIS_LENGTHENING * max(p.emphasis, 0.0)
            accent = False
        elif c == " ":
            accent = False
    return f


KOKORO_F0_BAND = (-10.0, 12.0)
"""Edited F0 is kept within this many semitones of the voice's own median for the sentence, with a soft knee
(4 st): surprise's x2.1 range and +6 st final rise on top of Kokoro's already lively contours reached two octaves
above the median and scored MOS 2.4."""


def _soft_band(st: np.ndarray, lo: float, hi: float, knee: float = 4.0) -> np.ndarray:
    """Semitones relative to a centre: unchanged inside [lo + knee, hi - knee], compressed (tanh) towards the
    band's edges beyond."""
    top, bot = hi - knee, lo + knee
    st = np.where(st > top, top + knee * np.tanh((st - top) / knee), st)
    return np.where(st < bot, bot + knee * np.tanh((st - bot) / knee), st)


def kokoro_f0(f0: np.ndarray, p: ProsodyParams, rng: np.random.Generator) -> np.ndarray:
    """Kokoro's predicted F0 [2T] (Hz, 80 frames/s) -> the rules' F0 (level, range, emphasis, declination, final
    contour: :func:`modify_f0`) on frames above ``VOICED_HZ``, kept within ``KOKORO_F0_BAND`` of the sentence's
    median. Jitter and tremor are voice quality, not intonation: as frame-rate (12.5 ms) F0 noise Kokoro's decoder
    turned them into garble (fearful: WER 0.11 -> 0.09, MOS 3.92 -> 4.02 without them on six test sentences), so
    this engine leaves them out."""
    f0 = np.asarray(f0, dtype=np.float64)
    voiced = f0 > VOICED_HZ
    if voiced.sum() < 3:
        return f0.astype(np.float32)
    out = modify_f0(np.where(voiced, f0, 0.0), replace(p, jitter=0.0, tremor=0.0), KOKORO_F0_FRAME_MS, rng)
    centre = float(np.median(12 * np.log2(f0[voiced] / 100.0)))
    st = _soft_band(12 * np.log2(np.maximum(out, 1.0) / 100.0) - centre, *KOKORO_F0_BAND) + centre
    return np.where(voiced, 100.0 * 2 ** (st / 12), f0).astype(np.float32)


def kokoro_gain(p: ProsodyParams) -> float:
    """Waveform gain for ``energy_db`` (Kokoro's energy input barely moves loudness: +-20 dB gave < 1 dB)."""
    return float(10 ** (p.energy_db / 20))


def limit_peaks(y: np.ndarray, ceiling: float = 0.97) -> np.ndarray:
    """Keep peaks under ``ceiling`` with a smooth gain (no hard clipping)."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > ceiling:
        y = y * (ceiling / peak)
    return y.astype(np.float32)


def soft_limit(y: np.ndarray, ceiling: float = 0.97, knee: float = 0.6, window: int = 240) -> np.ndarray:
    """A soft-knee look-ahead limiter: peaks stay under ``ceiling``, audio whose envelope is under ``knee`` is
    unchanged, and a louder input always gives a louder output (:func:`limit_peaks` instead turns the whole take
    down for its highest peak, so a higher level could come out quieter).

    The envelope is a moving maximum of ``|y|`` over ``2 * window + 1`` samples smoothed by a moving mean over
    ``window`` (10 ms at 24 kHz), so it is never below ``|y|`` and the gain moves smoothly. Above ``knee`` it is
    mapped by ``knee + (ceiling - knee) * tanh((e - knee) / (ceiling - knee))``: increasing, with a slope that
    falls from 1 to 0, so the mapped level over the envelope only falls as the envelope grows, and every sample
    ends under the mapped envelope, which is under ``ceiling``."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    y = np.asarray(y, np.float32)
    if not y.size:
        return y
    a = np.abs(y).astype(np.float64)
    env = uniform_filter1d(maximum_filter1d(a, 2 * window + 1, mode="nearest"), window, mode="nearest")
    env = np.maximum(env, a)                                   # float rounding of the mean: never below |y|
    if float(env.max()) <= knee:
        return y
    span = ceiling - knee
    mapped = np.where(env > knee, knee + span * np.tanh((env - knee) / span), env)
    return (y * (mapped / np.maximum(env, 1e-12))).astype(np.float32)


@dataclass
class ConversionOutput:
    """Result of :class:`ProsodyPipeline`.

    Attributes:
        audio: float32 [T] mono (or [T, 2] when the input was stereo), in [-1, 1].
        sr: sample rate (Hz), the input's.
        params: the prosody parameters applied.
        emotion: the requested emotion.
        warp: callable mapping input times (s) to output times (s).
    """

    audio: np.ndarray
    sr: int
    params: ProsodyParams
    emotion: Emotion
    warp: Any = None


def apply_prosody(
    x: np.ndarray,
    sr: int,
    params: ProsodyParams,
    rng: np.random.Generator | None = None,
    pauses_s: list[tuple[float, float]] | None = None,
    analysis_sr: int | None = 16000,
    resynthesize_identity: bool = False,
    world: WorldFeatures | None = None,
) -> tuple[np.ndarray, Any]:
    """Waveform [T] at ``sr`` -> modified waveform at ``sr`` and a time-warp function.

    Args:
        pauses_s: known pause intervals (s), e.g. ``pau`` phones; otherwise detected from energy + voicing.
        analysis_sr: WORLD runs at this rate (None = input rate); 16 kHz keeps convert at RTF < 0.3
            on one core, the band above 8 kHz is then resynthesised from the input's resampling.
        resynthesize_identity: also vocode when ``params`` is the identity (the corpus does, so that
            neutral and emotional utterances share the vocoder's signature).
        world: the WORLD analysis of this very input at the analysis rate, when the caller already has it
            (the corpus renders one source with several emotions and analyses it once; WORLD analysis is
            deterministic, so the output is identical).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    if params.is_identity() and not resynthesize_identity:
        return np.asarray(x, dtype=np.float32), (lambda t: np.asarray(t, dtype=np.float64))
    from emotive.evaluators.speech.audio import resample

    a_sr = sr if analysis_sr is None or sr <= analysis_sr else analysis_sr
    if world is not None and world.sr == a_sr:
        w = world
    else:
        w = analyze(resample(x, sr, a_sr), a_sr)
    n = len(w.f0)
    if pauses_s is not None:
        t = np.arange(n) * w.frame_period / 1000.0
        pauses = np.zeros(n, dtype=bool)
        for s, e in pauses_s:
            pauses |= (t >= s) & (t < e)
    else:
        pauses = pause_mask(w)
    w2 = apply_params(w, params, rng, pauses)
    y = synthesize(w2)
    y = resample(y, a_sr, sr)
    fp = w.frame_period

    def warp(times: Any) -> np.ndarray:
        return warp_time(np.asarray(times, dtype=np.float64), pauses, params.tempo, params.pause, fp)

    return limit_peaks(y), warp


class ProsodyPipeline:
    """Emotional voice conversion: ``ProsodyPipeline()(audio, sr, emotion="furious")``.

    Rule-based, so there are no weights; ``from_pretrained`` exists for the
    common pipeline shape and reads an optional ``config.json`` with
    ``{"analysis_sr": 16000, "frame_period": 5.0}``.
    """

    def __init__(self, analysis_sr: int | None = 16000):
        self.analysis_sr = analysis_sr

    @classmethod
    def from_pretrained(cls, path: str | None = None) -> ProsodyPipeline:
        if path is None:
            return cls()
        import json
        from pathlib import Path

        cfg = json.loads((Path(path) / "config.json").read_text())
        return cls(analysis_sr=cfg.get("analysis_sr", 16000))

    def save_pretrained(self, path: str) -> None:
        import json
        from pathlib import Path

        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "config.json").write_text(json.dumps({"analysis_sr": self.analysis_sr, "version": 1}) + "\n")

    def __call__(
        self,
        audio: np.ndarray,
        sr: int,
        emotion: Emotion | str = "neutral",
        generator: np.random.Generator | int | None = None,
        params: ProsodyParams | None = None,
    ) -> ConversionOutput:
        """Convert a waveform.

        Args:
            audio: [T] or [T, 2] float/int samples at ``sr`` (8-48 kHz, <= 10 min; see evaluators.speech.audio).
            emotion: anything ``Emotion.parse`` accepts.
            generator: seed or numpy Generator for jitter/tremor phase (deterministic per seed).
            params: override the rule mapping.
        """
        from emotive.evaluators.speech.audio import validate

        e = Emotion.parse(emotion)
        arr = np.asarray(audio)
        stereo = arr.ndim == 2 and arr.shape[1] == 2
        sa = validate(arr, sr, allow_clipping=True)
        p = params if params is not None else ProsodyParams.from_emotion(e)
        rng = generator if isinstance(generator, np.random.Generator) else np.random.default_rng(generator or 0)
        y, warp = apply_prosody(sa.audio, sa.sr, p, rng, analysis_sr=self.analysis_sr)
        if stereo:
            y = np.stack([y, y], axis=1)
        return ConversionOutput(y, sa.sr, p, e, warp)


def describe(p: ProsodyParams) -> str:
    """One line: ``F0 +4.0 st x1.60 range, tempo x1.10, +3.0 dB ...``."""
    return (
        f"F0 {p.f0_shift:+.1f} st, range x{p.f0_range:.2f}, final {p.final_contour:+.1f} st, tempo x{p.tempo:.2f}, "
        f"pauses x{p.pause:.2f}, level {p.energy_db:+.1f} dB, tilt {p.tilt_db:+.1f} dB/oct, "
        f"breathiness {p.breathiness:.2f}, jitter {p.jitter:.1%}, tremor {p.tremor:.1f} st"
    )

