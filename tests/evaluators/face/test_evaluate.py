"""The face judge on synthetic videos made here with plain OpenCV/imageio (no generator imported)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from emotive.evaluators.face.errors import ImageInputError, NoFaceError
from emotive.evaluators.face.evaluate import evaluate, lip_sync, lip_sync_curve, read_motion_curves


def _write(path, frames, audio=None, sr=16000):
    import imageio_ffmpeg
    import soundfile as sf

    kw = {}
    if audio is not None:
        wav = path.with_suffix(".wav")
        sf.write(wav, audio, sr)
        kw = {"audio_path": str(wav), "audio_codec": "aac"}
    gen = imageio_ffmpeg.write_frames(str(path), frames[0].shape[1::-1], fps=25, codec="libx264",
                                      pix_fmt_out="yuv420p", output_params=["-crf", "18"], **kw)  # fmt: skip
    gen.send(None)
    for f in frames:
        gen.send(np.ascontiguousarray(f))
    gen.close()


def test_lip_sync_finds_the_lag():
    rng = np.random.default_rng(0)
    energy = np.convolve(rng.normal(size=200), np.ones(4) / 4, mode="same")
    jaw = np.roll(energy, 2) + 0.05 * rng.normal(size=200)  # mouth 2 frames after the sound
    r, lag = lip_sync(jaw, energy)
    assert lag == 2 and r > 0.9


def test_lip_sync_curve_peaks_at_the_lag_and_agrees_with_lip_sync():
    rng = np.random.default_rng(1)
    energy = np.convolve(rng.normal(size=150), np.ones(4) / 4, mode="same")
    jaw = np.roll(energy, -1) + 0.05 * rng.normal(size=150)  # mouth 1 frame before the sound
    c = lip_sync_curve(jaw, energy)
    assert c.shape == (7,) and not np.isnan(c).any()
    assert int(np.argmax(c)) - 3 == -1
    r, lag = lip_sync(jaw, energy)
    assert lag == -1 and r == c.max()
    assert np.isnan(lip_sync_curve(np.zeros(50), energy[:50])).all()
    assert lip_sync(np.zeros(50), energy[:50]) == (None, None)


def test_still_astronaut_video(tmp_path):
    import cv2

    img = cv2.resize(skimage.data.astronaut()[20:320, 100:400], (256, 256))
    frames = [img] * 20
    t = np.arange(int(0.8 * 16000)) / 16000
    _write(tmp_path / "still.mp4", frames, 0.2 * np.sin(2 * np.pi * 200 * t))
    motion = tmp_path / "m.csv"
    motion.write_text("frame,time,jawOpen\n" + "".join(f"{i},{i / 25:.2f},0.0\n" for i in range(20)))
    v = evaluate(tmp_path / "still.mp4", "happy", motion=motion, portrait=img)
    assert v.label == "happy" and v.matches and v.modality == "face"
    assert v.figures["face_frames"] == 20
    assert v.figures["identity_drift_max_pct"] < 1.0  # a still photo keeps its shape (H.264 noise only)
    assert v.figures["corr_jawOpen"] is None  # a constant command has no correlation
    assert read_motion_curves(motion)["jawOpen"].shape == (20,)
    assert v.figures["identity_frames"] == 20


def test_identity_uses_the_commanded_closure(tmp_path):
    """With the motion given, the closed-mouth frames are the ones commanded closed (MediaPipe reads some closed
    mouths well above 0.1); without it, the re-read jaw decides (a still, closed-mouth photo: every frame)."""
    import cv2

    img = cv2.resize(skimage.data.astronaut()[20:320, 100:400], (256, 256))
    _write(tmp_path / "still.mp4", [img] * 20)
    motion = tmp_path / "m.csv"
    motion.write_text("frame,time,jawOpen\n" + "".join(f"{i},{i / 25:.2f},{0.0 if i < 7 else 0.4}\n" for i in range(20)))
    with_motion = evaluate(tmp_path / "still.mp4", motion=motion, portrait=img)
    without = evaluate(tmp_path / "still.mp4", portrait=img)
    assert with_motion.figures["identity_frames"] == 7
    assert without.figures["identity_frames"] == 20


def test_bad_videos(tmp_path):
    with pytest.raises(ImageInputError, match="does not exist"):
        evaluate(tmp_path / "none.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(ImageInputError, match="not a readable video"):
        evaluate(bad)
    _write(tmp_path / "coffee.mp4", [skimage.data.coffee()[:256, :256]] * 5)
    with pytest.raises(NoFaceError, match="No face"):
        evaluate(tmp_path / "coffee.mp4")


def test_identity_drift_ignores_pose_in_the_image_plane_and_counts_shape():
    """Moving, scaling or rolling the whole face is not drift; moving the rigid points is, in % of face width."""
    from emotive.evaluators.face.analysis import region_indices
    from emotive.evaluators.face.evaluate import RIGID, identity_drift_pct

    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 200, (478, 2))
    a = np.radians(12.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    assert identity_drift_pct(1.7 * ref @ rot.T + [30.0, -5.0], ref) == pytest.approx(0.0, abs=1e-9)
    idx = list(region_indices()["face_oval"]) + list(RIGID)
    w = np.ptp(ref[:, 0])

    def moved(k: float) -> np.ndarray:
        m = ref.copy()
        m[idx[:5], 1] += k * w  # five outline points down by k face widths
        return m

    small, double = identity_drift_pct(moved(0.02), ref), identity_drift_pct(moved(0.04), ref)
    raw = 2.0 * 5 / len(idx)  # the mean move in %, before the alignment spreads it over all rigid points
    assert 0.5 * raw < small < 2.5 * raw
    assert double == pytest.approx(2 * small, rel=0.05)
    other = ref.copy()
    other[[i for i in range(478) if i not in idx][:50]] += 40.0  # lips, brows, lids: expression, not identity
    assert identity_drift_pct(other, ref) == pytest.approx(0.0, abs=1e-9)


def test_bad_side_inputs_and_too_long_videos_are_refused(tmp_path):
    """A motion file that cannot be read, a portrait with no face, a video over the length limit: each is one
    clear error (before the frames are judged), not a silent omission or a judgement of the first part only."""
    import cv2

    from emotive.evaluators.face.evaluate import iter_video

    img = cv2.resize(skimage.data.astronaut()[20:320, 100:400], (256, 256))
    video = tmp_path / "still.mp4"
    _write(video, [img] * 25)  # 1 s
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"a": 1}')
    (tmp_path / "nocols.csv").write_text("a,b\n1,2\n")
    for name, words in [("none.csv", "does not exist"), ("bad.json", "not a motion file"),
                        ("other.json", "not a motion file"), ("nocols.csv", "not a motion file")]:  # fmt: skip
        with pytest.raises(ImageInputError, match=words):
            evaluate(video, motion=tmp_path / name)
    with pytest.raises(NoFaceError, match="identity reference"):
        evaluate(video, portrait=skimage.data.coffee())
    with pytest.raises(ImageInputError, match=r"is 1\.0 s long; the face evaluator takes at most 0\.5 s"):
        iter_video(video, max_seconds=0.5)
    frames, fps = iter_video(video, max_seconds=30)
    assert fps == 25 and sum(1 for _ in frames) == 25
