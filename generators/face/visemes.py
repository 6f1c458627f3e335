"""Phones -> viseme blendshape curves with coarticulation.

Viseme classes follow the MPEG-4 Face and Body Animation viseme set (ISO/IEC
14496-2, Annex C: 14 visemes + neutral), extended with separate rounded /
spread vowel targets as in common lip-sync practice. Targets are ARKit
blendshape values chosen by us from the articulation of each class (lip
closure for /p b m/, lower lip to upper teeth for /f v/, rounding for /w uw/ ...).

Coarticulation: Cohen & Massaro (1993), "Modeling coarticulation in synthetic
visual speech" (in Thalmann & Thalmann, *Models and Techniques in Computer
Animation*). Every phone segment s has, per articulator group g (lips, jaw,
tongue), a target T_sg and a dominance D_sg(t) = alpha_sg * exp(-theta_sg * d(t)),
d(t) the distance in seconds from t to the segment (0 inside it; anticipation
and carry-over get different theta). The curve is the dominance-weighted mean
F_g(t) = sum_s D_sg(t) T_sg / sum_s D_sg(t). Bilabials have a high lip
dominance (the lips *must* close: neighbours cannot override them), while
/h k g t d/ have a low one, so they take their neighbours' lip shape — the
anticipatory rounding of "soon" vs the spread "seen".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emotive.evaluators.face.blendshapes import BLENDSHAPE_INDEX, NUM_BLENDSHAPES
from emotive.generators.face.phones import SILENCE, Phone

# Articulator groups: every viseme channel belongs to one.
GROUPS: dict[str, tuple[str, ...]] = {
    "jaw": ("jawOpen",),
    "lips": (
        "mouthClose", "mouthFunnel", "mouthPucker", "mouthStretchLeft", "mouthStretchRight",
        "mouthSmileLeft", "mouthSmileRight", "mouthRollLower", "mouthRollUpper", "mouthPressLeft",
        "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    ),
    "tongue": ("tongueOut",),
}  # fmt: skip
CHANNELS: tuple[str, ...] = tuple(c for g in GROUPS.values() for c in g)


def _sym(**kw: float) -> dict[str, float]:
    """Expand 'mouthStretch=0.2' into Left/Right channels."""
    out = {}
    for k, v in kw.items():
        if k + "Left" in BLENDSHAPE_INDEX:
            out[k + "Left"] = v
            out[k + "Right"] = v
        else:
            out[k] = v
    return out


# Viseme targets (ARKit values). Unlisted channels are 0.
VISEMES: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": _sym(jawOpen=0.02, mouthPress=0.35, mouthRollLower=0.12, mouthClose=0.03),
    "FF": _sym(jawOpen=0.08, mouthRollLower=0.5, mouthUpperUp=0.15),
    "TH": _sym(jawOpen=0.14, tongueOut=0.3, mouthLowerDown=0.1),
    "DD": _sym(jawOpen=0.14, mouthLowerDown=0.08),
    "KK": _sym(jawOpen=0.18, mouthLowerDown=0.05),
    "CH": _sym(jawOpen=0.10, mouthFunnel=0.45, mouthPucker=0.2, mouthUpperUp=0.15, mouthLowerDown=0.15),
    "SS": _sym(jawOpen=0.05, mouthStretch=0.22, mouthSmile=0.1, mouthLowerDown=0.1, mouthUpperUp=0.08),
    "NN": _sym(jawOpen=0.12, mouthLowerDown=0.05),
    "RR": _sym(jawOpen=0.14, mouthPucker=0.35, mouthFunnel=0.25),
    "WW": _sym(jawOpen=0.05, mouthPucker=0.7, mouthFunnel=0.2),
    "YY": _sym(jawOpen=0.10, mouthStretch=0.2, mouthSmile=0.1),
    "HH": _sym(jawOpen=0.20),
    "AA": _sym(jawOpen=0.60, mouthLowerDown=0.25, mouthUpperUp=0.05),
    "AE": _sym(jawOpen=0.48, mouthStretch=0.25, mouthLowerDown=0.25, mouthUpperUp=0.1),
    "AH": _sym(jawOpen=0.40, mouthLowerDown=0.2),
    "EH": _sym(jawOpen=0.32, mouthStretch=0.25, mouthSmile=0.1, mouthLowerDown=0.15),
    "IY": _sym(jawOpen=0.14, mouthStretch=0.35, mouthSmile=0.22, mouthLowerDown=0.1),
    "IH": _sym(jawOpen=0.20, mouthStretch=0.25, mouthSmile=0.12, mouthLowerDown=0.1),
    "AO": _sym(jawOpen=0.45, mouthFunnel=0.45, mouthPucker=0.15, mouthLowerDown=0.15),
    "OW": _sym(jawOpen=0.32, mouthFunnel=0.5, mouthPucker=0.3),
    "UH": _sym(jawOpen=0.20, mouthPucker=0.45, mouthFunnel=0.3),
    "UW": _sym(jawOpen=0.12, mouthPucker=0.7, mouthFunnel=0.3),
    "ER": _sym(jawOpen=0.22, mouthFunnel=0.3, mouthPucker=0.25),
}

# ARPAbet -> viseme(s). Diphthongs move between two targets (first half, second half).
PHONE_TO_VISEME: dict[str, tuple[str, ...]] = {
    "sil": ("sil",), "P": ("PP",), "B": ("PP",), "M": ("PP",), "F": ("FF",), "V": ("FF",),
    "TH": ("TH",), "DH": ("TH",), "T": ("DD",), "D": ("DD",), "K": ("KK",), "G": ("KK",),
    "NG": ("KK",), "CH": ("CH",), "JH": ("CH",), "SH": ("CH",), "ZH": ("CH",), "S": ("SS",),
    "Z": ("SS",), "N": ("NN",), "L": ("NN",), "R": ("RR",), "W": ("WW",), "Y": ("YY",),
    "HH": ("HH",), "AA": ("AA",), "AE": ("AE",), "AH": ("AH",), "EH": ("EH",), "IY": ("IY",),
    "IH": ("IH",), "AO": ("AO",), "UH": ("UH",), "UW": ("UW",), "ER": ("ER",), "OW": ("AO", "UW"),
    "AY": ("AA", "IY"), "AW": ("AA", "UW"), "OY": ("AO", "IY"), "EY": ("EH", "IY"),
}  # fmt: skip

# Dominance alpha per (viseme, group); default 0.5. Bilabials/labiodentals/rounded dominate the lips;
# /h/ and velars hardly constrain the lips; silence keeps a moderate pull toward rest.
ALPHA_DEFAULT = 0.5
ALPHA: dict[str, dict[str, float]] = {
    "PP": {"lips": 1.0, "jaw": 0.9},
    "FF": {"lips": 1.0, "jaw": 0.7},
    "WW": {"lips": 0.9},
    "UW": {"lips": 0.8},
    "CH": {"lips": 0.8},
    "SS": {"jaw": 0.8, "lips": 0.4},
    "TH": {"tongue": 1.0, "lips": 0.3},
    "HH": {"lips": 0.05, "jaw": 0.1},
    "KK": {"lips": 0.15, "jaw": 0.3},
    "DD": {"lips": 0.2, "jaw": 0.4},
    "NN": {"lips": 0.2, "jaw": 0.35},
    "YY": {"lips": 0.3},
    "sil": {"lips": 0.35, "jaw": 0.35, "tongue": 0.35},
}
# Temporal spread (s^-1). Anticipation reaches further back than carry-over reaches forward
# (Cohen & Massaro 1993 use asymmetric theta; anticipatory lip rounding ~100-200 ms).
THETA_ANTICIPATION = 18.0
THETA_CARRYOVER = 25.0
UNSTRESSED_JAW = 0.7  # unstressed vowels open the jaw less


def _segments(phones: Sequence[Phone]) -> list[tuple[str, float, float, bool]]:
    """Phones -> viseme segments (viseme, start, end, stressed); diphthongs split in two halves."""
    segs = []
    for p in phones:
        vis = PHONE_TO_VISEME.get(p.phone, ("sil",) if p.phone == SILENCE else ("AH",))
        if len(vis) == 1:
            segs.append((vis[0], p.start, p.end, p.stressed))
        else:
            mid = p.start + 0.55 * (p.end - p.start)
            segs.append((vis[0], p.start, mid, p.stressed))
            segs.append((vis[1], mid, p.end, p.stressed))
    return segs


def viseme_curves(
    phones: Sequence[Phone],
    num_frames: int,
    fps: float = 25.0,
    articulation: float = 1.0,
    theta_scale: float = 1.0,
    lead: float = 0.0,
) -> np.ndarray:
    """Blendshape curves [T, 52] of the mouth from timed phones (Cohen-Massaro blending).

    Args:
        phones: timed ARPAbet phones (seconds).
        num_frames: T, frames at ``fps``.
        articulation: scales every target (hypo- < 1 < hyper-articulation).
        theta_scale: > 1 sharper (less coarticulation), < 1 smoother.
        lead: seconds the visible articulation leads the sound (lips move slightly before the audio).
    Returns:
        float32 [T, 52], zeros outside the viseme channels.
    """
    out = np.zeros((num_frames, NUM_BLENDSHAPES), np.float32)
    segs = _segments(phones)
    if not segs or num_frames == 0:
        return out
    starts = np.array([s[1] for s in segs]) - lead
    ends = np.array([s[2] for s in segs]) - lead
    chan_idx = {g: [BLENDSHAPE_INDEX[c] for c in cs] for g, cs in GROUPS.items()}
    targets = {g: np.zeros((len(segs), len(cs))) for g, cs in GROUPS.items()}
    alphas = {g: np.zeros(len(segs)) for g in GROUPS}
    for i, (v, _, _, stressed) in enumerate(segs):
        tv = VISEMES[v]
        for g, cs in GROUPS.items():
            targets[g][i] = [tv.get(c, 0.0) for c in cs]
            alphas[g][i] = ALPHA.get(v, {}).get(g, ALPHA_DEFAULT)
        if not stressed and v in ("AA", "AE", "AH", "EH", "IY", "IH", "AO", "OW", "UH", "UW", "ER"):
            targets["jaw"][i] *= UNSTRESSED_JAW
    t = np.arange(num_frames) / fps
    th_a, th_c = THETA_ANTICIPATION * theta_scale, THETA_CARRYOVER * theta_scale
    reach = 8.0 / min(th_a, th_c)  # beyond this, exp(-theta d) < 3e-4: ignore the segment
    block = 256
    for b0 in range(0, num_frames, block):
        tb = t[b0 : b0 + block]
        lo = np.searchsorted(ends, tb[0] - reach)
        hi = np.searchsorted(starts, tb[-1] + reach, side="right")
        if hi <= lo:
            continue
        s, e = starts[lo:hi], ends[lo:hi]
        before = np.clip(s[None, :] - tb[:, None], 0, None)  # t before the segment: anticipation
        after = np.clip(tb[:, None] - e[None, :], 0, None)  # t after the segment: carry-over
        decay = np.exp(-th_a * before - th_c * after)  # [Tb, S], 1 inside the segment
        for g, idx in chan_idx.items():
            d = decay * alphas[g][None, lo:hi]
            w = d / np.maximum(d.sum(axis=1, keepdims=True), 1e-9)
            out[b0 : b0 + block, idx] = w @ targets[g][lo:hi]
    out *= articulation
    return np.clip(out, 0.0, 1.0)
