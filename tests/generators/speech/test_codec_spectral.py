"""Spectral RVQ codec (recipe kept; the shipped default is the WORLD codec, tested in test_codec_world.py): interface, determinism, Griffin-Lim quality ceiling,
save/load via load_codec, and the `train speech-codec --arch spectral --tiny` recipe with resume and freeze."""

import numpy as np
import pytest
import soundfile as sf
import torch

from emotive.generators.speech.codec import CodecError, load_codec
from emotive.generators.speech.codec_spectral import SpectralCodec, SpectralCodecConfig, tiny_spectral_config
from tests.generators.speech.test_codec import _train, make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("spec_corpus"))


def _tone(n=16000, sr=16000):
    t = np.arange(n) / sr
    return (0.3 * np.sin(2 * np.pi * 150 * t) + 0.1 * np.sin(2 * np.pi * 450 * t)).astype(np.float32)


def test_interface_shapes_and_ranges():
    torch.manual_seed(0)
    m = SpectralCodec(tiny_spectral_config()).eval()
    m.embed.normal_()
    codes = m.encode(_tone(), 16000)
    assert codes.shape == (1, 2, 100) and m.frame_rate == 100.0      # 16000 / (hop 80 * stack 2)
    assert int(codes.min()) >= 0 and int(codes.max()) < 32
    y = m.decode(codes)
    assert y.shape == (1, 1, 100 * 160)
    assert torch.equal(m.decode(codes), y)                      # Griffin-Lim starts from a fixed phase
    codes24 = m.encode(_tone(24000, 24000), 24000)              # resampled to 16 kHz
    assert codes24.shape[-1] == 100
    with pytest.raises(CodecError):
        m.decode(torch.full((1, 2, 4), 32))
    with pytest.raises(CodecError):
        m.encode(np.zeros(0, np.float32), 16000)


def test_griffin_lim_ceiling_on_true_magnitudes():
    from pystoi import stoi

    m = SpectralCodec(SpectralCodecConfig()).eval()
    x = _tone(32000)
    x = x * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * np.arange(32000) / 16000)).astype(np.float32)
    y = m.griffin_lim(m.logmag(torch.from_numpy(x)[None, None]), len(x))[0, 0].numpy()
    assert stoi(x, y, 16000) > 0.9


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    m = SpectralCodec(tiny_spectral_config()).eval()
    m.embed.normal_()
    m.save_pretrained(tmp_path / "c")
    back = load_codec(tmp_path / "c")
    assert isinstance(back, SpectralCodec)
    x = _tone()
    assert torch.equal(back.encode(x), m.encode(x))


def test_spectral_recipe_resume_and_freeze(corpus, tmp_path):
    out = tmp_path / "run"
    r = _train(corpus, out, "--arch", "spectral", "--steps", "6")
    assert "STOI seen" in r.stdout
    a = load_codec(out / "latest")
    x, _ = sf.read(corpus / "wavs/u1.wav", dtype="float32")
    before = a.encode(x)
    _train(corpus, out, "--arch", "spectral", "--steps", "9", "--freeze-encoder")
    assert torch.load(out / "ckpt.pt", weights_only=False)["step"] == 9
    b = load_codec(out / "latest")
    assert torch.equal(b.encode(x), before)                    # tokens stay valid for an LM
    sa, sb = a.decoder.state_dict(), b.decoder.state_dict()
    assert any(not torch.equal(sa[k], sb[k]) for k in sa)
