"""WorldLMPipeline (kept for the side-by-side bench): tiny random models for the plumbing and robustness
(empty / 5,000-character / emoji / numbers / unknown voice), the shipped weights under @pretrained."""

import time

import numpy as np
import pytest
import torch

from emotive.conditioning import Emotion
from emotive.generators.speech.lm import CodecLM, tiny_lm_config
from emotive.generators.speech.world_lm import (
    MAX_CHARS,
    SpeechInputError,
    WorldLMOutput,
    WorldLMPipeline,
    chunk_phones,
    text_to_chunks,
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from emotive.generators.speech.codec_train import CodecTrainer

    torch.manual_seed(0)
    tr = CodecTrainer("tiny")
    tr.train()
    tr(0.1 * torch.randn(2, 1, 3200))
    root = tmp_path_factory.mktemp("tiny_tts")
    codec = tr.export()
    lm = CodecLM(tiny_lm_config(codec.num_codebooks, codec.codebook_size))
    WorldLMPipeline(codec, lm).save_pretrained(root)
    return root


@pytest.fixture(scope="module")
def pipe(tiny_dir):
    return WorldLMPipeline.from_pretrained(tiny_dir)


def test_output_dataclass_and_codes_reproduce_waveform(pipe):
    out = pipe("Hello there. How are you?", emotion="happy:0.7", voice="joe", generator=torch.Generator().manual_seed(0))
    assert isinstance(out, WorldLMOutput) and out.sample_rate == 16000
    assert out.waveform.dtype == np.float32 and out.waveform.ndim == 1 and len(out.waveform) > 0
    assert np.abs(out.waveform).max() <= 1.0
    assert len(out.chunks) == 2 and out.phonemes[0][0] == "pau" and "hh" in out.phonemes[0]
    assert isinstance(out.emotion, Emotion) and out.emotion.label == "happy"
    assert out.codes.shape[1] == pipe.codec.num_codebooks
    assert len(out.waveform) == out.codes.shape[-1] * pipe.codec.hop_length
    again = pipe.decode(out.codes)
    assert np.allclose(np.clip(again, -1, 1), out.waveform, atol=1e-5)


def test_seeded_determinism(pipe):
    a = pipe("One two three.", emotion="sad", generator=torch.Generator().manual_seed(5))
    b = pipe("One two three.", emotion="sad", generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.codes, b.codes)


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "—", "#$%^", "你好世界", "Привет мир"])
def test_nothing_to_say_is_a_clear_error(pipe, text):
    with pytest.raises(SpeechInputError, match="Nothing to say"):
        pipe(text)


def test_unknown_voice_and_bad_options(pipe):
    with pytest.raises(SpeechInputError, match="Unknown voice"):
        pipe("Hello.", voice="darth")
    with pytest.raises(SpeechInputError):
        pipe("Hello.", num_candidates=0)
    with pytest.raises(SpeechInputError, match="the limit is"):
        pipe("x" * (MAX_CHARS + 1))
    for bad in ({"guidance_scale": float("nan")}, {"guidance_scale": float("inf")}, {"temperature": float("nan")},
                {"temperature": -1.0}):  # fmt: skip
        with pytest.raises(SpeechInputError, match="finite number >= 0"):
            pipe("Hello.", **bad)


def test_numbers_emoji_and_unknown_characters_are_normalised():
    chunks = text_to_chunks("I paid $12.50 on May 3rd 🙂 — ©®™ really!")
    phones = [p for _, ph in chunks for p in ph]
    assert "t" in phones and "w" in phones                          # "twelve"
    assert all(p.islower() for p in phones)


def test_long_sentences_are_chunked():
    words = " ".join(["banana"] * 120) + "."
    chunks = chunk_phones(words)
    assert len(chunks) > 1 and all(len(p) <= 160 for _, p in chunks)


def test_five_thousand_characters_finish(pipe):
    base = "The quick brown fox jumps over the lazy dog, and 42 people watched it on 3 May 2021. "
    text = (base * (5000 // len(base) + 1))[:5000]
    t = time.time()
    out = pipe(text, emotion="calm", generator=torch.Generator().manual_seed(0))
    assert len(out.chunks) >= 50
    assert out.duration > 10 and time.time() - t < 120


@pytest.mark.pretrained
def test_embedded_weights_speak():
    from emotive.generators.speech.lm import PRETRAINED_DIR

    if not (PRETRAINED_DIR / "model.safetensors").is_file():
        pytest.skip("the codec LM has not been shipped yet (train it with `emotive train speech-lm`)")
    p = WorldLMPipeline.from_pretrained()
    out = p("Hello, this is a test.", emotion="happy", voice="slt", generator=torch.Generator().manual_seed(0))
    assert 0.5 < out.duration < 6.0 and np.abs(out.waveform).max() > 0.01


def test_emotion_condition_fades_to_neutral_below_trained_intensity():
    from emotive.conditioning.encoder import emotion_features
    from emotive.generators.speech.world_lm import TRAINED_MIN_INTENSITY, emotion_condition

    neutral = emotion_features([Emotion.from_label("neutral", 1.0)])[0]
    assert torch.allclose(emotion_condition(Emotion.from_label("angry", 0.0)), neutral)
    at_lo = emotion_features([Emotion.from_label("angry", TRAINED_MIN_INTENSITY)])[0]
    assert torch.allclose(emotion_condition(Emotion.from_label("angry", TRAINED_MIN_INTENSITY - 1e-6)), at_lo, atol=1e-4)
    strong = Emotion.from_label("sad", 0.9)
    assert torch.equal(emotion_condition(strong), emotion_features([strong])[0])
    weak_vad = Emotion.from_vad(0.1, -0.1)                   # VAD points were trained at every strength
    assert torch.equal(emotion_condition(weak_vad), emotion_features([weak_vad])[0])


def test_world_codec_expected_envelope_path():
    """WORLD codec: the default decodes the LM's expected envelope; `decode(codes, envelope)` reproduces the
    waveform; "sampled" decodes the tokens; both are seeded and differ only in the envelope."""
    from emotive.generators.speech.codec_world import WorldCodec, tiny_world_config

    cfg = tiny_world_config()
    rng = np.random.default_rng(0)
    codec = WorldCodec(cfg, rng.normal(0, 0.3, (cfg.env_codebooks, cfg.codebook_size, cfg.env_dims)),
                       rng.normal(0, 0.1, cfg.env_dims), np.ones(cfg.env_dims))
    torch.manual_seed(0)
    p = WorldLMPipeline(codec, CodecLM(tiny_lm_config(codec.num_codebooks, codec.codebook_size)))
    a = p("Hello there. Bye.", emotion="sad", voice="slt", generator=torch.Generator().manual_seed(3))
    assert a.envelope is not None and a.envelope.shape == (a.codes.shape[-1], cfg.env_dims)
    assert np.allclose(np.clip(p.decode(a.codes, a.envelope), -1, 1), a.waveform, atol=1e-5)
    b = p("Hello there. Bye.", emotion="sad", voice="slt", generator=torch.Generator().manual_seed(3),
          envelope="sampled")
    assert b.envelope is None and torch.equal(a.codes, b.codes)
    assert np.allclose(np.clip(p.decode(b.codes), -1, 1), b.waveform, atol=1e-5)
    assert not np.allclose(a.waveform, b.waveform)
    with pytest.raises(SpeechInputError):
        p("Hello.", envelope="mean")
    c2 = p("Hello there. Bye.", emotion="sad", voice="slt", generator=torch.Generator().manual_seed(3),
           num_candidates=2)
    assert c2.envelope is not None and len(c2.scores) == 2
