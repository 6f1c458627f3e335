"""WORLD-parameter RVQ codec (the embedded default): interface, F0 kept to a fraction of a semitone,
token round trip, k-means, save/load via load_codec, the `train speech-codec --arch world --tiny`
recipe, and the shipped codec's quality floor."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch

from emotive.generators.speech.codec import CodecError, load_codec
from emotive.generators.speech.codec_world import WorldCodec, WorldCodecConfig, kmeans, tiny_world_config
from tests.generators.speech.test_codec import _train, make_corpus

FLOOR_STOI = 0.8


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("world_corpus"))


def _voiced(f0=140.0, n=16000, sr=16000, seed=0):
    t = np.arange(n) / sr
    ph = 2 * np.pi * np.cumsum(np.full(n, f0)) / sr
    x = sum(np.sin(h * ph) / h for h in range(1, 12)) * 0.15
    return (x * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.003 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _random_codec(cfg=None):
    cfg = cfg or tiny_world_config()
    rng = np.random.default_rng(0)
    return WorldCodec(cfg, rng.normal(0, 1, (cfg.env_codebooks, cfg.codebook_size, cfg.env_dims)),
                      rng.normal(0, 1, cfg.env_dims), np.ones(cfg.env_dims))


def test_interface_shapes_ranges_and_errors():
    c = _random_codec()
    codes = c.encode(_voiced(), 16000)
    assert codes.shape == (1, 4, 50) and c.frame_rate == 50.0 and c.hop_length == 320
    assert int(codes.min()) >= 0 and int(codes.max()) < 32
    y = c.decode(codes)
    assert y.shape == (1, 1, 50 * 320) and torch.isfinite(y).all()
    assert torch.equal(c.decode(codes), y)                           # deterministic decoding
    assert c.encode(_voiced(n=24000), 24000).shape[-1] == 50         # resampled to 16 kHz
    with pytest.raises(CodecError):
        c.decode(torch.full((1, 4, 3), 32))
    with pytest.raises(CodecError):
        c.decode(torch.zeros(1, 3, 3, dtype=torch.long))            # all streams are needed
    with pytest.raises(CodecError):
        c.encode(np.zeros(0, np.float32), 16000)
    assert c.decode(torch.zeros(1, 4, 0, dtype=torch.long)).shape == (1, 1, 0)


def _fitted_codec(cfg):
    """Codebooks learned (k-means) from tones and digital silence, as the recipe does from the corpus."""
    c = WorldCodec(cfg)
    env = np.concatenate([c.analyse(_voiced(f)).env for f in (110.0, 130.0, 160.0, 190.0, 220.0)] + [c.analyse(np.zeros(32000)).env])
    c.env_mean, c.env_std = env.mean(0), np.full(cfg.env_dims, env.std(), np.float32)
    r = (env - c.env_mean) / c.env_std
    for s in range(cfg.env_codebooks):
        c.codebooks[s] = kmeans(r, cfg.codebook_size, iters=5, seed=s)
        r = r - c.codebooks[s][c._nearest(r, s)]
    return c


def test_f0_survives_coding_and_silence_stays_silent():
    c = _fitted_codec(WorldCodecConfig(env_codebooks=1, codebook_size=256, ap_levels=32))
    for f0 in (110.0, 220.0):
        fr = c.analyse(_voiced(f0))
        back = c.dequantise(c.quantise(fr))
        v = fr.voiced & back.voiced
        assert v.mean() > 0.8
        err_semitones = 12 * np.abs(fr.logf0[v] - back.logf0[v]) / np.log(2)
        assert err_semitones.max() < 0.1                              # 0.17-semitone bins: half a bin at most
        assert abs(np.median(np.exp(back.logf0[v])) - f0) / f0 < 0.03
    codes = c.encode(np.zeros(3200, np.float32))
    assert int(codes[0, 0].max()) == 0                               # unvoiced
    assert float(c.decode(codes).abs().max()) < 1e-3


def test_kmeans_finds_clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (4, 3))
    x = np.concatenate([m + rng.normal(0, 0.1, (200, 3)) for m in centres])
    got = kmeans(x, 4, iters=10)
    d = np.linalg.norm(got[:, None] - centres[None], axis=-1).min(0)
    assert d.max() < 0.5


def test_save_load_roundtrip_via_load_codec(tmp_path):
    c = _random_codec()
    c.save_pretrained(tmp_path / "w")
    back = load_codec(tmp_path / "w")
    assert isinstance(back, WorldCodec)
    x = _voiced()
    assert torch.equal(back.encode(x), c.encode(x))


def test_world_recipe_tiny(corpus, tmp_path):
    out = tmp_path / "run"
    r = _train(corpus, out, "--arch", "world")
    assert "STOI seen" in r.stdout
    c = load_codec(out / "latest")
    assert isinstance(c, WorldCodec) and np.abs(c.codebooks).sum() > 0
    assert c.gv_gain is not None and c.decoder.frame_period_ms == 5.0    # the recipe fits the decoder too
    assert np.isfinite(c.decoder.ap_offset_db) and np.isfinite(c.decoder.level_db)
    x, _ = sf.read(corpus / "wavs/u1.wav", dtype="float32")
    assert c.encode(x).shape[1] == 4


@pytest.mark.pretrained
def test_embedded_codec_quality_floor(tmp_path):
    """The shipped codec keeps flite speech intelligible and its pitch (a voice it was trained on, unseen sentence)."""
    from pystoi import stoi

    from emotive.generators.speech.codec import PRETRAINED_DIR

    if not (PRETRAINED_DIR / "model.safetensors").is_file():
        pytest.skip("no codec shipped")
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    wav = tmp_path / "f.wav"
    subprocess.run(["flite", "-voice", "rms", "-t", "Seven quiet ducks swam past the old mill at dawn.", "-o", str(wav)],
                   check=True, timeout=60)
    x, sr = sf.read(wav, dtype="float32")
    codec = load_codec()
    assert isinstance(codec, WorldCodec) and codec.frame_rate == 50 and codec.bitrate <= 6000
    y = codec.resynthesize(x, sr)
    assert stoi(x, y[: len(x)], sr) > FLOOR_STOI


def test_expected_envelope_is_the_mean_codeword_sum():
    c = _random_codec()
    cfg = c.config
    rng = np.random.default_rng(1)
    idx = rng.integers(0, cfg.codebook_size, (cfg.env_codebooks, 5))
    onehot = np.zeros((cfg.env_codebooks, 5, cfg.codebook_size))
    for s in range(cfg.env_codebooks):
        onehot[s, np.arange(5), idx[s]] = 1.0
    codes = np.zeros((c.num_codebooks, 5), np.int64)
    codes[1: 1 + cfg.env_codebooks] = idx
    assert np.allclose(c.expected_envelope(onehot), c.dequantise(codes).env, atol=1e-5)   # a sure choice = its token
    half = 0.5 * onehot + 0.5 * np.roll(onehot, 1, axis=2)                                 # two words, equal weight
    codes2 = codes.copy()
    codes2[1: 1 + cfg.env_codebooks] = (idx + 1) % cfg.codebook_size
    want = 0.5 * (c.dequantise(codes).env + c.dequantise(codes2).env)
    assert np.allclose(c.expected_envelope(3.0 * half), want, atol=1e-5)                  # unnormalised input is fine
    with pytest.raises(CodecError):
        c.expected_envelope(onehot[:1])
