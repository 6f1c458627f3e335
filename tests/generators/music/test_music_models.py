"""Tokenizer round trips, modal rewriting, emotion -> attribute targets, VQ-VAE and prior invariants (tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emotive.conditioning import Emotion
from emotive.evaluators.music.attributes import NoteList, estimate_key
from emotive.generators.music.attributes import (
    MusicInputError,
    density_class,
    rewrite_mode,
    targets_from_emotion,
    training_emotion,
)
from emotive.generators.music.prior import CodePrior, PriorConfig
from emotive.generators.music.tokenizer import BarTokenizer, bars_to_grid, grid_to_bars
from emotive.generators.music.vqvae import BarVQVAE, VQVAEConfig

BARS = [
    [(0, 60, 4), (4, 64, 2), (6, 67, 2), (8, 72, 8)],
    [],
    [(0, 71, 1), (1, 69, 1), (2, 67, 1), (3, 65, 1), (4, 64, 3), (12, 62, 4)],
    [(2, 48, 2), (5, 91, 11)],
]


@pytest.fixture(scope="module")
def tok() -> BarTokenizer:
    return BarTokenizer()


def test_remi_round_trip(tok):
    rows = tok.encode_bars(BARS)
    assert rows.shape == (4, tok.bar_len)
    assert tok.decode_bars(rows) == BARS
    # miditok's own decoder agrees on every note
    score = tok.decode_with_miditok(rows)
    got = sorted((n.time, n.pitch, n.duration) for n in score.tracks[0].notes)
    want = sorted((b * 16 + s, p, d) for b, bar in enumerate(BARS) for s, p, d in bar)
    assert got == want


def test_grid_round_trip(tok):
    grid = bars_to_grid(BARS, tok.pitch_low, tok.pitch_high)
    assert grid.shape == (4, 16) and grid.min() >= 0 and grid.max() < 2 + 44
    assert grid_to_bars(grid, tok.pitch_low) == BARS


def test_modal_rewrite_flips_measured_mode():
    major = [[(i * 2, p, 2) for i, p in enumerate([60, 64, 67, 72, 71, 69, 67, 65])],
             [(i * 2, p, 2) for i, p in enumerate([64, 62, 60, 59, 60, 64, 67, 60])]]
    notes = lambda bars: NoteList.from_tuples([(b * 4 + s / 4, d / 4, p, 80) for b, bar in enumerate(bars) for s, p, d in bar])  # noqa: E731
    assert estimate_key(notes(major)).mode == "major"
    minor = rewrite_mode(major, 0, "minor")
    assert estimate_key(notes(minor)).mode == "minor"
    assert rewrite_mode(minor, 0, "major") == major  # exact inverse on diatonic melodies


def test_targets_follow_emotion_and_faders():
    sad, happy = targets_from_emotion(Emotion.parse("sad")), targets_from_emotion(Emotion.parse("happy"))
    assert sad.mode == "minor" and happy.mode == "major"
    assert sad.tempo_bpm < 90 < happy.tempo_bpm
    assert sad.velocity < happy.velocity and sad.density < happy.density
    tempos = [targets_from_emotion(Emotion.from_vad(0.3, a)).tempo_bpm for a in (-0.8, -0.4, 0, 0.4, 0.8)]
    assert tempos == sorted(tempos)
    t = targets_from_emotion(Emotion.parse("sad"), tempo=150, mode="major", density=12)
    assert (t.tempo_bpm, t.mode, t.density_class) == (150, "major", density_class(12))
    for bad in ({"tempo": 0}, {"tempo": float("nan")}, {"mode": "dorian"}, {"density": 40}):
        with pytest.raises(MusicInputError):
            targets_from_emotion(Emotion.parse("sad"), **bad)


def test_training_emotion_signs():
    e = training_emotion("minor", 3, 60)
    assert e.valence < 0 and e.arousal < 0
    e = training_emotion("major", 12, 72)
    assert e.valence > 0 and e.arousal > 0


def test_vqvae_shapes_and_overfit(tok):
    torch.manual_seed(0)
    vq = BarVQVAE(VQVAEConfig.tiny())
    grid = torch.from_numpy(bars_to_grid(BARS * 4, tok.pitch_low, tok.pitch_high))
    codes = vq.encode(grid)
    assert codes.shape == (16, vq.config.codes_per_bar)
    assert int(codes.min()) >= 0 and int(codes.max()) < vq.config.codebook_size
    assert vq.decode(codes).shape == grid.shape
    opt = torch.optim.Adam(vq.parameters(), lr=3e-3)
    vq.train()
    first = None
    for _ in range(150):
        out = vq(grid, generator=torch.Generator().manual_seed(0))
        first = first if first is not None else out["recon"].item()
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    vq.eval()
    assert out["recon"].item() < first / 3
    acc = (vq.decode(vq.encode(grid)) == grid).float().mean().item()
    assert acc > 0.9


def test_prior_kv_cache_matches_full_forward():
    torch.manual_seed(0)
    prior = CodePrior(PriorConfig.tiny()).eval()
    seq = torch.cat([torch.full((2, 1), prior.config.bos_id), torch.randint(0, 32, (2, 11))], 1)
    cond = prior.condition(None, torch.tensor([2, 2]), torch.tensor([5, 5]), torch.tensor([3, 3]))
    total = torch.tensor([4, 4])
    with torch.no_grad():
        full = prior(seq, cond, total)
        cache = prior.new_cache()
        steps = [prior(seq[:, :5], cond, total, cache, 0)]
        for i in range(5, seq.shape[1]):
            steps.append(prior(seq[:, i : i + 1], cond, total, cache, i))
    np.testing.assert_allclose(torch.cat(steps, 1).numpy(), full.numpy(), atol=1e-5)
    # causality: changing a later code leaves earlier logits alone
    seq2 = seq.clone()
    seq2[:, -1] = (seq2[:, -1] + 1) % 32
    with torch.no_grad():
        np.testing.assert_allclose(prior(seq2, cond, total)[:, :-1].numpy(), full[:, :-1].numpy(), atol=1e-5)


def test_enforce_mode_always_reaches_the_target_mode():
    from emotive.generators.music.pipeline import _notelist, enforce_mode

    rng = np.random.default_rng(0)
    for _ in range(20):
        # random diatonic melodies in C major / A minor: often ambiguous between the relative keys
        scale = [60, 62, 64, 65, 67, 69, 71, 72]
        bars = [[(s, int(rng.choice(scale)), 2) for s in range(0, 16, 2)] for _ in range(4)]
        for mode in ("major", "minor"):
            assert estimate_key(_notelist(enforce_mode(bars, mode))).mode == mode
