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
def test_shipped_recogniser_on_converted_speech():
    """Shipped weights on a voice converted by the prosody engine (awb), neutral reference of other sentences."""
    import shutil

    if shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    if not (PRETRAINED / "model.safetensors").exists():
        pytest.fail("shipped recogniser missing: run `emotive train speech-ser`")
    from emotive.generators.speech.prosody import ProsodyParams, apply_prosody
    from emotive.generators.speech.voices import render

    def level(x):
        return x / np.sqrt(np.mean(x**2)) * 0.05

    said = render("awb", ["The ferry rocked gently as it left the harbour.", "Did the plumber say when he would come back?"])
    refs = render("awb", ["We painted the kitchen a pale shade of green.", "The museum closes at five on weekdays."])
    ser = SpeechEmotionRecognizer.from_pretrained()
    ref = ser.reference_mean(
        [(apply_prosody(level(r.audio), 16000, ProsodyParams(), resynthesize_identity=True)[0], 16000) for r in refs]
    )
    verdicts = {}
    for lab in ("angry", "sad"):
        p = ProsodyParams.from_emotion(lab)
        verdicts[lab] = [ser.evaluate(apply_prosody(level(r.audio), 16000, p)[0], lab, sr=16000, reference=ref) for r in said]
    assert all(v.matches for vs in verdicts.values() for v in vs), [v.summary() for vs in verdicts.values() for v in vs]
    assert min(v.vad[1] for v in verdicts["angry"]) > max(v.vad[1] for v in verdicts["sad"])  # arousal ordering
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
