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


def test_a_cut_off_wav_is_refused_and_intact_ones_are_not(tmp_path):
    """libsndfile reads a WAV that ends before its data chunk does without complaint; load_speech refuses it."""
    import struct

    from emotive.evaluators.speech.audio import wav_cut_off
    from emotive.generators.face.talking import AudioInputError as FaceAudioInputError
    from emotive.generators.face.talking import load_speech as face_load_speech

    full = tmp_path / "full.wav"
    sf.write(full, 0.3 * tone(), SR, subtype="PCM_16")
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    assert wav_cut_off(full) is None and "cut off" in wav_cut_off(cut)
    with pytest.raises(AudioInputError, match="cut off"):
        load_speech(cut)
    with pytest.raises(FaceAudioInputError, match="cut off"):
        face_load_speech(cut)
    # A chunk of odd length before the data (padded to even) and a 24-bit stereo file are intact.
    pcm = (0.3 * tone() * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, SR, SR * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", 5) + b"INFOx\0"
    body += b"data" + struct.pack("<I", len(pcm)) + pcm
    odd = tmp_path / "odd.wav"
    odd.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert wav_cut_off(odd) is None and len(load_speech(odd).audio) == len(tone())
    stereo = tmp_path / "s24.wav"
    sf.write(stereo, np.stack([tone(), tone()], 1) * 0.3, SR, subtype="PCM_24")
    assert wav_cut_off(stereo) is None


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


def glide(st_of_t, seconds=2.0, sr=SR, level=0.1):
    """Harmonic tone whose F0 follows ``st_of_t(t)`` semitones re 100 Hz."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 100.0 * 2 ** (st_of_t(t) / 12)
    ph = 2 * np.pi * np.cumsum(f0) / sr
    return (level * sum(np.sin(k * ph) / k for k in range(1, 20))).astype(np.float32)


def test_f0_span_measures_excursions_not_declination():
    from emotive.evaluators.speech.features import f0_span

    def wavy(a):
        return lambda t: 6 + a * np.sin(2 * np.pi * 2.5 * t)

    flat, wide = f0_span(glide(wavy(1.0)), SR), f0_span(glide(wavy(2.0)), SR)
    assert 1.0 < flat < wide and wide == pytest.approx(2 * flat, rel=0.25)
    # a steep declination (-3 st/s) adds 6 st to the global range but leaves the span where it was
    declining = f0_span(glide(lambda t: wavy(1.0)(t) - 3.0 * t), SR)
    assert declining == pytest.approx(flat, abs=0.4)
    assert np.isnan(f0_span(np.random.default_rng(0).normal(0, 0.05, SR).astype(np.float32), SR))
