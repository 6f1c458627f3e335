"""Prosody LM: step layout round trip, teacher-forced learning, sampling (same seed = same take, EOS and guards
always stop it, every token gets >= 1 frame), save/load, and the `train speech-lm --tiny` recipe."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from emotive.generators.speech.prosody_codec import ProsodyCodec, ProsodyFeatures
from emotive.generators.speech.prosody_lm import (
    ProsodyLM,
    ProsodyLMError,
    codes_to_steps,
    steps_to_codes,
    tiny_config,
)
from emotive.generators.speech.prosody_lm_train import collate


def _example(rng: np.random.Generator, n_ph: int = 6) -> dict:
    """A synthetic (ids, front, durations, style, emotion, codes) example from the real codec's quantiser."""
    codec = ProsodyCodec()
    n = n_ph + 2
    frames = rng.integers(1, 5, n)
    t2 = 2 * int(frames.sum())
    f0 = np.where(rng.random(t2) < 0.7, rng.uniform(150, 300, t2), 15.0)
    codes = codec.quantize(ProsodyFeatures(frames, f0, rng.uniform(-5, 5, t2), np.float32(2.0)))
    return {"ids": torch.from_numpy(rng.integers(1, 170, n_ph).astype(np.int16)),
            "d": torch.from_numpy(rng.standard_normal((n, 512)).astype(np.float16)),
            "dur": torch.from_numpy(frames.astype(np.float32)), "style": torch.randn(256),
            "feats": torch.tensor([0, 0, 1, 0, 0, 0, 0, 0, 0.8, 0.5, 0.3, 1.0]),
            "steps": codes_to_steps(torch.from_numpy(codes))}


def _fit(lm: ProsodyLM, batch: dict, steps: int) -> tuple[float, float]:
    """Teacher-forced AdamW steps on one batch -> (first loss, last loss)."""
    opt = torch.optim.AdamW(lm.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        out = lm(**batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["loss"].detach()))
    return losses[0], losses[-1]


def test_step_layout_round_trip():
    codec = ProsodyCodec()
    rng = np.random.default_rng(0)
    x = _example(rng)
    codes = steps_to_codes(x["steps"])
    assert codes.shape[0] == 4
    back = codec.dequantize(codes)
    np.testing.assert_array_equal(back.frames, x["dur"].numpy().astype(int))
    np.testing.assert_array_equal(codes_to_steps(codes), x["steps"])


def test_tiny_lm_learns_and_samples_deterministically(tmp_path):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    exs = [_example(rng) for _ in range(4)]
    lm = ProsodyLM(tiny_config())
    assert sum(p.numel() for p in lm.parameters()) < 300_000
    first, last = _fit(lm, collate(exs), 40)
    assert last < 0.6 * first
    x = exs[0]
    args = (x["ids"].numpy(), x["d"].float().numpy(), x["dur"].numpy(), x["style"].numpy(), x["feats"])
    a = lm.generate(*args, generator=torch.Generator().manual_seed(3), guidance_scale=2.0)
    b = lm.generate(*args, generator=torch.Generator().manual_seed(3), guidance_scale=2.0)
    c = lm.generate(*args, generator=torch.Generator().manual_seed(4), guidance_scale=2.0)
    assert torch.equal(a, b) and not torch.equal(a, c)
    codec = ProsodyCodec()
    for codes in (a, c):
        feats = codec.dequantize(codes[0])                  # valid codes: in range, boundaries on even frames
        assert len(feats.frames) == len(x["dur"]) and (feats.frames >= 1).all()
    # median durations + greedy bins: no randomness left, every seed gives the same take
    m = [lm.generate(*args, generator=torch.Generator().manual_seed(s), temperature=0, durations="median")
         for s in (3, 4)]
    assert torch.equal(m[0], m[1])
    assert (codec.dequantize(m[0][0]).frames >= 1).all()
    with pytest.raises(ProsodyLMError, match="durations"):
        lm.generate(*args, durations="mean")
    lm.save_pretrained(tmp_path / "lm")
    lm2 = ProsodyLM.from_pretrained(tmp_path / "lm")
    assert torch.equal(lm2.generate(*args, generator=torch.Generator().manual_seed(3), guidance_scale=2.0), a)
    with pytest.raises(ProsodyLMError, match="No prosody LM"):
        ProsodyLM.from_pretrained(tmp_path / "missing")


