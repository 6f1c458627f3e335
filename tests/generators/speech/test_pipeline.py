"""EmotionalSpeechPipeline on real Kokoro (offline): call shape, emotion inside the graph, timings, streaming,
long text, reranking, bad input, and `emotive speak`."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from emotive.conditioning import Emotion
from emotive.generators.speech.pipeline import (
    MAX_CHARS,
    EmotionalSpeechPipeline,
    SpeechInputError,
    SpeechOutput,
)
from emotive.generators.speech.prosody import ProsodyParams, kokoro_duration_factors


@pytest.fixture(scope="module")
def pipe():
    return EmotionalSpeechPipeline.from_pretrained(threads=1)


def _f0_median(x, sr):
    from emotive.evaluators.speech.features import f0_contour

    return float(np.median(f0_contour(x, sr)[1]))


def test_output_shape_and_timings(pipe):
    out = pipe("Hello there. How are you today?", emotion="happy:0.7", generator=torch.Generator().manual_seed(0))
    assert isinstance(out, SpeechOutput) and out.sample_rate == 24_000 and out.engine == "direct"  # the default
    assert out.waveform.dtype == np.float32 and out.waveform.ndim == 1 and np.abs(out.waveform).max() <= 1.0
    assert out.voice == "jf_alpha" and out.emotion.label == "happy" and len(out.segments) == 2
    a, b = out.segments
    assert a.start == 0 and a.end == pytest.approx(b.start) and b.end == pytest.approx(out.duration)
    assert [w.text for w in a.words][:2] == ["Hello", "there"]
    for seg in out.segments:
        assert len(seg.phones) == len(seg.phonemes)
        times = [t for _, s, e in seg.phones for t in (s, e)]
        assert all(b >= a - 1e-9 for a, b in itertools.pairwise(times))
        assert seg.start <= times[0] and times[-1] <= seg.end + 1e-9
        for w in seg.words:
            assert seg.start <= w.start <= w.end <= seg.end      # trailing punctuation may be cut to 0 s


def test_seeded_and_deterministic(pipe):
    """The direct engine's first take is the rules exactly (seed-independent); extra takes vary with the seed."""
    a = pipe("Oh no.", emotion="fearful", engine="direct", generator=torch.Generator().manual_seed(5))
    b = pipe("Oh no.", emotion="fearful", engine="direct", generator=torch.Generator().manual_seed(6))
    assert np.array_equal(a.waveform, b.waveform)
    f = ProsodyParams.from_emotion("fearful")
    p1, p2 = (f.perturbed(np.random.default_rng(s)) for s in (1, 2))
    assert p1 != p2 and p1 == f.perturbed(np.random.default_rng(1))


def test_intensity_zero_is_plain_kokoro(pipe):
    plain = pipe("Thank you.", emotion="neutral").waveform
    for label in ("happy", "sad", "angry"):
        assert np.array_equal(pipe("Thank you.", emotion=Emotion.from_label(label, 0.0)).waveform, plain)


def test_emotion_moves_pitch_rate_and_loudness(pipe):
    text = "We will meet again at the station tomorrow."
    n, h, s = (pipe(text, emotion=e, engine="direct").waveform for e in ("neutral", "happy", "sad"))
    sr = pipe.sample_rate
    assert _f0_median(h, sr) > _f0_median(n, sr) + 1.5 > _f0_median(s, sr) + 2.5
    assert len(s) > 1.1 * len(n) > 1.1 * len(h) * 0.95
    rms = [float(np.sqrt(np.mean(x**2))) for x in (n, h, s)]
    assert rms[1] > rms[0] > rms[2]


def test_duration_factors_follow_the_rules():
    p = ProsodyParams(tempo=1.25, pause=2.0, emphasis=1.0)
    f = kokoro_duration_factors("hˈɛlO, wˈɜɹld.", p)
    assert len(f) == len("hˈɛlO, wˈɜɹld.") + 2
    assert f[0] == f[-1] == 1.0                                      # BOS/EOS keep Kokoro's own length
    assert f[1] == pytest.approx(0.8)                                # h
    assert f[3] == pytest.approx(0.8 * 1.3)                          # the accented ɛ
    assert f[6] == pytest.approx(1.6)                                # the comma
    assert np.allclose(kokoro_duration_factors("abc", ProsodyParams()), 1.0)


def test_params_override_and_pace(pipe):
    slow = pipe("Right now.", params=ProsodyParams(tempo=0.7))       # faders: the direct engine, unasked
    base = pipe("Right now.", engine="direct")
    assert slow.engine == "direct" and slow.duration > 1.25 * base.duration
    assert pipe("Right now.", pace=1.5, engine="direct").duration > 1.3 * base.duration
    lm = pipe("Right now.", engine="codec-lm")                        # pace stretches the LM's frames the same
    assert pipe("Right now.", pace=1.5, engine="codec-lm").duration > 1.3 * lm.duration


