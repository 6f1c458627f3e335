"""Expression wrinkles: drawn where FACS puts them, only beyond the portrait's rest, moving with the face."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from emotive.evaluators.face.analysis import FaceAnalyzer
from emotive.evaluators.face.blendshapes import BLENDSHAPE_INDEX as I
from emotive.evaluators.face.blendshapes import NUM_BLENDSHAPES
from emotive.generators.face.render import PortraitRenderer, prepare_portrait
from emotive.generators.face.rig import response
from emotive.generators.face.wrinkles import BROW_INNER_TOP, NOSE_ROOT, paint_wrinkles, wrinkle_strokes


@pytest.fixture(scope="module")
def portrait():
    with FaceAnalyzer(min_face_px=32) as fa:
        return prepare_portrait(skimage.data.astronaut(), 256, analyzer=fa)


def _drive(**values: float) -> np.ndarray:
    d = np.zeros(NUM_BLENDSHAPES, np.float32)
    for k, v in values.items():
        d[I[k]] = v
    return d


def test_no_action_no_strokes(portrait):
    strokes, iod = wrinkle_strokes(portrait.face.landmarks, _drive())
    assert strokes == [] and iod > 10


def test_each_action_draws_its_own_folds(portrait):
    lm = portrait.face.landmarks[:, :2]
    brow_mid = lm[list(BROW_INNER_TOP)].mean(axis=0)
    iod = wrinkle_strokes(lm, _drive())[1]

    furrows, _ = wrinkle_strokes(lm, _drive(browDownLeft=1.0, browDownRight=1.0))
    assert len(furrows) == 2  # two vertical glabella furrows, one each side of the midline
    for line, depth in furrows:
        assert abs(line[-1, 1] - line[0, 1]) > 2 * abs(line[-1, 0] - line[0, 0])  # vertical
        assert abs(line[:, 0].mean() - brow_mid[0]) < 0.2 * iod
        assert depth > 0.3

    lines, _ = wrinkle_strokes(lm, _drive(browInnerUp=1.0))
    assert len(lines) == 3 and all(line[:, 1].max() < brow_mid[1] for line, _ in lines)  # above the brows
    wide, _ = wrinkle_strokes(lm, _drive(browInnerUp=1.0, browOuterUpLeft=1.0, browOuterUpRight=1.0))
    span = lambda s: float(np.ptp(s[0][0][:, 0]))  # noqa: E731
    assert span(wide) > 1.5 * span(lines)  # AU1+2 wrinkles the whole forehead, AU1 its middle

    nose, _ = wrinkle_strokes(lm, _drive(noseSneerLeft=0.8, noseSneerRight=0.8))
    assert len(nose) == 6  # two oblique lines beside the nose root on each side + two nasolabial furrows
    root = [line for line, _ in nose if np.linalg.norm(line[0] - lm[NOSE_ROOT]) < 0.2 * iod]
    assert len(root) == 4
    sides = [np.sign(line[:, 0].mean() - lm[NOSE_ROOT, 0]) for line in root]
    assert sorted(sides) == [-1, -1, 1, 1]
    for line in root:  # running down and away from the midline
        off_mid = np.abs(line[:, 0] - lm[NOSE_ROOT, 0])
        assert line[-1, 1] > line[0, 1] and off_mid[-1] > off_mid[0]

    weak = wrinkle_strokes(lm, _drive(browDownLeft=0.3, browDownRight=0.3))[0]
    assert weak[0][1] == pytest.approx(0.3 * furrows[0][1])  # depth follows the drive


def test_strokes_move_with_the_face(portrait):
    lm = portrait.face.landmarks[:, :2].astype(np.float64)
    d = _drive(browDownLeft=0.8, browDownRight=0.8, browInnerUp=0.5)
    a, _ = wrinkle_strokes(lm, d)
    b, _ = wrinkle_strokes(lm + np.array([7.0, -4.0]), d)
    for (la, da), (lb, db) in zip(a, b):
        np.testing.assert_allclose(lb - la, np.broadcast_to([7.0, -4.0], la.shape), atol=1e-9)
        assert da == db


def test_furrows_darken_the_glabella_only(portrait):
    lm = portrait.face.landmarks[:, :2]
    frame = portrait.image.copy()
    paint_wrinkles(frame, lm, _drive(browDownLeft=1.0, browDownRight=1.0))
    diff = portrait.image.astype(int) - frame.astype(int)
    assert diff.min() >= 0  # only darkens
    ys, xs = np.nonzero(diff.max(axis=2) > 3)
    mid = lm[list(BROW_INNER_TOP)].mean(axis=0)
    iod = wrinkle_strokes(lm, _drive())[1]
    assert len(xs) > 20
    assert np.abs(xs - mid[0]).max() < 0.3 * iod and np.abs(ys - mid[1]).max() < 0.5 * iod
    # A fold is deepest in its middle and fades out at its ends (no drawn-on stripes).
    line = wrinkle_strokes(lm, _drive(browDownLeft=1.0, browDownRight=1.0))[0][0][0]
    dark = diff.max(axis=2)
    at = lambda q: int(dark[round(q[1]), round(q[0])])  # noqa: E731
    assert at(line[1]) > 2 * max(at(line[0]), at(line[-1]), 1)


def test_renderer_draws_wrinkles_only_beyond_the_rest(portrait):
    with_w = PortraitRenderer(portrait)
    without = PortraitRenderer(portrait, wrinkles=False)
    zero = np.zeros(NUM_BLENDSHAPES, np.float32)
    assert np.array_equal(with_w.render_frame(zero), without.render_frame(zero))
    brows = _drive(browDownLeft=0.9, browDownRight=0.9)
    assert (response(brows) - with_w.rig.rest_bs)[I["browDownLeft"]] > 0.5
    a, b = with_w.render_frame(brows), without.render_frame(brows)
    assert (b.astype(int) - a.astype(int)).max() > 20  # a visible furrow
    assert with_w.render_frame(brows).tobytes() == a.tobytes()  # deterministic
    # A photo that already frowns as much as commanded is not given the furrows a second time.
    for r in (with_w, without):
        r.rig.rest_bs = r.rig.rest_bs.copy()
        r.rig.rest_bs[[I["browDownLeft"], I["browDownRight"]]] = 0.9
    assert np.array_equal(with_w.render_frame(brows), without.render_frame(brows))
