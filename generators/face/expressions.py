"""Emotion -> FACS action units -> ARKit blendshapes.

Prototypes: the EMFACS emotion predictions (Friesen & Ekman 1983, EMFACS-7;
Ekman & Friesen 1978, *Facial Action Coding System*), as tabulated in the FACS
Investigator's Guide (Ekman, Friesen & Hager 2002, Table 10-1 "prototypes"):

==========  ==========================  ========================================
label       action units (used here)    notes
==========  ==========================  ========================================
happy       6 + 12D                     Duchenne smile
sad         1C + 4B + 15E + 17B + 64B   prototype 1+4+15 (+54 head down, +64 eyes
                                        down); lip corners at maximum, inner
                                        brow marked, brow lowering kept light
surprised   1D + 2D + 5B + 26           brows up, lids wide (slight), jaw drop
fearful     1E + 2E + 5E + 20E + 26     the EMFACS fear variant 1+2+5 with 20 and
                                        25/26/27 (no AU4): raised brows, wide
                                        eyes, lips stretched, jaw dropped
angry       4D + 5B + 7 + 23 + 24B      brows down, glare, lips tightened/pressed
disgusted   9E + 10B + 17C              the EMFACS disgust prototypes 9+17 and
                                        10+17 combined: nose wrinkle, upper lip
                                        raised, chin raised (lips stay closed)
neutral     —
calm        12A + 43A                   not an EMFACS emotion: our choice — a trace
                                        smile and slightly relaxed lids (low arousal,
                                        positive valence; Russell 1980 circumplex)
==========  ==========================  ========================================

Why these variants (measured with the FER2013 recogniser of :mod:`emotive.evaluators.face.fer`
on the rendered bench portraits; the 2026-11-22 prototypes are in the git history):
fear *with* AU4 (1+2+4+5+7+20+26) read "neutral" on one portrait, the 1+2+5+20+26 variant
"fearful" on both; disgust 9+10+15+16 parted the lips (MediaPipe re-read jawOpen 0.26-0.28 at a
closed jaw, which also spoiled the rig-honesty correlation of jawOpen), 9+10+17 keeps them closed
(0.0-0.09); sad with a strong AU4 read "angry", so AU4 is kept at B. Sad's inner brow was at E (1.0) until
2026-11-22: with the lids lowered (AU64 + :func:`.motion.lids_follow_gaze`) and AU4 pulling the same
brow head down, MediaPipe re-read it at 0.0-0.2 whatever its strength (grace_hopper 0.0), so the rig
claimed a brow it did not show (face-bench honesty of browInnerUp 0.65); at C it reads about as much and
the rendered face is the same expression at a milder brow (honesty 0.74, FER unchanged; see the
motion model card). Since 2026-11-22 (session 7) the rig itself no longer lets AU4 cancel AU1 at the inner brow
(:data:`.rig.INNER_BROW_OVERRIDE`); the prototype is kept at C. Since session 8, AU4's ``browDown`` is scaled by
``1 - AU1`` when both are present (:data:`AU1_OVER_AU4`: ARKit's encoding of the 1+4 brow), and the shipped motion
model (v7) was trained on that. Head posture (AU54-like head lowering in sadness) is added by :mod:`.procedural`.

FACS intensities A..E (trace .. maximum) are mapped to 0.2, 0.4, 0.6, 0.8, 1.0;
unmarked AUs are taken at C-D (0.7).

AU -> ARKit: our reading of Apple's ``ARFaceAnchor.BlendShapeLocation``
descriptions against the FACS AU definitions (Ekman, Friesen & Hager 2002) —
e.g. ``browInnerUp`` "upward movement of the inner portion of both eyebrows" = AU1,
``mouthSmileLeft`` "upward movement of the left corner of the mouth" = AU12,
``noseSneerLeft`` "raising of the left side of the nose around the nostril" = AU9.
The table is :data:`AU_TO_ARKIT`; AU6 and AU9 also drive a fraction of the
neighbouring shapes they visibly move (eye squint, brow lowering).
"""