def test_length_guard_always_stops():
    torch.manual_seed(0)
    lm = ProsodyLM(tiny_config())
    with torch.no_grad():                                    # a model that never wants a boundary
        lm.heads[0][1].bias.copy_(torch.tensor([30.0, -30.0]))
    x = _example(np.random.default_rng(2), n_ph=5)
    codes = lm.generate(x["ids"].numpy(), x["d"].float().numpy(), x["dur"].numpy(), x["style"].numpy(), "angry",
                        generator=torch.Generator().manual_seed(0))
    feats = ProsodyCodec().dequantize(codes[0])
    assert len(feats.frames) == 7 and (feats.frames >= 1).all()
    n_steps = codes.shape[-1] // 2
    cfg = lm.config
    assert n_steps <= max(7, int(cfg.guard_factor * float(x["dur"].sum())) + cfg.guard_frames)
    assert feats.frames.max() <= cfg.max_token_frames


@pytest.mark.slow
def test_train_speech_lm_recipe_tiny(tmp_path):
    cmd = [sys.executable, "-m", "emotive.apps.cli", "train", "speech-lm", "--tiny", "--out", str(tmp_path / "run")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "held-out loss" in r.stdout
    r = subprocess.run([*cmd, "--steps", "6", "--ship", str(tmp_path / "ship")], capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    st = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)
    assert st["step"] == 6
    lm = ProsodyLM.from_pretrained(tmp_path / "ship")
    assert lm.config.d_model == tiny_config().d_model
    assert "speech-lm" in (tmp_path / "ship" / "MODEL_CARD.md").read_text()


@pytest.mark.slow
def test_pipeline_codec_lm_engine_with_a_tiny_lm(tmp_path):
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    torch.manual_seed(0)
    ProsodyLM(tiny_config()).save_pretrained(tmp_path / "lm")
    pipe = EmotionalSpeechPipeline.from_pretrained(str(tmp_path / "lm"), threads=1)
    kw = dict(emotion="happy", engine="codec-lm", guidance_scale=2.0)
    a = pipe("Hi there.", generator=torch.Generator().manual_seed(5), **kw)
    b = pipe("Hi there.", generator=torch.Generator().manual_seed(5), **kw)
    assert a.engine == "codec-lm" and a.waveform.dtype == np.float32 and np.abs(a.waveform).max() <= 1.0
    assert np.array_equal(a.waveform, b.waveform)
    seg = a.segments[0]
    assert len(seg.phones) == len(seg.phonemes) and seg.end <= a.duration + 1e-6
    z = pipe("Hi there.", emotion="angry:0", engine="codec-lm", generator=torch.Generator().manual_seed(5))
    n = pipe("Hi there.", emotion="neutral", engine="codec-lm", generator=torch.Generator().manual_seed(5))
    assert np.array_equal(z.waveform, n.waveform)


@pytest.mark.pretrained
def test_shipped_lm_is_small_and_follows_the_emotion():
    """The shipped LM (no decoder needed): <= 25 MB; sad is slower, lower and quieter than happy on a test sentence."""
    from emotive.generators.speech.frontend import join_words, kokoro_words
    from emotive.generators.speech.pipeline import LM_TEMPERATURE
    from emotive.generators.speech.prosody import KOKORO_PAUSES
    from emotive.generators.speech.prosody_lm import PRETRAINED_DIR, kokoro_neutral

    if not (PRETRAINED_DIR / "model.safetensors").is_file():
        pytest.skip("the prosody LM has not been shipped yet (`emotive train speech-lm --ship ...`)")
    assert (PRETRAINED_DIR / "model.safetensors").stat().st_size <= 25 * 2**20
    torch.set_num_threads(1)
    lm = ProsodyLM.from_pretrained()
    codec = ProsodyCodec()
    words = [w for w in kokoro_words("The kettle clicked off just as the phone began to ring.")
             if w.phonemes or w.text in KOKORO_PAUSES]
    phon, _ = join_words(words, codec.kokoro.vocab.__contains__)
    front, style = codec.front(phon, "jf_alpha")
    neutral = kokoro_neutral(codec.kokoro, front, style) if lm.config.neutral_ref else None
    out = {}
    for label in ("happy", "sad"):
        f0, dur, gain = [], [], []
        for seed in range(3):
            codes = lm.generate(codec.kokoro.token_ids(phon), front.d, front.durations, style, label,
                                generator=torch.Generator().manual_seed(seed), neutral=neutral,
                                temperature=LM_TEMPERATURE)
            f = codec.dequantize(codes[0])
            v = f.f0 >= 50
            f0.append(np.median(12 * np.log2(f.f0[v] / 100)))
            dur.append(f.frames.sum())
            gain.append(f.gain_db.mean())
        out[label] = (np.mean(f0), np.mean(dur), np.mean(gain))
    assert out["sad"][0] < out["happy"][0] - 2       # semitones
    assert out["sad"][1] > out["happy"][1] * 1.1     # frames
    assert out["sad"][2] < out["happy"][2] - 3       # dB


@pytest.mark.slow
def test_audio_targets_re_analyse_what_the_decoder_realised():
    """targets="audio": same durations and energy as the parameter-space targets, F0 measured from the rendered
    take (close to the commanded F0 on frames both call voiced), level of the peak-limited output."""
    from emotive.generators.speech.kokoro import Kokoro, VoiceBank
    from emotive.generators.speech.prosody import ProsodyParams
    from emotive.generators.speech.prosody_lm_data import utterance_codes

    codec = ProsodyCodec(kokoro=Kokoro.load(threads=1), voices=VoiceBank.load())
    phon = "hˈɛlO, wˈɜɹld."
    front, style = codec.front(phon, "jf_alpha")
    p = ProsodyParams.from_emotion("sad")
    a, b = (codec.dequantize(utterance_codes(codec, front, style, phon, p, np.random.default_rng(0), t))
            for t in ("params", "audio"))
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.energy, b.energy)
    v = (a.f0 > 50) & (b.f0 > 50)
    assert v.mean() > 0.3
    assert np.median(np.abs(12 * np.log2(b.f0[v] / a.f0[v]))) < 1.0
    assert abs(float(np.ravel(b.gain_db)[0]) - float(np.ravel(a.gain_db)[0])) <= 1.0
    with pytest.raises(ValueError, match="targets"):
        utterance_codes(codec, front, style, phon, p, np.random.default_rng(0), "wav")


