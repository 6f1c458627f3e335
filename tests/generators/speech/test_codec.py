"""Codec: EnCodec-interface wrapper (pretrained-folder path with a tiny random EncodecModel), training-time RVQ,
export equivalence, the `emotive train speech-codec --tiny` recipe and its resume/freeze modes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from emotive.generators.speech.codec import CodecError, SpeechCodec, compact_codec_config

PHONES = ["pau", "hh", "ah", "l", "ow", "w", "er", "l", "d", "pau"]


def make_corpus(root, n=12, seed=0):
    """A synthetic corpus (harmonic tones with moving F0 + noise bursts) in the corpus manifest format."""
    rng = np.random.default_rng(seed)
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        dur = rng.uniform(0.6, 1.0)
        t = np.arange(int(16000 * dur)) / 16000
        f0 = rng.uniform(90, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
        ph = 2 * np.pi * np.cumsum(f0) / 16000
        x = sum(np.sin(h * ph) / h for h in range(1, 8)) * 0.2
        x = x * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2) + 0.02 * rng.standard_normal(len(t))
        name = f"wavs/u{i}.wav"
        sf.write(root / name, x.astype(np.float32), 16000)
        bounds = np.linspace(0, dur, len(PHONES) + 1)
        rows.append({
            "id": f"u{i}", "wav": name, "sr": 16000, "text": "hello world", "phonemes": ["HH", "AH", "L", "OW"],
            "phones": [{"phone": p, "start": float(a), "end": float(b)} for p, a, b in zip(PHONES, bounds[:-1], bounds[1:])],
            "speaker": ["slt", "joe", "awb"][i % 3], "emotion": {"spec": ["happy", "sad", "neutral"][i % 3]},
            "split": "test" if i % 4 == 0 else "train", "duration": dur,
        })
    from emotive.conditioning import Emotion

    for r in rows:
        r["emotion"] = Emotion.parse(r["emotion"]["spec"]).to_dict()
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("codec_corpus"))


def _tiny_24k(tmp_path):
    """A randomly initialised 24 kHz EncodecModel saved like facebook/encodec_24khz (75 Hz frames, bandwidth-selected codebooks)."""
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(0)
    cfg = EncodecConfig(sampling_rate=24000, num_filters=2, hidden_size=8, upsampling_ratios=[8, 5, 4, 2],
                        codebook_size=16, target_bandwidths=[0.3, 0.6, 1.2], num_lstm_layers=1, use_causal_conv=True)
    m = EncodecModel(cfg)
    for layer in m.quantizer.layers:                       # a real checkpoint has filled codebooks
        layer.codebook.embed.copy_(torch.randn_like(layer.codebook.embed))
    path = tmp_path / "encodec_tiny_24k"
    m.save_pretrained(path)
    return path


def test_pretrained_folder_roundtrip(tmp_path):
    path = _tiny_24k(tmp_path)
    codec = SpeechCodec.from_pretrained(path)                       # all codebooks
    assert codec.sample_rate == 24000 and codec.frame_rate == 75
    assert codec.num_codebooks == 1200 // 300                        # 1.2 kbps / (4 bit * 75 Hz)
    x = 0.1 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000).astype(np.float32)   # 1 s at 16 kHz
    codes = codec.encode(x, sr=16000)
    assert codes.shape == (1, 4, 75) and codes.dtype == torch.long
    assert int(codes.min()) >= 0 and int(codes.max()) < 16
    y = codec.decode(codes)
    assert y.shape == (1, 1, 75 * 320)
    low = SpeechCodec.from_pretrained(path, bandwidth=0.3)
    assert low.num_codebooks == 1 and low.encode(x, 16000).shape[1] == 1
    assert torch.equal(low.encode(x, 16000)[:, 0], codes[:, 0])        # RVQ: the first codebook does not depend on K
    assert low.info.bitrate == pytest.approx(300.0)


def test_codec_input_errors(tmp_path):
    codec = SpeechCodec.from_pretrained(_tiny_24k(tmp_path))
    with pytest.raises(CodecError):
        codec.encode(np.zeros(0, np.float32), 24000)
    with pytest.raises(CodecError):
        codec.encode(np.zeros((2, 2, 100), np.float32), 24000)
    with pytest.raises(CodecError):
        codec.encode(np.full(100, np.nan, np.float32), 24000)
    with pytest.raises(CodecError):
        codec.decode(torch.full((1, 4, 3), 16))
    with pytest.raises(CodecError):
        SpeechCodec.from_pretrained(tmp_path / "missing")


def test_batch_encode_matches_single(tmp_path):
    codec = SpeechCodec.from_pretrained(_tiny_24k(tmp_path))
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((2, 1, 4800))).astype(np.float32)
    both = codec.encode(x, 24000)
    assert torch.equal(both[1:], codec.encode(x[1, 0], 24000))


def test_trainable_rvq_codes_and_straight_through():
    from emotive.generators.speech.codec_train import TrainableRVQ

    torch.manual_seed(0)
    q = TrainableRVQ(3, 16, 4, dead_after=2).train()
    z = torch.randn(2, 4, 10, requires_grad=True)
    zq, codes, commit = q(z)
    assert codes.shape == (2, 3, 10) and int(codes.max()) < 16 and int(codes.min()) >= 0
    assert bool(q.inited) and commit.item() >= 0
    zq.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))                   # straight-through estimator
    # more codebooks -> smaller residual error (eval mode: codebooks frozen)
    q.eval()
    e1 = (q(z.detach(), n_q=1)[0] - z).pow(2).mean()
    e3 = (q(z.detach(), n_q=3)[0] - z).pow(2).mean()
    assert e3 < e1


def test_export_matches_training_quantizer():
    from emotive.generators.speech.codec_train import CodecTrainer

    torch.manual_seed(0)
    tr = CodecTrainer("tiny")
    x = 0.1 * torch.randn(2, 1, 3200)
    tr.train()
    tr(x)                                                               # initialises the codebooks
    tr.eval()
    _, codes, _ = tr(x)
    codec = tr.export()
    assert torch.equal(codec.encode(x), codes)                          # the transformers model gives the same codes
    assert codec.num_codebooks == compact_codec_config("tiny").num_quantizers == 2


def test_default_preset_is_within_budget():
    cfg = compact_codec_config("default")
    assert cfg.frame_rate == 50 and cfg.num_quantizers == 8
    assert cfg.num_quantizers * np.log2(cfg.codebook_size) * cfg.frame_rate <= 6000    # issue: <= 6 kbps


def _train(corpus, out, *extra):
    cmd = [sys.executable, "-m", "emotive.apps.cli", "train", "speech-codec", "--tiny", "--corpus", str(corpus),
           "--out", str(out), *extra]
    if "--arch" not in extra:
        cmd += ["--arch", "encodec"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def test_train_recipe_resume_and_freeze(corpus, tmp_path):
    out = tmp_path / "run"
    r = _train(corpus, out)
    assert "STOI seen" in r.stdout
    st = torch.load(out / "ckpt.pt", weights_only=False)
    assert st["step"] == 4
    codec = SpeechCodec.from_pretrained(out / "latest")
    x, _ = sf.read(corpus / "wavs/u1.wav", dtype="float32")
    before = codec.encode(x)
    _train(corpus, out, "--steps", "7", "--freeze-encoder")
    assert torch.load(out / "ckpt.pt", weights_only=False)["step"] == 7       # resumed, not restarted
    after = SpeechCodec.from_pretrained(out / "latest")
    assert torch.equal(after.encode(x), before)                            # frozen encoder: same tokens
    dec_a = after.model.decoder.state_dict()
    dec_b = codec.model.decoder.state_dict()
    assert any(not torch.equal(dec_a[k], dec_b[k]) for k in dec_a)          # ... but the decoder learned
    log = (out / "train.log").read_text()
    assert "eval" in log and "stopped at step 7" in log
