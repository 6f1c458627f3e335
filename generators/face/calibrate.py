"""Measure the rig against MediaPipe: how strongly does a commanded blendshape read back?

``calibrate_gains`` renders each blendshape alone at several strengths on a set of
portraits, re-reads every frame with MediaPipe's blendshape model (the same
model that produced the portrait's own reading), and fits per shape the gain
that brings the mean re-read response at half command (:data:`LEVEL`) near :data:`TARGET_RESPONSE`
(clipped to [0.6, 1.6], Left/Right pairs sharing one gain; a few rounds, since the response is not linear in the
displacement). Shapes MediaPipe barely reads (mean response < 0.04 at half command even at the
largest gain; e.g. ``mouthFrown``, ``cheekSquint``) keep their anatomical gain:
making them huge to please one model would distort the face.

Writes ``rig_gains.json`` beside the rig ({"gains", "response", "portraits",
"command"}), shipped as package data and read by :func:`rig.calibrated_gains`.
Reproduce: ``python -m emotive.generators.face.calibrate``.

It also measures the jaw cross-talk of the lip shapes (:func:`calibrate_jaw_crosstalk`: how much each lip shape
changes MediaPipe's reading of the same jaw opening), stored as ``jaw_crosstalk`` and used by
:func:`rig.jaw_compensation`; ``--crosstalk`` re-measures only that (the gains are kept).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emotive.evaluators.face.analysis import FaceAnalyzer
from emotive.evaluators.face.blendshapes import BLENDSHAPE_INDEX, MEDIAPIPE_MISSING
from emotive.generators.face import rig
from emotive.generators.face.render import PortraitRenderer, prepare_portrait

TARGET_RESPONSE = 0.4
LEVEL = 0.5
"""Shapes are calibrated at half strength, the range speech and moderate expressions use
(a full-strength command can saturate or fold the reading)."""
CALIBRATED = (
    "jawOpen", "mouthSmileLeft", "mouthSmileRight", "browInnerUp", "browDownLeft", "browDownRight",
    "browOuterUpLeft", "browOuterUpRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight",
    "eyeSquintLeft", "eyeSquintRight", "mouthPucker", "mouthFunnel", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthPressLeft", "mouthPressRight", "noseSneerLeft", "noseSneerRight",
    "cheekSquintLeft", "cheekSquintRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
)  # fmt: skip
GAIN_RANGE = (0.6, 1.6)
"""Gains stay within anatomical plausibility: the rig's base magnitudes come from facial anatomy,
the calibration only corrects them, it does not exaggerate a face to please one reader."""

GAIN_MAX = {"eyeBlink": 1.0, "mouthFrown": 1.6}
"""Geometric caps: the blink basis brings the upper lid exactly onto the raised lower lid at gain 1 and
command 1; a larger gain pushes the lid past the lower lid (folded mesh) before the command is complete,
and MediaPipe's reading then falls again. The lid's readability comes from the synthesised lid skin and
lash line (render.LID_START, LASH_WIDTH), not from an exaggerated warp.
mouthFrown: MediaPipe barely reads a lip-corner depressor (response < 0.1 at any gain), so the
calibration used to drive it to the range's top (1.6: the corners dropped 0.26 IOD, ~1.6 cm). At that size
a sad mouth became an arch that MediaPipe read as an open jaw (astronaut, jawOpen 0.2 read 0.74 against
0.46 for neutral); at 1.0 (0.16 IOD, ~1 cm, the base anatomical magnitude), `emotive bench --only face`
(2026-11-22): jawOpen honesty 0.48 -> 0.52, browDown 0.47/0.50 -> 0.48/0.51, lip sync 0.62 -> 0.61 (lag 1),
FER 13 -> 12 of 28 videos (one fearful video with p ~0.33 flipped).
Back to 1.6 (2026-11-22 ~06:00) once the jaw cross-talk correction (rig.jaw_compensation, refitted at this
gain) cancels the arch's effect on the jaw reading: with the lids following gaze (motion.lids_follow_gaze)
the deeper frown is what makes a sad face read "sad" (FER on the bench, see the motion model card).
A gain refit leaves mouthFrown at this cap (its response stays < 0.1 at any gain)."""


def _pair(name: str) -> str:
    """Left/Right shapes share one gain (the face stays symmetric): key without the side."""
    for side in ("Left", "Right"):
        if name.endswith(side):
            return name[: -len(side)]
    return name


def default_portraits() -> list:
    """Permissively licensed portraits shipped in installed packages."""
    import matplotlib.cbook
    import skimage.data

    return [skimage.data.astronaut(), matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)]


def measure(names=CALIBRATED, portraits=None, size: int = 256, level: float = LEVEL) -> dict[str, float]:
    """Mean re-read response (read at ``level`` minus read at 0) per shape, with the current gains."""
    portraits = portraits if portraits is not None else default_portraits()
    out: dict[str, list[float]] = {n: [] for n in names}
    with FaceAnalyzer(min_face_px=32) as fa:
        for src in portraits:
            r = PortraitRenderer(prepare_portrait(src, size, analyzer=fa))
            base = fa.analyze(r.render_frame(np.zeros(52, np.float32))).blendshapes
            for n in names:
                b = np.zeros(52, np.float32)
                b[BLENDSHAPE_INDEX[n]] = level
                read = fa.analyze(r.render_frame(b)).blendshapes
                out[n].append(float(read[BLENDSHAPE_INDEX[n]] - base[BLENDSHAPE_INDEX[n]]))
    return {n: float(np.mean(v)) for n, v in out.items()}


def calibrate_gains(
    rounds: int = 3, size: int = 256, path: Path | None = None, names: tuple[str, ...] | None = None
) -> dict:
    """Fit per-shape gains (see module docstring) and write ``rig_gains.json``; returns its content.

    ``names``: refit only these shapes (e.g. after a change to their basis), keeping every other gain and the
    file's other sections as they are; ``None`` refits all of :data:`CALIBRATED`.
    """
    path = path or Path(rig.__file__).with_name("rig_gains.json")
    previous = json.loads(path.read_text()) if path.exists() else {}
    fitted = tuple(n for n in (names or CALIBRATED) if n not in MEDIAPIPE_MISSING)
    kept = {k: float(v) for k, v in previous.get("gains", {}).items() if k not in fitted} if names else {}
    gains: dict[str, float] = {n: 1.0 for n in fitted}
    response: dict[str, float] = {}

    def pair_mean(resp: dict[str, float]) -> dict[str, float]:
        groups: dict[str, list[float]] = {}
        for n, v in resp.items():
            groups.setdefault(_pair(n), []).append(v)
        return {n: float(np.mean(groups[_pair(n)])) for n in resp}

    def write_gains() -> None:
        rig.calibrated_gains.cache_clear()
        path.write_text(json.dumps({**previous, "gains": {**kept, **gains}}))

    for _ in range(rounds):
        write_gains()
        response = pair_mean(measure(fitted, size=size))
        for n, resp in response.items():
            factor = TARGET_RESPONSE / max(resp, 0.05)
            lo, hi = GAIN_RANGE
            gains[n] = float(np.clip(gains[n] * factor**0.7, lo, min(hi, GAIN_MAX.get(_pair(n), hi))))
    write_gains()
    response = measure(fitted, size=size)
    paired = pair_mean(response)
    weak = sorted(n for n, v in paired.items() if v < 0.04)
    for n in weak:  # MediaPipe does not read these: keep the anatomical magnitude
        gains[n] = 1.0
    all_gains = {**kept, **gains}
    all_response = {**previous.get("response_at_half_command", {}), **response} if names else response
    unread = set(previous.get("not_read_by_mediapipe", [])) - set(fitted) if names else set()
    doc = {
        **(previous if names else {}),
        "gains": {k: round(all_gains[k], 3) for k in [*CALIBRATED, *all_gains] if k in all_gains},
        "response_at_half_command": {k: round(v, 3) for k, v in all_response.items()},
        "not_read_by_mediapipe": sorted(unread | set(weak)),
        "portraits": ["skimage.data.astronaut", "matplotlib sample grace_hopper.jpg"],
        "size": size,
        "target_response": TARGET_RESPONSE,
        "command": "python -m emotive.generators.face.calibrate",
    }
    if not names:
        for key in ("jaw_crosstalk", "jaw_crosstalk_levels"):  # measured separately; kept across a gain refit
            if key in previous:
                doc[key] = previous[key]
    path.write_text(json.dumps(doc, indent=1) + "\n")
    rig.calibrated_gains.cache_clear()
    return doc


JAW_CROSSTALK_SHAPES = (
    "mouthSmile", "mouthFrown", "mouthStretch", "mouthUpperUp", "mouthLowerDown", "mouthPress", "mouthDimple",
    "mouthPucker", "mouthFunnel", "mouthShrugLower", "mouthShrugUpper", "mouthRollLower", "mouthRollUpper",
)  # fmt: skip
"""Lip shapes whose effect on the re-read jawOpen is measured (Left/Right pairs together)."""
JAW_LEVELS = (0.15, 0.3, 0.5, 0.7)
"""Jaw openings at which the cross-talk is measured; the rig interpolates between them (:func:`rig.crosstalk_at`).
The effect shrinks as the mouth opens (2026-11-22, astronaut + Grace Hopper, per side: mouthSmile -0.90 / -0.61 /
-0.42 / -0.37, mouthFrown 0.67 / 0.40 / 0.25 / 0.12, mouthStretch -0.31 / -0.31 / -0.33 / -0.22), so the first
calibration's single value (the mean at 0.15 and 0.3) over-corrected wide openings: under fear's full lip stretch the
drive sat in the soft ceiling and the mouth stopped following the speech."""


def measure_jaw_crosstalk(portraits=None, size: int = 256, level: float = LEVEL) -> dict[str, list[float]]:
    """Log change of the re-read jawOpen per unit of each lip shape, at each jaw opening of :data:`JAW_LEVELS`.

    For each portrait and jaw level j: x = ln(read(jaw j + shape at ``level``) / read(jaw j alone)) / ``level``,
    averaged over portraits; reads below 0.02 are floored there. Left/Right pairs are commanded together and each
    side gets half of the coefficient. Measured with no cross-talk correction. Returns {shape: [x per level]}.
    """
    portraits = portraits if portraits is not None else default_portraits()
    j = BLENDSHAPE_INDEX["jawOpen"]
    logs: dict[str, list[list[float]]] = {n: [[] for _ in JAW_LEVELS] for n in JAW_CROSSTALK_SHAPES}
    rig.calibrated_jaw_crosstalk.cache_clear()
    rig.calibrated_jaw_crosstalk().clear()  # the cached mapping, emptied: measure the bare rig
    try:
        with FaceAnalyzer(min_face_px=32) as fa:
            for src in portraits:
                r = PortraitRenderer(prepare_portrait(src, size, analyzer=fa))
                for li, jl in enumerate(JAW_LEVELS):
                    b0 = np.zeros(52, np.float32)
                    b0[j] = jl
                    base = max(float(fa.analyze(r.render_frame(b0)).blendshapes[j]), 0.02)
                    for n in JAW_CROSSTALK_SHAPES:
                        b = b0.copy()
                        for side in ("Left", "Right", ""):
                            if n + side in BLENDSHAPE_INDEX:
                                b[BLENDSHAPE_INDEX[n + side]] = level
                        read = max(float(fa.analyze(r.render_frame(b)).blendshapes[j]), 0.02)
                        logs[n][li].append(float(np.log(read / base)) / level)
    finally:
        rig.calibrated_jaw_crosstalk.cache_clear()
    out: dict[str, list[float]] = {}
    for n, per_level in logs.items():
        sides = [n + s for s in ("Left", "Right") if n + s in BLENDSHAPE_INDEX]
        for k in sides or [n]:
            out[k] = [round(float(np.mean(v)) / len(sides or [n]), 3) for v in per_level]
    return out


def calibrate_jaw_crosstalk(size: int = 256, path: Path | None = None) -> dict[str, list[float]]:
    """Measure :func:`measure_jaw_crosstalk` and store it under ``jaw_crosstalk`` (and its levels under
    ``jaw_crosstalk_levels``) in ``rig_gains.json`` (the gains are kept)."""
    path = path or Path(rig.__file__).with_name("rig_gains.json")
    xt = measure_jaw_crosstalk(size=size)
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc["jaw_crosstalk"] = xt
    doc["jaw_crosstalk_levels"] = list(JAW_LEVELS)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    rig.calibrated_jaw_crosstalk.cache_clear()
    rig.jaw_crosstalk_levels.cache_clear()
    return xt


PORTRAIT_SHAPES = ("jawOpen",)
"""Shapes fitted per portrait. The jaw reads back very differently from face to face (half command, 256 px:
0.71 on the astronaut, 0.29 on luispedro), and on the face bench (140 videos, 5 portraits) its pooled
commanded-vs-re-read correlation was 0.69 with the global gain alone, 0.79 with this fit. Fitting the smile and
brows too (measured 2026-11-22, session 6) lowered their pooled correlations (browInnerUp 0.68 -> 0.67, smile
0.82 -> 0.77): their single-shape response does not predict how they read inside expressions."""
PORTRAIT_GAIN_RANGE = (0.7, 1.4)
"""Per-portrait factors stay close to 1: they correct how one face shows a movement to the reader (deep-set
eyes, a beard, a three-quarter view), not the anatomy the global gains set."""
PORTRAIT_UNREAD = 0.3
"""A shape whose response on a portrait is below this fraction of the reference is not shown by that face
(e.g. lowered brows under bushy hair): its gain stays 1 rather than being driven to the range's top."""