def test_median_durations_follow_the_hazard():
    """A token ends where P(ended) first reaches 1/2: with a constant hazard h per frame, after
    ceil(log 0.5 / log(1 - h)) frames (h = 0.2: 4 frames), however the seed goes."""
    torch.manual_seed(0)
    lm = ProsodyLM(tiny_config())
    h = 0.2
    with torch.no_grad():
        lm.heads[0][1].weight.zero_()
        lm.heads[0][1].bias.copy_(torch.tensor([0.0, float(np.log(h / (1 - h)))]))
    x = _example(np.random.default_rng(2), n_ph=5)
    args = (x["ids"].numpy(), x["d"].float().numpy(), x["dur"].numpy(), x["style"].numpy(), "sad")
    for seed in (0, 1):
        codes = lm.generate(*args, generator=torch.Generator().manual_seed(seed), durations="median")
        frames = ProsodyCodec().dequantize(codes[0]).frames
        assert (frames[:-1] == 4).all(), frames


def test_relative_pitch_round_trip_and_reference_lookup():
    from emotive.generators.speech.prosody_codec import CodecConfig
    from emotive.generators.speech.prosody_lm import (
        neutral_frames,
        neutral_reference,
        pitch_to_absolute,
        pitch_to_relative,
        reference_at,
    )

    c = CodecConfig()
    rng = np.random.default_rng(0)
    codes = torch.from_numpy(rng.integers(0, c.n_unvoiced + c.n_voiced, 500))
    ref = torch.from_numpy(rng.integers(c.n_unvoiced, c.n_unvoiced + c.n_voiced, 500))
    rel = pitch_to_relative(codes, ref, c.n_unvoiced, 100)
    assert int(rel.min()) >= 0 and int(rel.max()) <= c.n_unvoiced + 200
    back = pitch_to_absolute(rel, ref, c.n_unvoiced, 100, c.n_voiced)
    near = (codes < c.n_unvoiced) | ((codes - ref).abs() <= 100)
    assert torch.equal(back[near], codes[near])                    # exact within +-100 bins, clipped beyond
    np.testing.assert_array_equal(neutral_frames(np.array([0.2, 1.4, 2.6])), [1, 1, 3])
    frames = np.array([1, 2, 3])                                   # 6 steps, 12 codec frames
    f0 = np.array([10, 10, 200, 200, 10, 10, 220, 220, 240, 240, 10, 10], np.float64)
    nref = neutral_reference(frames, f0, np.linspace(-5, 5, 12), c)
    assert nref["ref"].shape == (6, 2) and nref["feat"].shape == (6, 6)
    assert (nref["ref"] >= c.n_unvoiced).all()                     # unvoiced frames borrow their neighbours' pitch
    assert torch.equal(nref["start"], torch.tensor([0, 1, 3]))
    tab = {k: v[None] for k, v in nref.items()}
    # token 1 at its 1st and 2nd frame -> steps 1, 2; at its 5th (longer than neutral) -> stays on step 2
    r, f = reference_at(tab, torch.tensor([[1, 1, 1, 2]]), torch.tensor([[1, 2, 5, 1]]))
    assert torch.equal(r[0, :, 0], nref["ref"][[1, 2, 2, 3], 0])
    assert torch.equal(f[0], nref["feat"][[1, 2, 2, 3]])


