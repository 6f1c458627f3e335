"""Distill-MOS rebuilt without torchaudio: same layer names as the checkpoint, scores ordered the way a listener
would order them (clean speech > the same speech buried in noise > noise)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from emotive.evaluators.speech.naturalness import WINDOW, DistillMOS, compressed_spectrogram, naturalness


def test_checkpoint_loads_strictly_and_no_torchaudio():
    m = DistillMOS.from_package()        # load_state_dict is strict: every tensor name and shape matches
    assert sum(p.numel() for p in m.parameters()) > 1e6
    assert importlib.util.find_spec("torchaudio") is None


def test_spectrogram_shape_and_compression():
    x = torch.randn(2, 16000)
    s = compressed_spectrogram(x)
    assert s.shape == (2, 2, 161, 100)
    mag = s.pow(2).sum(1).sqrt()
    assert torch.all(mag >= 0)


def test_scores_rank_clean_noisy_and_noise():
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    sp = EmotionalSpeechPipeline.from_pretrained(threads=1)("The kettle clicked off just as the phone began to ring.")
    rng = np.random.default_rng(0)
    clean = sp.waveform
    noisy = clean + 0.05 * rng.standard_normal(len(clean)).astype(np.float32)
    noise = 0.1 * rng.standard_normal(len(clean)).astype(np.float32)
    scores = [naturalness(x, sp.sample_rate) for x in (clean, noisy, noise)]
    assert min(scores) >= 1.0 and max(scores) <= 5.0
    assert scores[0] > 3.8 and scores[0] > scores[1] + 0.5 > scores[2] + 0.5, scores


def test_long_audio_is_read_in_windows():
    m = DistillMOS.from_package()
    with torch.no_grad():
        short = m(torch.randn(1, 8000) * 0.1)
        long = m(torch.randn(1, WINDOW * 2 + 5000) * 0.1)
    assert short.shape == long.shape == (1,)
    assert torch.isfinite(long).all()


@pytest.mark.parametrize("sr", [16000, 24000, 44100])
def test_any_sample_rate(sr):
    x = np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32) * 0.3
    assert 1.0 <= naturalness(x, sr) <= 5.0
