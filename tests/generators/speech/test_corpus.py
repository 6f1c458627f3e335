import hashlib
import itertools
import json

import numpy as np
import soundfile as sf

from emotive.conditioning import Emotion
from emotive.generators.speech.corpus import build_corpus, plan, read_manifest
from emotive.generators.speech.frontend import ARPABET

KEYS = {"id", "wav", "sr", "text", "phonemes", "phones", "speaker", "emotion", "prosody", "seed", "split"}


def test_plan_is_deterministic_and_balanced():
    a, b = plan("small", seed=0), plan("small", seed=0)
    assert [x["id"] for x in a] == [x["id"] for x in b]
    assert [x["emotion"] for x in a] == [x["emotion"] for x in b]
    assert plan("small", seed=1)[0]["id"] != a[0]["id"] or plan("small", seed=1)[0]["emotion"] != a[0]["emotion"]
    assert len({x["id"] for x in a}) == len(a)
    labels = {x["emotion"].label for x in a if x["emotion"].source == "label"}
    assert len(labels) == 8
    full = plan("full", seed=0)
    assert len(full) > 12000


def test_tiny_corpus_manifest_contract(tiny_corpus):
    rows = [json.loads(ln) for ln in (tiny_corpus / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == len(plan("tiny"))
    for r in rows:
        assert set(r) >= KEYS
        x, sr = sf.read(tiny_corpus / r["wav"])
        assert sr == 16000 == r["sr"] and x.ndim == 1
        assert set(r["phonemes"]) <= set(ARPABET)
        ph = r["phones"]
        assert ph[0]["start"] == 0.0 and abs(ph[-1]["end"] - len(x) / sr) < 0.01
        assert all(p["phone"] == "pau" or p["phone"].upper() in ARPABET for p in ph)
        assert all(a["end"] == b["start"] for a, b in itertools.pairwise(ph))
        e = Emotion.from_dict(r["emotion"])
        assert e.label in ("neutral", "angry", "sad")
        assert r["split"] in ("train", "val", "test")
    by_label = {}
    for r in read_manifest(tiny_corpus):
        x, sr = sf.read(r["wav"])
        by_label.setdefault(r["emotion"]["label"], []).append(np.sqrt(np.mean(x**2)))
    assert np.mean(by_label["angry"]) > np.mean(by_label["sad"])


def test_resume_and_determinism(tiny_corpus, tmp_path):
    before = (tiny_corpus / "manifest.jsonl").read_text()
    build_corpus(tiny_corpus, "tiny", seed=0, progress=False)  # nothing left to do
    assert (tiny_corpus / "manifest.jsonl").read_text() == before
    # interrupted build: keep half the rows as a partial manifest, delete the rest
    rows = before.splitlines()
    other = tmp_path / "again"
    build_corpus(other, "tiny", seed=0, progress=False)
    h = lambda p: hashlib.sha1(p.read_bytes()).hexdigest()  # noqa: E731
    r0 = json.loads(rows[0])
    assert h(tiny_corpus / r0["wav"]) == h(other / r0["wav"])
    (other / "manifest.partial.jsonl").write_text("\n".join(rows[: len(rows) // 2]) + "\n")
    (other / "manifest.jsonl").unlink()
    for ln in rows[len(rows) // 2 :]:
        (other / json.loads(ln)["wav"]).unlink()
    build_corpus(other, "tiny", seed=0, progress=False)
    assert (other / "manifest.jsonl").read_text() == before


def test_shared_source_analysis_gives_identical_audio():
    """The corpus analyses a rendering once when it gets several emotions: same samples as analysing each time."""
    from emotive.generators.speech.corpus import make_utterance, source_analysis
    from emotive.generators.speech.voices import render

    r = render("rms", ["The museum opens at nine on Sundays."], 16000)[0]
    items = [it for it in plan("tiny") if it["speaker"] == "rms"][:2]
    w = source_analysis(r.audio, r.phones, 16000)
    for it in items:
        a, fa = make_utterance(it, r.audio, r.phones, 16000)
        b, fb = make_utterance(it, r.audio, r.phones, 16000, world=w)
        assert np.array_equal(a, b) and fa == fb


def test_chunks_keep_a_sentence_together():
    from emotive.generators.speech.corpus import _chunks

    items = [it for it in plan("full") if it["speaker"] == "kal"]
    chunks = list(_chunks(items, 12))
    where: dict[str, set[int]] = {}
    for i, c in enumerate(chunks):
        for it in c:
            where.setdefault(it["sentence"]["id"], set()).add(i)
    split = sum(len(v) > 1 for v in where.values())
    assert split <= len(chunks)  # at most one sentence straddles each chunk boundary
    assert sum(len(c) for c in chunks) == len(items)