def test_tiny_lm_with_neutral_reference_learns_and_samples(tmp_path):
    from dataclasses import replace

    from emotive.generators.speech.prosody_lm import neutral_frames, neutral_reference

    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    codec = ProsodyCodec()
    exs = []
    for _ in range(4):
        x = _example(rng)
        nf = neutral_frames(x["dur"].numpy())
        t2 = 2 * int(nf.sum())
        x["neutral_raw"] = (np.where(rng.random(t2) < 0.7, rng.uniform(150, 300, t2), 15.0), rng.uniform(-5, 5, t2))
        x["neutral"] = neutral_reference(nf, *x["neutral_raw"], codec.config)
        exs.append(x)
    lm = ProsodyLM(replace(tiny_config(), neutral_ref=True))
    batch = collate(exs)
    assert "n_ref" in batch
    first, last = _fit(lm, batch, 30)
    assert last < 0.7 * first
    x = exs[0]
    args = (x["ids"].numpy(), x["d"].float().numpy(), x["dur"].numpy(), x["style"].numpy(), x["feats"])
    a = lm.generate(*args, generator=torch.Generator().manual_seed(3), neutral=x["neutral_raw"])
    b = lm.generate(*args, generator=torch.Generator().manual_seed(3), neutral=x["neutral_raw"])
    assert torch.equal(a, b)
    feats = codec.dequantize(a[0])                                # valid codec codes (absolute pitch)
    assert len(feats.frames) == len(x["dur"]) and (feats.frames >= 1).all()
    with pytest.raises(ProsodyLMError, match="neutral"):
        lm.generate(*args)
    with pytest.raises(ProsodyLMError, match="neutral"):
        lm(**{k: v for k, v in batch.items() if not k.startswith("n_") or k == "n_steps"})
    lm.save_pretrained(tmp_path / "lm")
    lm2 = ProsodyLM.from_pretrained(tmp_path / "lm")
    assert lm2.config.neutral_ref
    assert torch.equal(lm2.generate(*args, generator=torch.Generator().manual_seed(3), neutral=x["neutral_raw"]), a)


