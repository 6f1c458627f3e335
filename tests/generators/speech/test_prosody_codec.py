"""Prosody codec: quantiser round trip (durations exact, F0 within 0.3 st), codes in range, clear errors, and one
Kokoro round trip (decode(encode(x)) on Kokoro's own features)."""

import numpy as np
import pytest
import torch

from emotive.generators.speech.prosody_codec import (
    NUM_CODEBOOKS,
    CodecError,
    ProsodyCodec,
    ProsodyFeatures,
)


def _features(rng: np.random.Generator, n: int = 12) -> ProsodyFeatures:
    frames = rng.integers(1, 9, n)
    t2 = 2 * int(frames.sum())
    voiced = rng.random(t2) < 0.7
    f0 = np.where(voiced, 2 ** rng.uniform(np.log2(55), np.log2(950), t2), rng.uniform(8, 25, t2))
    return ProsodyFeatures(frames, f0.astype(np.float32), rng.uniform(-10, 9, t2).astype(np.float32),
                           np.float32(rng.uniform(-8, 8)))


def test_quantizer_round_trip_is_exact_on_durations_and_within_bins():
    codec = ProsodyCodec()
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = _features(rng)
        codes = codec.quantize(x)
        assert codes.shape == (NUM_CODEBOOKS, 2 * x.frames.sum())
        assert (codes >= 0).all() and (codes < np.asarray(codec.cardinalities)[:, None]).all()
        y = codec.dequantize(codes)
        np.testing.assert_array_equal(y.frames, x.frames)
        v = x.f0 >= codec.config.f0_min_hz
        assert (y.f0[v] >= codec.config.f0_min_hz).all() and (y.f0[~v] < codec.config.f0_min_hz).all()
        assert np.abs(12 * np.log2(y.f0[v] / x.f0[v])).max() <= 0.3
        assert np.abs(y.f0[~v] - x.f0[~v]).max() <= codec.config.unvoiced_step_hz
        assert np.abs(y.energy - x.energy).max() <= codec.config.energy_step / 2 + 1e-5
        assert np.abs(y.gain_db - x.gain_db).max() <= codec.config.gain_step_db / 2 + 1e-5
        # codes of the dequantised features are the same codes (idempotent)
        np.testing.assert_array_equal(codec.quantize(y), codes)


def test_stretched_keeps_the_pace_and_each_tokens_values():
    codec = ProsodyCodec()
    rng = np.random.default_rng(1)
    x = _features(rng, 30)
    x.gain_db = rng.uniform(-8, 8, len(x.f0)).astype(np.float32)
    assert x.stretched(1.0) is x
    y = x.stretched(2.0)
    np.testing.assert_array_equal(y.frames, 2 * x.frames)                # whole frames: exactly doubled
    starts, new_starts = 2 * (np.cumsum(x.frames) - x.frames), 2 * (np.cumsum(y.frames) - y.frames)
    for pace in (0.5, 0.75, 1.5, 2.0):
        z = x.stretched(pace)
        assert (z.frames >= 1).all() and abs(int(z.frames.sum()) - pace * int(x.frames.sum())) <= 1
        assert len(z.f0) == len(z.energy) == len(z.gain_db) == 2 * int(z.frames.sum())
        zs = 2 * (np.cumsum(z.frames) - z.frames)
        for i in range(len(x.frames)):                                   # a token's values come from that token
            own = set(x.f0[starts[i]: starts[i] + 2 * x.frames[i]].tolist())
            assert set(z.f0[zs[i]: zs[i] + 2 * z.frames[i]].tolist()) <= own
        np.testing.assert_array_equal(codec.dequantize(codec.quantize(z)).frames, z.frames)
    assert (y.f0[new_starts] == x.f0[starts]).all()                      # each token starts on its first value


def test_bad_codes_and_inputs_are_clear_errors():
    codec = ProsodyCodec()
    x = _features(np.random.default_rng(1))
    codes = codec.quantize(x)
    bad = codes.copy()
    bad[1, 0] = codec.cardinalities[1]
    with pytest.raises(CodecError, match="out of range"):
        codec.dequantize(bad)
    odd = codes.copy()
    odd[0, 1] = 1
    with pytest.raises(CodecError, match="boundary"):
        codec.dequantize(odd)
    with pytest.raises(CodecError, match=r"\[4, T\]"):
        codec.dequantize(codes[:3])
    with pytest.raises(CodecError, match="frames"):
        codec.quantize(ProsodyFeatures(x.frames, x.f0[:-2], x.energy, x.gain_db))
    with pytest.raises(CodecError, match="durations"):
        codec.encode(np.zeros(2400, np.float32), 24000, "hɛlO", "jf_alpha")


@pytest.mark.slow
def test_kokoro_round_trip_keeps_f0_durations_and_level():
    from emotive.generators.speech.kokoro import Kokoro, VoiceBank
    from emotive.generators.speech.prosody import ProsodyParams, kokoro_duration_factors, kokoro_f0

    codec = ProsodyCodec(kokoro=Kokoro.load(threads=1), voices=VoiceBank.load())
    phon = "hˈɛlO, wˈɜɹld."
    front, style = codec.front(phon, "jf_alpha")
    p = ProsodyParams.from_emotion("happy")
    frames = np.maximum(1, np.rint(front.durations * kokoro_duration_factors(phon, p))).astype(np.int64)
    f0, n = codec.kokoro.prosody(front, frames, style)
    f0 = kokoro_f0(f0, p, np.random.default_rng(0))
    codes = codec.encode(None, 24000, phon, "jf_alpha", durations=frames, f0=f0, energy=n, gain_db=3.0)
    assert codes.dtype == torch.int64 and codes.shape == (1, NUM_CODEBOOKS, 2 * frames.sum())
    back = codec.dequantize(codes[0])
    np.testing.assert_array_equal(back.frames, frames)
    v = f0 > 50
    assert np.abs(12 * np.log2(back.f0[v] / f0[v])).max() <= 0.3
    y = codec.decode(codes, phon, "jf_alpha")[0]
    ref = codec.kokoro.decode(front, frames, f0, n, style) * 10 ** (3 / 20)
    assert y.shape == ref.shape
    # same level (dB) and mostly the same waveform envelope
    lvl = 20 * np.log10(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(ref**2)))
    assert abs(lvl) < 1.0
    # measuring from audio needs a model decode: the level comes back within a bin or two
    c2 = codec.encode(ref, 24000, phon, "jf_alpha", durations=frames, f0=f0, energy=n)
    assert abs(codec.dequantize(c2[0]).gain_db[0] - 3.0) <= 1.0
