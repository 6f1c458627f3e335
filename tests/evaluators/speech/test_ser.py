import numpy as np
import pytest

from emotive.conditioning import LABELS, VAD_CENTROIDS
from emotive.evaluators.speech.features import DIM
from emotive.evaluators.speech.ser import (
    PRETRAINED,
    SERConfig,
    SpeechEmotionRecognizer,
    ccc,
    load,
    predict,
    save,
    train_ser,
)


def synthetic(n_per=30, speakers=("a", "b", "c"), seed=0):
    """Each label shifts a few features; each speaker adds its own offset to everything."""
    rng = np.random.default_rng(seed)
    dirs = rng.normal(0, 1, (len(LABELS), DIM))
    X, y, v, s = [], [], [], []
    for spk in speakers:
        off = rng.normal(0, 3, DIM)
        for li, lab in enumerate(LABELS):
            X.append(off + 1.5 * dirs[li] + rng.normal(0, 0.5, (n_per, DIM)))
            y += [li] * n_per
            v += [VAD_CENTROIDS[lab]] * n_per
            s += [spk] * n_per
    return np.concatenate(X).astype(np.float32), np.array(y), np.array(v, np.float32), s


def test_train_predict_save_load(tmp_path):
    X, y, v, s = synthetic()
    cfg = SERConfig(epochs=150, hidden=32)
    m = train_ser(X, y, v, s, cfg)
    # a seen speaker without reference
    Xt2, yt2, vt2, _ = synthetic(n_per=10, speakers=("a",), seed=0)
    probs, vad = predict(m, Xt2, None)
    assert (probs.argmax(1) == yt2).mean() > 0.9
    # an unseen speaker (new offset): the speaker reference (mean of its neutral rows, as documented) recovers it
    X3, y3, _, s3 = synthetic(n_per=10, speakers=("a", "b", "c", "d"), seed=0)
    d = np.asarray(s3) == "d"
    ref = X3[d & (y3 == 0)].mean(0)
    acc_ref = (predict(m, X3[d], ref)[0].argmax(1) == y3[d]).mean()
    acc_none = (predict(m, X3[d], None)[0].argmax(1) == y3[d]).mean()
    assert acc_ref > 0.9 and acc_ref > acc_none
    assert probs.shape == (len(Xt2), 8) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert ccc(vad[:, 1], vt2[:, 1]) > 0.7
    save(m, cfg, tmp_path / "ser", card="# card\n")
    m2 = load(tmp_path / "ser")
    p2, _ = predict(m2, Xt2, Xt2.mean(0))
    p1, _ = predict(m, Xt2, Xt2.mean(0))
    assert np.allclose(p1, p2, atol=1e-6)


def test_ccc():
    a = np.linspace(-1, 1, 50)
    assert ccc(a, a) == pytest.approx(1.0)
    assert ccc(a, a + 0.5) < 0.9
    assert ccc(a, -a) == pytest.approx(-1.0)


@pytest.mark.pretrained
def test_shipped_recogniser_on_kokoro_speech_of_an_unseen_voice():
    """Shipped weights on the pipeline's 24 kHz output: a blend no corpus voice is, test sentences (never trained on),
    full-intensity angry and sad, with a neutral reference of other sentences and from the file alone."""
    import torch

    if not (PRETRAINED / "model.safetensors").exists():
        pytest.fail("shipped recogniser missing: run `emotive train speech-ser`")
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline
    from emotive.generators.speech.sentences import load_sentences

    pipe = EmotionalSpeechPipeline.from_pretrained()
    voice = "0.7 jf_nezumi + 0.3 jf_gongitsune"
    test = [r["text"] for r in load_sentences() if r["split"] == "test" and 6 <= len(r["text"].split()) <= 10]
    said, refs = test[:2], test[2:4]

    def speak(text, emotion):
        out = pipe(text, emotion=emotion, voice=voice, generator=torch.Generator().manual_seed(0))
        assert out.sample_rate == 24000
        return out.waveform

    ser = SpeechEmotionRecognizer.from_pretrained()
    ref = ser.reference_mean([(speak(t, "neutral"), 24000) for t in refs])
    wavs = {lab: [speak(t, lab) for t in said] for lab in ("angry", "sad")}
    verdicts = {lab: [ser.evaluate(w, lab, sr=24000, reference=ref) for w in ws] for lab, ws in wavs.items()}
    assert all(v.matches for vs in verdicts.values() for v in vs), [v.summary() for vs in verdicts.values() for v in vs]
    assert min(v.vad[1] for v in verdicts["angry"]) > max(v.vad[1] for v in verdicts["sad"])  # arousal ordering
    alone = {lab: [ser.evaluate(w, lab, sr=24000) for w in ws] for lab, ws in wavs.items()}
    assert min(v.vad[1] for v in alone["angry"]) > max(v.vad[1] for v in alone["sad"])
    assert verdicts["angry"][0].to_dict()["modality"] == "speech"


def test_loads_format_1_without_trees(tmp_path):
    import json

    X, y, v, s = synthetic(n_per=8)
    cfg = SERConfig(epochs=20, hidden=16, members=1, label_head="mlp")
    m = train_ser(X, y, v, s, cfg)
    save(m, cfg, tmp_path)
    raw = json.loads((tmp_path / "config.json").read_text())
    old = {k: val for k, val in raw.items() if not k.startswith("tree") and k != "label_head"} | {"version": 1}
    (tmp_path / "config.json").write_text(json.dumps(old))
    m1 = load(tmp_path)
    assert m1.trees is None and m1.label_head == "mlp"
    assert np.allclose(predict(m1, X[:5], X[:20].mean(0))[0], predict(m, X[:5], X[:20].mean(0))[0], atol=1e-6)
    (tmp_path / "config.json").write_text(json.dumps(old | {"version": 9}))
    with pytest.raises(Exception, match="format version 9"):
        load(tmp_path)


