"""The face motion space: 52 ARKit blendshapes + head rotation/translation per frame.

One :class:`FaceMotion` is what the motion model samples, what the renderer
plays, and what ``--motion-out`` exports for 3D avatar tools:

- ``blendshapes`` [T, 52] in [0, 1], ARKit names and order
  (:data:`emotive.evaluators.face.blendshapes.ARKIT_NAMES`);
- ``rotation`` [T, 3] degrees (pitch, yaw, roll) *relative to the portrait's rest pose*,
  same axes as MediaPipe's facial transformation matrix (x right, y up, z toward the viewer;
  R = Rz(roll) Ry(yaw) Rx(pitch));
- ``translation`` [T, 3] centimetres (x, y, z), relative to the rest pose, same axes;
- ``fps`` 25 by default (the frame rate of MEAD/HDTF-style talking-face data and of our renderer).

CSV: one row per frame, columns ``frame, time`` then the 52 ARKit names, then
``headPitch, headYaw, headRoll, headX, headY, headZ``. JSON: ``{"format": "emotive-face-motion",
"version": 1, "fps", "units", "names", "frames": [{"time", "blendshapes": {name: v}, "head": {...}}]}``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotive.conditioning.errors import EmotiveError
from emotive.conditioning.files import atomic_output
from emotive.evaluators.face.blendshapes import ARKIT_NAMES, BLENDSHAPE_INDEX, NUM_BLENDSHAPES

FPS = 25
FORMAT = "emotive-face-motion"
VERSION = 1
HEAD_COLUMNS: tuple[str, ...] = ("headPitch", "headYaw", "headRoll", "headX", "headY", "headZ")
MOTION_DIM = NUM_BLENDSHAPES + 6
"""Features per frame in :meth:`FaceMotion.to_array`: 52 blendshapes + 3 rotation (deg) + 3 translation (cm)."""
MAX_ROTATION_DEG = 45.0
MAX_TRANSLATION_CM = 20.0


LID_GAZE_COUPLING = 1.0
"""Lids follow gaze: the commanded eyeBlink is at least this times eyeLookDown (per eye), see :func:`lids_follow_gaze`.
1.0 (the lid keeps pace with the eye, Becker & Fuchs 1988); face bench 2026-11-22: 0.7 -> 1.0 FER 0.54 -> 0.57
(the second astronaut sad video flips), browInnerUp honesty 0.64 -> 0.65, lip r 0.635 -> 0.632."""


def lids_follow_gaze(blendshapes: np.ndarray, k: float = LID_GAZE_COUPLING) -> np.ndarray:
    """Blendshapes [T, 52] with each eye's eyeBlink raised to at least ``k`` x its eyeLookDown (a copy).

    The upper lid follows vertical gaze (lid-eye coordination: Becker & Fuchs 1988, J. Neurophysiol.
    60:1227), and ARKit captures of real faces read lowered eyes partly as eyeBlink. The motion model and
    the expression prototypes lower the eyes (AU64) without lowering the lids, so sad faces kept wide-open
    eyes. The rule is applied to the motion itself, so the commanded curves (CSV/JSON) state what is
    rendered. Measured on the face bench (2026-11-22, with mouthFrown gain 1.6): see the motion model card.
    """
    b = np.array(blendshapes, np.float32, copy=True)
    for side in ("Left", "Right"):
        blink, down = BLENDSHAPE_INDEX[f"eyeBlink{side}"], BLENDSHAPE_INDEX[f"eyeLookDown{side}"]
        b[..., blink] = np.clip(np.maximum(b[..., blink], k * b[..., down]), 0.0, 1.0)
    return b


class MotionFormatError(EmotiveError, ValueError):
    """A motion file or array is malformed."""


@dataclass
class FaceMotion:
    """A face performance: blendshapes [T, 52], rotation [T, 3] deg, translation [T, 3] cm, at ``fps``."""

    blendshapes: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    fps: float = FPS
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.blendshapes = np.asarray(self.blendshapes, dtype=np.float32)
        t = len(self.blendshapes)
        self.rotation = np.asarray(self.rotation, dtype=np.float32).reshape(t, 3)
        self.translation = np.asarray(self.translation, dtype=np.float32).reshape(t, 3)
        if self.blendshapes.ndim != 2 or self.blendshapes.shape[1] != NUM_BLENDSHAPES:
            raise MotionFormatError(
                f"blendshapes must be [T, {NUM_BLENDSHAPES}], got {self.blendshapes.shape}"
            )
        for name, a in (
            ("blendshapes", self.blendshapes),
            ("rotation", self.rotation),
            ("translation", self.translation),
        ):
            if not np.isfinite(a).all():
                raise MotionFormatError(f"the motion's {name} contain NaN or infinite values")
        if not (self.fps > 0):
            raise MotionFormatError(f"fps must be positive, got {self.fps}")
        np.clip(self.blendshapes, 0.0, 1.0, out=self.blendshapes)
        np.clip(self.rotation, -MAX_ROTATION_DEG, MAX_ROTATION_DEG, out=self.rotation)
        np.clip(self.translation, -MAX_TRANSLATION_CM, MAX_TRANSLATION_CM, out=self.translation)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def zeros(cls, num_frames: int, fps: float = FPS) -> FaceMotion:
        """A still, neutral motion of ``num_frames`` frames."""
        return cls(
            np.zeros((num_frames, NUM_BLENDSHAPES)), np.zeros((num_frames, 3)), np.zeros((num_frames, 3)), fps
        )

    @classmethod
    def from_array(cls, a: np.ndarray, fps: float = FPS) -> FaceMotion:
        """From features [T, 58] (see :data:`MOTION_DIM`)."""
        a = np.asarray(a, dtype=np.float32)
        if a.ndim != 2 or a.shape[1] != MOTION_DIM:
            raise MotionFormatError(f"motion features must be [T, {MOTION_DIM}], got {a.shape}")
        return cls(
            a[:, :NUM_BLENDSHAPES],
            a[:, NUM_BLENDSHAPES : NUM_BLENDSHAPES + 3],
            a[:, NUM_BLENDSHAPES + 3 :],
            fps,
        )

    def to_array(self) -> np.ndarray:
        """Features [T, 58]: blendshapes, rotation (deg), translation (cm)."""
        return np.concatenate([self.blendshapes, self.rotation, self.translation], axis=1)

    # --- access ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.blendshapes)

    @property
    def num_frames(self) -> int:
        return len(self.blendshapes)

    @property
    def duration(self) -> float:
        """Seconds."""
        return len(self) / self.fps

    @property
    def times(self) -> np.ndarray:
        """Frame times [T] in seconds."""
        return np.arange(len(self)) / self.fps

    def curve(self, name: str) -> np.ndarray:
        """One blendshape's curve [T] by ARKit name, or a head column (headPitch ... headZ)."""
        if name in HEAD_COLUMNS:
            i = HEAD_COLUMNS.index(name)
            return (self.rotation if i < 3 else self.translation)[:, i % 3]
        if name not in BLENDSHAPE_INDEX:
            raise KeyError(f"unknown curve {name!r}; use an ARKit name or one of {HEAD_COLUMNS}")
        return self.blendshapes[:, BLENDSHAPE_INDEX[name]]

    def slice(self, start: int, stop: int) -> FaceMotion:
        return FaceMotion(
            self.blendshapes[start:stop],
            self.rotation[start:stop],
            self.translation[start:stop],
            self.fps,
            dict(self.meta),
        )

    # --- export ------------------------------------------------------------------------
    def to_csv_string(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["frame", "time", *ARKIT_NAMES, *HEAD_COLUMNS])
        for i in range(len(self)):
            row = [i, f"{i / self.fps:.4f}"]
            row += [f"{v:.4f}" for v in self.blendshapes[i]]
            row += [f"{v:.3f}" for v in self.rotation[i]] + [f"{v:.3f}" for v in self.translation[i]]
            w.writerow(row)
        return buf.getvalue()

    def to_json_dict(self) -> dict:
        frames = [
            {
                "time": round(i / self.fps, 4),
                "blendshapes": {n: round(float(v), 4) for n, v in zip(ARKIT_NAMES, self.blendshapes[i])},
                "head": {
                    c: round(float(v), 3)
                    for c, v in zip(HEAD_COLUMNS, [*self.rotation[i], *self.translation[i]])
                },
            }
            for i in range(len(self))
        ]
        return {
            "format": FORMAT,
            "version": VERSION,
            "fps": self.fps,
            "units": {
                "blendshapes": "ARKit coefficients in [0, 1]",
                "headPitch/headYaw/headRoll": "degrees, relative to the portrait's rest pose "
                "(x right, y up, z toward viewer; R = Rz(roll) Ry(yaw) Rx(pitch))",
                "headX/headY/headZ": "centimetres, relative to the rest pose",
            },
            "names": list(ARKIT_NAMES),
            "meta": self.meta,
            "frames": frames,
        }

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write ``.csv`` or ``.json`` (chosen by suffix) atomically."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise MotionFormatError(f"motion files are .csv or .json, not '{p.suffix or p.name}'")
        text = self.to_csv_string() if suffix == ".csv" else json.dumps(self.to_json_dict(), indent=1)
        with atomic_output(p, overwrite=overwrite) as tmp:
            tmp.write_text(text)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> FaceMotion:
        """Read a motion written by :meth:`save` (CSV or JSON). Missing blendshape columns read as 0."""
        p = Path(path)
        if not p.exists():
            raise MotionFormatError(f"The motion file '{p}' does not exist.")
        try:
            if p.suffix.lower() == ".json":
                return cls._from_json(json.loads(p.read_text()))
            return cls._from_csv(p.read_text())
        except MotionFormatError:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise MotionFormatError(f"'{p.name}' is not a valid face-motion file: {e}") from None

    @classmethod
    def _from_csv(cls, text: str) -> FaceMotion:
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise MotionFormatError("the motion CSV has no frames")
        t = len(rows)
        bs = np.zeros((t, NUM_BLENDSHAPES), np.float32)
        head = np.zeros((t, 6), np.float32)
        for i, r in enumerate(rows):
            for j, n in enumerate(ARKIT_NAMES):
                if r.get(n) not in (None, ""):
                    bs[i, j] = float(r[n])
            for j, n in enumerate(HEAD_COLUMNS):
                if r.get(n) not in (None, ""):
                    head[i, j] = float(r[n])
        fps = FPS
        if t > 1 and rows[0].get("time") not in (None, "") and rows[1].get("time") not in (None, ""):
            dt = float(rows[1]["time"]) - float(rows[0]["time"])
            if dt > 0:
                fps = round(1.0 / dt, 3)
        return cls(bs, head[:, :3], head[:, 3:], fps)

    @classmethod
    def _from_json(cls, d: dict) -> FaceMotion:
        if d.get("format") != FORMAT:
            raise MotionFormatError(f"not an {FORMAT} file (format={d.get('format')!r})")
        if int(d.get("version", 0)) > VERSION:
            raise MotionFormatError(
                f"motion file version {d['version']} is newer than this emotive ({VERSION})"
            )
        frames = d["frames"]
        t = len(frames)
        bs = np.zeros((t, NUM_BLENDSHAPES), np.float32)
        head = np.zeros((t, 6), np.float32)
        for i, fr in enumerate(frames):
            for n, v in fr["blendshapes"].items():
                if n in BLENDSHAPE_INDEX:
                    bs[i, BLENDSHAPE_INDEX[n]] = v
            for j, n in enumerate(HEAD_COLUMNS):
                head[i, j] = fr.get("head", {}).get(n, 0.0)
        return cls(bs, head[:, :3], head[:, 3:], float(d.get("fps", FPS)), dict(d.get("meta", {})))