def test_mix_bins_guides_values_and_keeps_voicing():
    from emotive.generators.speech.prosody_lm import mix_bins

    assert mix_bins(30, 20, 1.0, 5, 100) == 30                   # scale 1: the conditional stream
    assert mix_bins(30, 20, 0.0, 5, 100) == 20                   # scale 0: the reference
    assert mix_bins(30, 20, 2.0, 5, 100) == 40                   # beyond: the departure doubled
    assert mix_bins(30, 20, 0.5, 5, 100) == 25
    assert mix_bins(90, 20, 3.0, 5, 100) == 99                   # kept in the bins
    assert mix_bins(8, 20, 3.0, 5, 100) == 5
    assert mix_bins(2, 20, 2.0, 5, 100) == 2                     # unvoiced in cond: cond's frame
    assert mix_bins(30, 3, 2.0, 5, 100) == 30                    # only the reference unvoiced: no value to mix
    assert mix_bins(30, 3, 0.0, 5, 100) == 3                     # below 0.5 the reference's frame
    devs = [abs(mix_bins(37, 20, g, 0, 200) - 20) for g in (0.5, 1.5, 3.0)]
    assert devs[0] < devs[1] < devs[2]


def test_mix_bins_excess_limit_bounds_the_exaggeration_only():
    from emotive.generators.speech.prosody_lm import mix_bins

    for g in (0.0, 0.5, 1.0):                                    # up to scale 1: unchanged
        assert mix_bins(60, 20, g, 5, 200, excess_limit=10) == mix_bins(60, 20, g, 5, 200)
    up = [mix_bins(24, 20, g, 5, 200, excess_limit=10) for g in (1.0, 1.2, 1.5, 2.0, 3.0, 10.0)]
    assert up == sorted(up) and len(set(up)) == len(up)          # still growing with the scale ...
    assert mix_bins(60, 20, 3.0, 5, 200, excess_limit=10) == 70  # ... but not past the limit
    assert mix_bins(60, 20, 3.0, 5, 200) == 140                  # (linear: 140)
    down = [mix_bins(60, 90, g, 5, 200, excess_limit=10) for g in (1.0, 1.5, 3.0)]
    assert 50 <= down[2] < down[1] < down[0] == 60               # a lowered pitch goes lower, as far
    assert mix_bins(2, 40, 3.0, 5, 200, excess_limit=10) == 2    # voicing rules as before


def test_tracks_guidance_from_neutral_spans_neutral_to_exaggerated():
    """guidance_space="tracks": scale 0 is the neutral take, a neutral request is the same at any scale, scale 1 is
    classic guidance at cfg_scale; a bad option value is refused (the departure growing with the scale is
    mix_bins' test, and the bench's on the shipped LM)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    lm = ProsodyLM(tiny_config())
    exs = [_example(rng, 8) for _ in range(4)]
    exs[1]["feats"] = torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0])
    _fit(lm, collate(exs), 40)
    x = exs[0]
    args = (x["ids"].numpy(), x["d"].float().numpy(), x["dur"].numpy(), x["style"].numpy())

    def take(emotion, g, space="tracks"):
        return lm.generate(*args, emotion, generator=torch.Generator().manual_seed(2), guidance_scale=g,
                           temperature=0.0, guidance_space=space, cfg_scale=1.5)

    neutral = take("neutral", 1.0)
    assert torch.equal(take("happy", 0.0), neutral)
    assert torch.equal(take("neutral", 3.0), neutral)
    happy = take("happy", 1.0)
    assert torch.equal(happy, lm.generate(*args, "happy", generator=torch.Generator().manual_seed(2),
                                          guidance_scale=1.5, temperature=0.0))
    assert not torch.equal(happy, neutral)
    assert len(ProsodyCodec().dequantize(take("happy", 2.0)[0]).frames) == len(x["dur"])
    with pytest.raises(ProsodyLMError, match="guidance_space"):
        lm.generate(*args, "happy", guidance_space="audio")
