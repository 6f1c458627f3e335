import numpy as np
import pytest

from emotive.conditioning import LABELS, Emotion
from emotive.generators.speech.prosody import (
    LABEL_RULES,
    ProsodyParams,
    ProsodyPipeline,
    analyze,
    apply_prosody,
    time_warp,
)

SR = 16000


def voice_like(seconds=1.6, f0=140.0, sr=SR, gap=(0.7, 0.9)):
    """A harmonic source with a falling F0, a pause in the middle, and vowel-ish formant weighting."""
    t = np.arange(int(seconds * sr)) / sr
    f = f0 * (1 - 0.15 * t / seconds)
    ph = 2 * np.pi * np.cumsum(f) / sr
    x = sum((1.0 / k) * np.sin(k * ph) * (1.5 if 4 <= k <= 6 else 1.0) for k in range(1, 30))
    x *= 0.1
    x[(t > gap[0]) & (t < gap[1])] = 0.0
    x += 1e-4 * np.random.default_rng(0).standard_normal(len(x))
    return x.astype(np.float32)


def mean_st(x):
    f0 = analyze(x, SR).f0
    return 12 * np.log2(np.median(f0[f0 > 0]) / 100)


def test_intensity_zero_is_identity():
    assert ProsodyParams.from_emotion(Emotion.from_label("angry", 0.0)).is_identity()
    x = voice_like()
    y, _ = apply_prosody(x, SR, ProsodyParams.from_emotion("angry:0"))
    assert np.array_equal(x, y)


def test_mapping_is_continuous_and_monotone_in_intensity():
    prev = None
    for i in np.linspace(0, 1, 11):
        p = ProsodyParams.from_emotion(Emotion.from_label("happy", float(i)))
        if prev is not None:
            assert p.f0_shift >= prev.f0_shift and p.tempo >= prev.tempo
            assert abs(p.f0_shift - prev.f0_shift) < 0.5
        prev = p
    assert ProsodyParams.from_emotion("happy").f0_shift == pytest.approx(LABEL_RULES["happy"].f0_shift)


def test_literature_directions():
    r = {lab: ProsodyParams.from_emotion(Emotion.from_label(lab)) for lab in LABELS}
    for lab in ("angry", "happy", "fearful", "surprised"):
        assert r[lab].f0_shift > 2 and r[lab].energy_db >= 0
    assert r["sad"].f0_shift < 0 and r["sad"].f0_range < 1 and r["sad"].tempo < 1 and r["sad"].energy_db < 0
    assert r["calm"].tempo < 1 and r["calm"].energy_db < 0
    assert r["disgusted"].tempo < r["sad"].tempo and r["disgusted"].final_contour < 0
    assert r["surprised"].final_contour > 2 and r["fearful"].tremor > 0


def test_vad_points_move_with_arousal():
    lo = ProsodyParams.from_emotion(Emotion.from_vad(0.0, -0.6))
    hi = ProsodyParams.from_emotion(Emotion.from_vad(0.0, 0.6))
    assert hi.f0_shift > lo.f0_shift and hi.energy_db > lo.energy_db and hi.tempo > lo.tempo


def test_world_f0_shift_and_tempo():
    x = voice_like()
    y, _warp = apply_prosody(x, SR, ProsodyParams(f0_shift=4.0), np.random.default_rng(0))
    assert mean_st(y) - mean_st(x) == pytest.approx(4.0, abs=0.6)
    y2, warp2 = apply_prosody(x, SR, ProsodyParams(tempo=1.25, pause=1.6), np.random.default_rng(0))
    assert len(y2) < len(x)
    assert float(warp2(1.6)) == pytest.approx(len(y2) / SR, abs=0.02)
    assert np.all(np.diff(warp2(np.linspace(0, 1.6, 50))) > 0)


def test_time_warp_lengthens_pauses_only():
    pauses = np.zeros(100, dtype=bool)
    pauses[40:60] = True
    src = time_warp(100, pauses, 1.0, 2.0)
    assert len(src) == 120
    assert np.all(np.diff(src) >= 0)


def test_pipeline_stereo_deterministic_and_levels():
    x = voice_like()
    st = np.stack([x, x], axis=1)
    pipe = ProsodyPipeline()
    a = pipe(st, SR, emotion="sad", generator=3)
    b = pipe(st, SR, emotion="sad", generator=3)
    assert a.audio.shape[1] == 2 and np.array_equal(a.audio, b.audio)
    loud = pipe(x, SR, emotion="angry").audio
    soft = pipe(x, SR, emotion="sad").audio
    assert np.sqrt(np.mean(loud**2)) > 2 * np.sqrt(np.mean(soft**2))
    assert np.max(np.abs(loud)) <= 0.97 + 1e-6


def test_params_roundtrip():
    p = ProsodyParams.from_emotion("0.7 sad + 0.3 angry")
    assert ProsodyParams.from_dict(p.to_dict()).to_dict() == p.to_dict()


def test_soft_limit_holds_the_ceiling_locally_and_keeps_louder_louder():
    """Peaks under the ceiling; only ~10 ms around a stray peak changes; a higher gain is always louder."""
    from emotive.generators.speech.prosody import limit_peaks, soft_limit

    rng = np.random.default_rng(0)
    x = (0.15 * rng.standard_normal(24_000)).astype(np.float32)
    x[12_000] = 2.5                                                # one stray peak
    quiet = 0.5 * x / 2.5
    assert np.array_equal(soft_limit(quiet), quiet.astype(np.float32))      # under the knee: untouched
    y = soft_limit(x)
    assert np.abs(y).max() <= 0.97 + 1e-6 and np.isfinite(y).all()
    assert np.array_equal(y[:11_000], x[:11_000])                  # only ~10 ms around the peak is turned down
    assert np.sqrt(np.mean(y ** 2)) > 2 * np.sqrt(np.mean(limit_peaks(x) ** 2))
    levels = [np.sqrt(np.mean(soft_limit(x * 10 ** (db / 20)) ** 2)) for db in (0, 6, 12, 18, 24)]
    assert np.all(np.diff(levels) > 0)                             # a higher gain is always louder