from __future__ import annotations

import numpy as np

from emotive.conditioning import LABELS, Emotion
from emotive.evaluators.face.blendshapes import BLENDSHAPE_INDEX, NUM_BLENDSHAPES

FACS_INTENSITY = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}
DEFAULT_AU_INTENSITY = 0.7

AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 16: "lower lip depressor",
    17: "chin raiser", 20: "lip stretcher", 23: "lip tightener", 24: "lip pressor", 25: "lips part",
    26: "jaw drop", 27: "mouth stretch", 43: "eyes closed", 64: "eyes down",
}  # fmt: skip


def _lr(name: str, w: float = 1.0) -> dict[str, float]:
    return {name + "Left": w, name + "Right": w}


AU_TO_ARKIT: dict[int, dict[str, float]] = {
    1: {"browInnerUp": 1.0},
    2: _lr("browOuterUp"),
    4: _lr("browDown"),
    5: _lr("eyeWide"),
    6: {**_lr("cheekSquint"), **_lr("eyeSquint", 0.4)},
    7: _lr("eyeSquint"),
    9: {**_lr("noseSneer"), **_lr("browDown", 0.3)},
    10: _lr("mouthUpperUp"),
    12: _lr("mouthSmile"),
    14: _lr("mouthDimple"),
    15: _lr("mouthFrown"),
    16: _lr("mouthLowerDown"),
    17: {"mouthShrugLower": 1.0},
    20: _lr("mouthStretch"),
    23: {**_lr("mouthPress", 0.5), "mouthRollLower": 0.2, "mouthRollUpper": 0.2},
    24: _lr("mouthPress"),
    25: {"jawOpen": 0.08, **_lr("mouthLowerDown", 0.2)},
    26: {"jawOpen": 0.45},
    27: {"jawOpen": 1.0},
    43: _lr("eyeBlink"),
    64: _lr("eyeLookDown"),
}


AU1_OVER_AU4 = True
"""ARKit encodes the FACS 1+4 brow mostly as ``browInnerUp``: Apple describes ``browDown`` as the downward movement
of the *outer* portion of the brow and ``browInnerUp`` as the upward movement of its inner portion, and in the 1+4
brow the inner portion rises while the lowerer's pull shows mainly as the brows drawn together. MediaPipe's
blendshape model (trained on ARKit-style targets) agrees: on every rendering of the sad brow tried in sessions 6-8
it read ``browDown`` near 0 (0.03-0.16 for a commanded 0.47) while it read the raised inner brow, so a sad
face commanded ``browDown`` that no reader of ARKit values would recover from it. With AU1 present, AU4's
``browDown`` is therefore scaled by ``1 - AU1`` (sad 1C+4B: 0.40 -> 0.16); AU4 alone (anger) is unchanged.
Simulated on the face bench before retraining (the 2026-11-22 16:34 renderer, the v6 model's sampled motion
with this rule applied): rig honesty's worst shape 0.699 -> 0.757, FER 0.479 -> 0.464. With the motion model
retrained on it (v7, 17:02): honesty's worst shape 0.747 (browDown L 0.70 -> 0.75, R 0.77 -> 0.82, browInnerUp
0.77 -> 0.82), FER 0.486 (sad 0.45, unchanged)."""


def _aus(spec: str) -> dict[int, float]:
    """'1+2+5B+26' -> {1: 0.7, 2: 0.7, 5: 0.4, 26: 0.7}; '' -> {} (no action)."""
    out = {}
    for tok in filter(None, spec.split("+")):
        tok = tok.strip()
        letter = tok[-1] if tok[-1] in FACS_INTENSITY else None
        au = int(tok[:-1] if letter else tok)
        out[au] = FACS_INTENSITY[letter] if letter else DEFAULT_AU_INTENSITY
    return out