def measure_portrait_reference(size: int = 256, path: Path | None = None) -> dict[str, float]:
    """The calibration portraits' mean response (:func:`measure`) for :data:`PORTRAIT_SHAPES` with the current
    gains, stored as ``portrait_reference`` in ``rig_gains.json`` (what :func:`fit_portrait_gains` aims at)."""
    path = path or Path(rig.__file__).with_name("rig_gains.json")
    ref = {k: round(v, 3) for k, v in measure(PORTRAIT_SHAPES, size=size).items()}
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc["portrait_reference"] = ref
    path.write_text(json.dumps(doc, indent=1) + "\n")
    rig.portrait_reference.cache_clear()
    return ref


def fit_portrait_gains(renderer: PortraitRenderer, analyzer: FaceAnalyzer | None = None) -> dict[str, float]:
    """Fit per-portrait gain factors and apply them to ``renderer.rig`` (returns them; {} without a reference).

    The global gains were fitted on two portraits, and the same command reads back very differently on other
    faces (MediaPipe, half command, 2026-11-22: browInnerUp 0.52 on the astronaut, 0.07 on Grace Hopper; jawOpen
    0.71 vs 0.29 on mahotas's luispedro). Each shape in :data:`PORTRAIT_SHAPES` is rendered alone at
    :data:`LEVEL` on this portrait and re-read; its factor is ``(reference / response) ** 0.7`` (one round of
    :func:`calibrate_gains`'s update), clipped to :data:`PORTRAIT_GAIN_RANGE`, Left/Right sharing their
    geometric mean, and 1 where the face does not show the shape (:data:`PORTRAIT_UNREAD`) or where the reader
    loses the face at that command (einstein.jpg at 256 px from jaw 0.4 on: no measurement, no correction; the
    range's bottom there cut his lip-sync correlation from 0.40 to 0.29). Costs one re-read per shape (~0.3 s).
    """
    ref = rig.portrait_reference()
    if not ref:
        return {}
    own = analyzer is None
    fa = analyzer or FaceAnalyzer(min_face_px=32)
    lo, hi = PORTRAIT_GAIN_RANGE
    try:
        face, _ = fa.detect(renderer.render_frame(np.zeros(52, np.float32)))
        if face is None:
            return {}
        base = face.blendshapes
        raw: dict[str, float] = {}
        for n in PORTRAIT_SHAPES:
            if ref.get(n, 0.0) < 0.05:
                continue
            k = BLENDSHAPE_INDEX[n]
            b = np.zeros(52, np.float32)
            b[k] = LEVEL
            read, _ = fa.detect(renderer.render_frame(b))
            if read is None:
                continue
            resp = float(read.blendshapes[k] - base[k])
            unread = resp < PORTRAIT_UNREAD * ref[n]
            raw[n] = 1.0 if unread else float(np.clip((ref[n] / resp) ** 0.7, lo, hi))
    finally:
        if own:
            fa.close()
    factors: dict[str, float] = {}
    for n, f in raw.items():
        sides = [m for m in raw if _pair(m) == _pair(n)]
        f = float(np.exp(np.mean([np.log(raw[m]) for m in sides])))
        cap = GAIN_MAX.get(_pair(n))
        if cap is not None:
            f = min(f, cap / rig.calibrated_gains().get(n, 1.0))
        factors[n] = round(f, 3)
    renderer.rig.scale_shapes(factors)
    return factors


if __name__ == "__main__":
    import sys

    import torch

    torch.set_num_threads(1)
    if "--portrait-reference" in sys.argv[1:]:
        print(json.dumps(measure_portrait_reference(), indent=1))
        raise SystemExit(0)
    shapes = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--shapes=")]
    if shapes:  # refit a few shapes after a change to their basis; nothing else is touched
        print(json.dumps(calibrate_gains(names=tuple(shapes[0].split(","))), indent=1))
        raise SystemExit(0)
    if "--crosstalk" not in sys.argv[1:]:
        print(json.dumps(calibrate_gains(), indent=1))
    print(json.dumps(calibrate_jaw_crosstalk(), indent=1))
    print(json.dumps(measure_portrait_reference(), indent=1))
