"""Motion space, phone timing, visemes with coarticulation, FACS expressions, procedural synthesis."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from emotive.conditioning import EmotiveError
from emotive.evaluators.face.blendshapes import ARKIT_NAMES
from emotive.generators.face.expressions import PROTOTYPE_BLENDSHAPES, expression_blendshapes
from emotive.generators.face.motion import MOTION_DIM, FaceMotion, MotionFormatError
from emotive.generators.face.phones import (
    Phone,
    PhoneTimingError,
    fill_silences,
    ipa_to_arpabet,
    phones_from_manifest_row,
    phones_from_text,
    speech_segments,
)
from emotive.generators.face.procedural import MotionStyle, energy_envelope, synthesize_motion
from emotive.generators.face.visemes import viseme_curves


def _timed(seq: str, dur: float = 0.12, start: float = 0.2) -> list[Phone]:
    out, t = [], start
    for p in seq.split():
        out.append(Phone(p, t, t + dur))
        t += dur
    return fill_silences(out, t + 0.3)


# --- motion space ---------------------------------------------------------------


def test_motion_csv_json_round_trip(tmp_path):
    m = synthesize_motion(_timed("HH AH L OW"), "happy", rng=3)
    for suffix in (".csv", ".json"):
        p = m.save(tmp_path / f"m{suffix}")
        back = FaceMotion.load(p)
        assert back.num_frames == m.num_frames and back.fps == pytest.approx(25)
        assert np.abs(back.to_array() - m.to_array()).max() < 1e-3
    header = (tmp_path / "m.csv").read_text().splitlines()[0].split(",")
    assert header[2:54] == list(ARKIT_NAMES) and header[-6:] == [
        "headPitch",
        "headYaw",
        "headRoll",
        "headX",
        "headY",
        "headZ",
    ]
    d = json.loads((tmp_path / "m.json").read_text())
    assert d["format"] == "emotive-face-motion" and set(d["frames"][0]["blendshapes"]) == set(ARKIT_NAMES)
    with pytest.raises(EmotiveError, match="already exists"):
        m.save(tmp_path / "m.csv")
    with pytest.raises(MotionFormatError, match=r"\.csv or \.json"):
        m.save(tmp_path / "m.txt")


def test_motion_validation(tmp_path):
    with pytest.raises(MotionFormatError, match="NaN"):
        FaceMotion(np.full((3, 52), np.nan), np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(MotionFormatError, match=r"\[T, 52\]"):
        FaceMotion(np.zeros((3, 51)), np.zeros((3, 3)), np.zeros((3, 3)))
    m = FaceMotion(np.full((2, 52), 1.5), np.full((2, 3), 90.0), np.zeros((2, 3)))
    assert m.blendshapes.max() == 1.0 and m.rotation.max() == 45.0
    assert FaceMotion.from_array(m.to_array()).to_array().shape == (2, MOTION_DIM)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(MotionFormatError):
        FaceMotion.load(bad)


# --- phones ------------------------------------------------------------------------


def test_manifest_rows():
    row = {"phones": [{"phone": "HH", "start": 0.1, "end": 0.2}, {"phone": "AH0", "start": 0.2, "end": 0.3},
                      {"phone": "sp", "start": 0.3, "end": 0.4}]}  # fmt: skip
    ph = phones_from_manifest_row(row)
    assert [p.phone for p in ph] == ["HH", "AH", "sil"] and not ph[1].stressed
    with pytest.raises(PhoneTimingError):
        phones_from_manifest_row({"phones": [{"phone": "QQ", "start": 0, "end": 1}]})
    with pytest.raises(PhoneTimingError):
        phones_from_manifest_row({"text": "no phones"})


def test_ipa_mapping():
    assert [p for p, _ in ipa_to_arpabet("t\u0283\u02c8\u025c\u02d0t\u0283")] == ["CH", "ER", "CH"]  # church
    assert [p for p, _ in ipa_to_arpabet("b\u02c8\u0254\u026a")] == ["B", "OY"]  # boy


def test_text_timing_and_audio_fit():
    ph = phones_from_text("Hello there, how are you?", duration=3.0)
    assert ph[0].phone == "sil" and ph[-1].end == pytest.approx(3.0)
    assert "HH AH L OW" in " ".join(p.phone for p in ph)
    assert all(b.start == pytest.approx(a.end) for a, b in itertools.pairwise(ph))
    # Two bursts of "speech" separated by silence -> the two clauses land on them.
    sr = 16000
    t = np.arange(int(2.0 * sr)) / sr
    audio = np.sin(2 * np.pi * 200 * t) * (((t > 0.2) & (t < 0.8)) | ((t > 1.2) & (t < 1.8)))
    assert len(speech_segments(audio, sr)) == 2
    ph = phones_from_text("Hello there, how are you?", audio=audio, sr=sr)
    speech = [p for p in ph if p.phone != "sil"]
    assert speech[0].start == pytest.approx(0.2, abs=0.03) and speech[-1].end == pytest.approx(1.8, abs=0.03)
    with pytest.raises(PhoneTimingError, match="silent"):
        phones_from_text("hello", audio=np.zeros(sr), sr=sr)
    with pytest.raises(PhoneTimingError):
        phones_from_text("   ")


# --- visemes ----------------------------------------------------------------------


def test_bilabials_close_the_lips():
    ph = _timed("AA M AA", dur=0.2)
    v = viseme_curves(ph, 30)
    jaw = v[:, ARKIT_NAMES.index("jawOpen")]
    press = v[:, ARKIT_NAMES.index("mouthPressLeft")]
    m_frame = round((0.2 + 0.3) * 25)  # middle of /m/
    a_frame = round((0.2 + 0.1) * 25)  # middle of the first /aa/
    assert jaw[m_frame] < 0.15 < 0.4 < jaw[a_frame]
    assert press[m_frame] > 0.25


def test_anticipatory_rounding():
    """/s/ before /uw/ is rounded, /s/ before /iy/ is spread (coarticulation)."""
    pucker = ARKIT_NAMES.index("mouthPucker")
    su = viseme_curves(_timed("S UW", dur=0.15), 20)
    si = viseme_curves(_timed("S IY", dur=0.15), 20)
    s_frame = round((0.2 + 0.075) * 25)
    assert su[s_frame, pucker] > si[s_frame, pucker] + 0.1
    # Sharper coarticulation (larger theta) keeps /s/ closer to its own target.
    sharp = viseme_curves(_timed("S UW", dur=0.15), 20, theta_scale=3.0)
    assert sharp[s_frame, pucker] < su[s_frame, pucker]


# --- expressions --------------------------------------------------------------------


def _bs(v, name):
    return float(v[ARKIT_NAMES.index(name)])


def test_facs_prototypes():
    p = PROTOTYPE_BLENDSHAPES
    assert _bs(p["happy"], "mouthSmileLeft") > 0.5 and _bs(p["happy"], "cheekSquintRight") > 0.5
    assert _bs(p["sad"], "mouthFrownLeft") > 0.5 and _bs(p["sad"], "browInnerUp") > 0.5
    assert _bs(p["surprised"], "jawOpen") > 0.3 and _bs(p["surprised"], "browOuterUpLeft") > 0.5
    assert _bs(p["angry"], "browDownLeft") > 0.5 and _bs(p["angry"], "mouthPressLeft") > 0.3
    assert _bs(p["disgusted"], "noseSneerLeft") > 0.5
    assert _bs(p["fearful"], "mouthStretchLeft") > 0.5 and _bs(p["fearful"], "eyeWideLeft") > 0.5
    assert not p["neutral"].any()
    # FACS 1+4 in ARKit terms: the raised inner brow takes over, AU4 keeps (1 - AU1) of its browDown.
    from emotive.generators.face.expressions import au_vector

    assert _bs(au_vector({4: 0.4}), "browDownLeft") == pytest.approx(0.4)
    assert _bs(au_vector({1: 0.6, 4: 0.4}), "browDownLeft") == pytest.approx(0.4 * (1 - 0.6))
    assert _bs(au_vector({1: 0.6, 4: 0.4}), "browInnerUp") == pytest.approx(0.6)
    assert _bs(au_vector({1: 0.6, 9: 1.0}), "browDownLeft") == pytest.approx(0.3)  # AU9's brow share is not AU4's
    assert _bs(p["sad"], "browDownLeft") < 0.2 < _bs(p["angry"], "browDownLeft")
    half = expression_blendshapes("happy:0.5")
    assert _bs(half, "mouthSmileLeft") == pytest.approx(
        0.5 * _bs(expression_blendshapes("happy"), "mouthSmileLeft")
    )
    mix = expression_blendshapes("0.5 happy + 0.5 surprised")
    assert _bs(mix, "mouthSmileLeft") > 0.1 and _bs(mix, "browOuterUpLeft") > 0.1


def test_emfacs_variants_parse_and_start_with_the_prototype():
    from emotive.generators.face.expressions import EMFACS_VARIANTS, PROTOTYPE_SPECS, spec_blendshapes

    assert not spec_blendshapes("").any()
    assert _bs(spec_blendshapes("1+2+5B+26"), "eyeWideLeft") == pytest.approx(0.4)
    for label, spec in PROTOTYPE_SPECS.items():
        np.testing.assert_allclose(spec_blendshapes(spec), PROTOTYPE_BLENDSHAPES[label])
    for label, variants in EMFACS_VARIANTS.items():
        assert variants[0] == PROTOTYPE_SPECS[label] and len(set(variants)) == len(variants)
        looks = [spec_blendshapes(v) for v in variants]
        assert all(a.any() for a in looks) or label == "neutral"
        assert all(not np.allclose(a, b) for i, a in enumerate(looks) for b in looks[i + 1 :])


# --- procedural synthesis ---------------------------------------------------------------


def test_procedural_is_seeded_and_varied():
    ph = _timed("HH AH L OW DH EH R")
    a = synthesize_motion(ph, "happy", rng=1)
    b = synthesize_motion(ph, "happy", rng=1)
    c = synthesize_motion(ph, "happy", rng=2)
    assert np.array_equal(a.to_array(), b.to_array())
    assert np.abs(a.to_array() - c.to_array()).max() > 0.05
    assert a.meta["source"] == "procedural" and "articulation" in a.meta["style"]


def test_procedural_emotion_and_blinks():
    ph = fill_silences([], 60.0)  # one silent minute
    calm = synthesize_motion(ph, "neutral", rng=5, style=MotionStyle())
    blink = calm.curve("eyeBlinkLeft")
    onsets = int(((blink[1:] > 0.5) & (blink[:-1] <= 0.5)).sum())
    assert 8 <= onsets <= 30  # ~17/min at rest (Bentivoglio et al. 1997)
    sad = synthesize_motion(ph[:1], "sad", duration=5.0, rng=5, style=MotionStyle())
    happy = synthesize_motion(ph[:1], "happy", duration=5.0, rng=5, style=MotionStyle())
    from emotive.generators.face.procedural import HEAD_DOWN_SIGN

    lowered = HEAD_DOWN_SIGN * (sad.curve("headPitch")[50:].mean() - happy.curve("headPitch")[50:].mean())
    assert lowered > 2.5  # head lowered when sad (Busso et al. 2007)
    assert happy.curve("mouthSmileLeft")[50:].mean() > 0.5 > sad.curve("mouthSmileLeft")[50:].mean()
    # Sad eyes look down (AU64) and the lids follow them down (motion.lids_follow_gaze).
    assert sad.curve("eyeBlinkLeft")[50:].min() >= 0.7 * sad.curve("eyeLookDownLeft")[50:].min() > 0.1


def test_lids_follow_gaze():
    from emotive.evaluators.face.blendshapes import BLENDSHAPE_INDEX as I
    from emotive.generators.face.motion import lids_follow_gaze

    b = np.zeros((4, 52), np.float32)
    b[1, I["eyeLookDownLeft"]] = 0.5  # lowered left eye only
    b[2, I["eyeBlinkRight"]] = 0.9  # a blink stays a blink
    b[2, I["eyeLookDownRight"]] = 0.5
    b[3, I["eyeLookUpLeft"]] = 1.0  # raised gaze does not move the lids
    out = lids_follow_gaze(b, k=0.7)
    assert np.array_equal(out[0], b[0]) and np.array_equal(out[3], b[3])
    assert out[1, I["eyeBlinkLeft"]] == pytest.approx(0.35) and out[1, I["eyeBlinkRight"]] == 0.0
    assert out[2, I["eyeBlinkRight"]] == pytest.approx(0.9)
    assert b[1, I["eyeBlinkLeft"]] == 0.0  # input untouched


def test_jaw_follows_energy():
    sr = 16000
    t = np.arange(3 * sr) / sr
    env = (np.sin(2 * np.pi * 2.0 * t) > 0).astype(float)  # 4 syllable-like bursts per second... 2 Hz on/off
    audio = env * np.sin(2 * np.pi * 180 * t)
    ph = phones_from_text("ba ba ba ba ba ba", audio=audio, sr=sr)
    m = synthesize_motion(ph, "neutral", audio=audio, sr=sr, rng=0, style=MotionStyle())
    e = energy_envelope(audio, sr, m.num_frames)
    assert np.corrcoef(m.curve("jawOpen"), e)[0, 1] > 0.3