PROTOTYPE_SPECS: dict[str, str] = {
    "neutral": "",
    "calm": "12A+43A",
    "happy": "6+12D",
    "sad": "1C+4B+15E+17B+64B",
    "angry": "4D+5B+7+23+24B",
    "fearful": "1E+2E+5E+20E+26",
    "disgusted": "9E+10B+17C",
    "surprised": "1D+2D+5B+26",
}
"""The prototypes of the table above, in FACS notation."""
PROTOTYPES: dict[str, dict[int, float]] = {k: _aus(v) for k, v in PROTOTYPE_SPECS.items()}
assert set(PROTOTYPES) == set(LABELS)

EMFACS_VARIANTS: dict[str, tuple[str, ...]] = {
    "happy": (PROTOTYPE_SPECS["happy"], "12D", "6E+12E+25"),
    "sad": (PROTOTYPE_SPECS["sad"], "1+4+15E", "6+15E", "1+4+15B+17", "1+4+15E+64B"),
    "surprised": (PROTOTYPE_SPECS["surprised"], "1+2+5B+27", "1+2+26", "5B+26"),
    "fearful": (PROTOTYPE_SPECS["fearful"], "1+2+4+5+20+25", "1+2+4+5+25", "1+2+5+26", "5+20+25"),
    "angry": (PROTOTYPE_SPECS["angry"], "4+5+7+10+23+26", "4+5+7+23+26", "4+5+7+17+23", "4+5+7+17+24"),
    "disgusted": (PROTOTYPE_SPECS["disgusted"], "9", "9+17", "10+17", "9+16+26", "10+16+25"),
    "neutral": ("",),
}
"""For each bench label, the shipped prototype first, then other ways EMFACS (Friesen & Ekman 1983) predicts the
emotion is shown, written with the action units of :data:`AU_TO_ARKIT` (AU11, AU22 and AU54 are left out; where
EMFACS allows 25, 26 or 27, each variant takes one of them). The face bench renders them all on every
portrait to measure how far the renderer and the FER2013 recogniser can go together, whatever the motion model does
(:func:`emotive.apps.bench.benchmarks.face.fer_ceiling`)."""


def au_vector(aus: dict[int, float]) -> np.ndarray:
    """Action-unit intensities {AU: 0..1} -> ARKit blendshapes [52] (clipped to [0, 1]).

    AU4 with AU1 (the oblique brow of sadness): AU4's ``browDown`` share is scaled by ``1 - AU1`` (see
    :data:`AU1_OVER_AU4`); every other AU maps through :data:`AU_TO_ARKIT` unchanged.
    """
    v = np.zeros(NUM_BLENDSHAPES, np.float32)
    inner_raise = float(aus.get(1, 0.0)) if AU1_OVER_AU4 else 0.0
    for au, a in aus.items():
        for name, w in AU_TO_ARKIT[au].items():
            if au == 4 and name.startswith("browDown"):
                w = w * (1.0 - inner_raise)
            v[BLENDSHAPE_INDEX[name]] += a * w
    return np.clip(v, 0.0, 1.0)


def spec_blendshapes(spec: str) -> np.ndarray:
    """ARKit blendshapes [52] of action units in FACS notation ('1+2+5B+26'; '' is no action)."""
    return au_vector(_aus(spec))


PROTOTYPE_BLENDSHAPES: dict[str, np.ndarray] = {k: au_vector(v) for k, v in PROTOTYPES.items()}


def expression_blendshapes(emotion: Emotion | str) -> np.ndarray:
    """The static expression [52] of an emotion: sum_l p_l * prototype_l, scaled by intensity.

    A mixture ("0.6 happy + 0.4 surprised") blends prototypes by its label
    distribution; ``happy:0.5`` is half the prototype's displacement.
    """
    e = Emotion.parse(emotion) if isinstance(emotion, str) else emotion
    v = np.zeros(NUM_BLENDSHAPES, np.float32)
    for label, p in zip(LABELS, e.probs):
        v += p * PROTOTYPE_BLENDSHAPES[label]
    return np.clip(v * e.intensity, 0.0, 1.0)