def test_cli_refuses_a_bad_request_or_empty_words_before_loading_models(tmp_path, capsys):
    import time

    import soundfile as sf

    from emotive.apps.cli import main

    wav = tmp_path / "x.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)), 16000)
    for extra, words in ((["--text", "   "], "--text is empty"), (["-e", "hapy"], "Did you mean 'happy'")):
        t0 = time.perf_counter()
        assert main(["evaluate", "speech", str(wav), *extra]) == 2
        assert words in capsys.readouterr().err and time.perf_counter() - t0 < 5


def _voice_set(seed=0):
    """Synthetic features for voices a, b, c, d and blends ab, cd (blend offset = mean of its sources');
    every row speaks its own sentence, plus random-VAD rows (label -1)."""
    from emotive.evaluators.speech.dataset import FeatureSet

    rng = np.random.default_rng(seed)
    dirs = rng.normal(0, 1, (len(LABELS), DIM))
    offs = {v: rng.normal(0, 3, DIM) for v in "abcd"}
    voices = {"a": ("a",), "b": ("b",), "c": ("c",), "d": ("d",), "ab": ("a", "b"), "cd": ("c", "d")}
    X, y, v, spk, src, sent, split = [], [], [], [], [], [], []
    for name, parts in voices.items():
        off = np.mean([offs[p] for p in parts], axis=0)
        for li, lab in enumerate(LABELS):
            for j in range(12):
                X.append(off + 1.5 * dirs[li] + rng.normal(0, 0.5, DIM))
                y.append(li)
                v.append(VAD_CENTROIDS[lab])
                split.append(("train", "val", "test")[j % 3])
        for _ in range(10):
            w = rng.uniform(-1, 1, len(LABELS))
            X.append(off + w @ dirs / 2 + rng.normal(0, 0.5, DIM))
            y.append(-1)
            v.append(tuple(np.clip(w @ np.array([VAD_CENTROIDS[lb] for lb in LABELS]) / 2, -1, 1)))
            split.append("train")
        n = len(X) - len(spk)
        spk += [name] * n
        src += [parts] * n
        sent += [f"{name}{i}" for i in range(n)]
    n = len(X)
    return FeatureSet(np.asarray(X, np.float32), np.asarray(y), np.asarray(v, np.float32), spk, split,
                      [f"r{i}" for i in range(n)], ["label" if t >= 0 else "vad" for t in y], src, sent)


def test_lovo_holds_out_source_voices_and_excludes_their_blends(monkeypatch):
    from emotive.evaluators.speech import dataset, ser

    data = _voice_set()
    # a test row whose sentence a training row speaks must not be scored: give one of a's rows b's sentence
    i_a = data.speakers.index("a")
    data.sentences[i_a] = data.sentences[data.speakers.index("b")]
    trained_on: list[set] = []
    real = ser.train_ser

    def spy(feats, labels, vads, speakers, cfg=None, log=None):
        trained_on.append(set(speakers))
        return real(feats, labels, vads, speakers, cfg, log)

    monkeypatch.setattr(ser, "train_ser", spy)
    res = dataset.lovo(data, SERConfig(epochs=40, hidden=32, members=1, tree_iters=15))
    assert dataset.held_out_voices(data) == ["a", "b", "c", "d"] and set(res["per_speaker"]) == {"a", "b", "c", "d"}
    assert trained_on == [{"b", "c", "d", "cd"}, {"a", "c", "d", "cd"}, {"a", "b", "d", "ab"}, {"a", "b", "c", "ab"}]
    assert {b: [f["fold"] for f in fs] for b, fs in res["per_blend"].items()} == {"ab": ["a", "b"], "cd": ["c", "d"]}
    # a's row (b's sentence) is not scored in fold a, and b's row of that sentence is not scored in fold b
    assert [res["per_speaker"][s]["n"] for s in "abcd"] == [95, 95, 96, 96] and res["n"] == 382
    assert res["n_vad"] == res["n"] + 4 * 10
    assert res["accuracy"] > 0.9 and res["accuracy"] >= res["accuracy_no_reference"]
    assert res["arousal_ccc"] > 0.6 and np.sum(res["confusion"]) == res["n"]


def test_features_are_the_same_at_24_and_16_khz():
    """The pipeline speaks at 24 kHz; the recogniser resamples to 16 kHz, so both rates give the same features."""
    from emotive.evaluators.speech.audio import resample
    from emotive.evaluators.speech.features import FEATURE_NAMES, utterance_features

    sr = 24000
    t = np.arange(int(2.0 * sr)) / sr
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 25)) * (0.2 + 0.15 * np.sin(2 * np.pi * 3 * t) ** 2)
    x[int(0.9 * sr) : int(1.1 * sr)] = 0.0
    x = (0.3 * x / np.abs(x).max() + 0.001 * np.random.default_rng(0).normal(size=len(x))).astype(np.float32)
    a = utterance_features(x, sr)
    b = utterance_features(resample(x, sr, 16000), 16000)
    i = FEATURE_NAMES.index("f0_p50")
    assert abs(a[i] - b[i]) < 0.05 * abs(b[i]) + 1e-6
    assert np.allclose(a, b, rtol=0.05, atol=0.05), [n for n, p, q in zip(FEATURE_NAMES, a, b) if not np.isclose(p, q, 0.05, 0.05)]