def test_engine_resolution():
    from emotive.generators.speech.pipeline import DEFAULT_ENGINE

    assert DEFAULT_ENGINE == "direct" == EmotionalSpeechPipeline.resolve_engine(None)
    assert EmotionalSpeechPipeline.resolve_engine(None, ProsodyParams()) == "direct"     # faders: direct only
    assert EmotionalSpeechPipeline.resolve_engine("codec-lm") == "codec-lm"
    assert EmotionalSpeechPipeline.resolve_engine("codec-lm", ProsodyParams()) == "codec-lm"  # refused later


def test_streaming_equals_the_whole(pipe):
    text = "First one. Second one! Third?"
    g = torch.Generator().manual_seed(2)
    whole = pipe(text, emotion="angry:0.6", generator=g)
    chunks = list(pipe.stream(text, emotion="angry:0.6", generator=torch.Generator().manual_seed(2)))
    assert [c.index for c in chunks] == [0, 1, 2]
    assert np.array_equal(np.concatenate([c.waveform for c in chunks]), whole.waveform)
    assert chunks[2].segment.start == pytest.approx(whole.segments[2].start)


def test_long_sentence_is_split_and_long_text_spoken(pipe):
    long_sentence = ", ".join(["the little grey cat sat quietly on the warm mat"] * 14) + "."
    plan = pipe.plan(long_sentence, Emotion.parse("neutral"), "jf_alpha")
    assert len(plan) >= 2
    from emotive.generators.speech.frontend import join_words

    assert all(len(join_words(p.words, pipe.kokoro.vocab.__contains__)[0]) <= 510 for p in plan)


def test_candidates_are_reranked(pipe):
    out = pipe("Good morning.", emotion="happy", num_candidates=2, generator=torch.Generator().manual_seed(0))
    assert len(out.scores) == 1 and len(out.scores[0]) == 2
    assert all({"wer", "p_emotion", "mos", "score"} <= set(s) for s in out.scores[0])


@pytest.mark.parametrize(("kwargs", "words"), [
    (dict(text=""), "empty"),
    (dict(text="a " * (MAX_CHARS // 2 + 1)), "limit"),
    (dict(text="😀 😀"), "no pronounceable words"),
    (dict(text="これは日本語です"), "script"),
    (dict(text=123), "string"),
    (dict(text="Hi.", voice="nobody"), "Unknown voice"),
    (dict(text="Hi.", voice="-1 jf_alpha"), ">= 0"),
    (dict(text="Hi.", voice="nan jf_alpha + 1 jf_nezumi"), "finite"),
    (dict(text="Hi.", engine="world"), "Unknown engine"),
    (dict(text="Hi.", engine="codec-lm", params=ProsodyParams()), "direct engine"),
    (dict(text="Hi.", engine="codec-lm", guidance_scale=float("inf")), "guidance_scale"),
    (dict(text="Hi.", engine="direct", guidance_scale=2.0), "intensity"),
    (dict(text="Hi.", num_candidates=0), "num_candidates"),
    (dict(text="Hi.", pace=float("nan")), "pace"),
])
def test_bad_input_is_one_clear_error(pipe, kwargs, words):
    with pytest.raises(SpeechInputError, match=words) as e:
        pipe(**kwargs)
    assert "\n" not in str(e.value)


def test_speak_cli(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    em = [sys.executable, "-m", "emotive.apps.cli", "speak"]
    r = subprocess.run([*em, "--list-voices"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and r.stdout.split()[0] == "jf_alpha" and len(r.stdout.split()) >= 8
    out = tmp_path / "a.wav"
    cmd = [*em, "Good morning!", "-e", "surprised", "-v", "0.6 jf_alpha + 0.4 jf_nezumi", "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    x, sr = sf.read(out)
    assert sr == 24_000 and len(x) > 0.3 * sr
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)   # exists, no --force
    assert r.returncode == 2 and "exists" in (r.stderr + r.stdout).lower()
    bad = subprocess.run([*em, "Hi", "-v", "nobody", "-o", str(tmp_path / "b.wav")], capture_output=True, text=True,
                         timeout=300, env=env)
    assert bad.returncode == 2 and "Unknown voice" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "b.wav").exists()
    r = subprocess.run(em, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "needs a text" in r.stderr
    # the codec-lm engine's strength knob: 0 speaks the neutral reading, so the take differs from strength 1
    takes = {}
    for g in ("0", "1"):
        takes[g] = tmp_path / f"g{g}.wav"
        r = subprocess.run([*em, "Good morning!", "-e", "sad", "--engine", "codec-lm", "--guidance", g, "-o",
                            str(takes[g])], capture_output=True, text=True, timeout=300, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
    assert not np.array_equal(sf.read(takes["0"])[0], sf.read(takes["1"])[0])
    for bad_g, words in (("nan", "guidance_scale"), ("9", "guidance_scale")):
        r = subprocess.run([*em, "Hi", "--engine", "codec-lm", "--guidance", bad_g, "-o", str(tmp_path / "c.wav")],
                           capture_output=True, text=True, timeout=300, env=env)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*em, "Hi", "--engine", "direct", "--guidance", "2", "-o", str(tmp_path / "c.wav")],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 2 and "intensity" in r.stderr and not (tmp_path / "c.wav").exists()
