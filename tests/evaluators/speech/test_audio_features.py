import numpy as np
import pytest
import soundfile as sf

from emotive.evaluators.speech.audio import AudioInputError, load_speech, validate
from emotive.evaluators.speech.features import DIM, FEATURE_NAMES, utterance_features

SR = 16000


def tone(f0=200.0, seconds=1.0, sr=SR, level=0.1):
    t = np.arange(int(seconds * sr)) / sr
    ph = 2 * np.pi * f0 * t
    return (level * sum(np.sin(k * ph) / k for k in range(1, 20))).astype(np.float32)


def test_validate_limits():
    assert validate(tone(), SR).audio.dtype == np.float32
    st = validate(np.stack([tone(), tone()], 1), SR)
    assert st.audio.ndim == 1
    assert validate((tone() * 20000).astype(np.int16), SR).audio.max() < 1.0
    for bad, sr, msg in [(np.zeros(SR), SR, "silent"), (tone(seconds=0.1), SR, "at least"), (tone(), 4000, "8-48 kHz"),
                         (np.full(SR, np.nan), SR, "NaN"), (np.ones((SR, 3)) * 0.1, SR, "channels")]:
        with pytest.raises(AudioInputError, match=msg):
            validate(bad, sr)


def test_load_speech(tmp_path):
    p = tmp_path / "a.flac"
    sf.write(p, tone(), SR)
    assert load_speech(p).sr == SR
    with pytest.raises(AudioInputError, match="folder"):
        load_speech(tmp_path)


def test_features_track_pitch_and_level():
    assert len(FEATURE_NAMES) == DIM
    lo = utterance_features(tone(100.0, 1.5), SR)
    hi = utterance_features(tone(200.0, 1.5, level=0.3), SR)
    i = FEATURE_NAMES.index
    assert lo.shape == (DIM,) and np.all(np.isfinite(lo))
    assert lo[i("f0_mean")] == pytest.approx(0.0, abs=0.5)  # semitones re 100 Hz
    assert hi[i("f0_mean")] == pytest.approx(12.0, abs=0.5)
    assert hi[i("level_mean")] - lo[i("level_mean")] == pytest.approx(20 * np.log10(3), abs=1.5)
    up = utterance_features(tone(100.0, 1.5, sr=44100), 44100)  # resampled to 16 kHz inside
    assert up[i("f0_mean")] == pytest.approx(0.0, abs=0.5)
