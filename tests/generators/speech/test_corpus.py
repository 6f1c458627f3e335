"""Corpus v2 (Kokoro): the plan, the misaki -> ARPAbet phone timings, and a tiny real build (4 utterances)."""

import hashlib
import itertools
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from emotive.conditioning import Emotion
from emotive.generators.speech.corpus import (
    MANIFEST_16K,
    SIZES,
    VOICE_SOURCES,
    arpabet_phones,
    build_corpus,
    params_for,
    plan,
    read_manifest,
)
from emotive.generators.speech.frontend import ARPABET

KEYS = {"id", "wav", "sr", "text", "phonemes", "phones", "speaker", "voice_sources", "emotion", "prosody", "seed",
        "split", "sentence_id", "engine", "duration", "words", "kokoro_phonemes"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus_v2_tiny")
    build_corpus(out, "tiny", seed=0, workers=1, progress=False)
    return out


def test_plan_is_deterministic_balanced_and_sized():
    a, b = plan("small", seed=0), plan("small", seed=0)
    assert [x["id"] for x in a] == [x["id"] for x in b]
    assert [x["emotion"] for x in a] == [x["emotion"] for x in b]
    c = plan("small", seed=1)
    assert [x["id"] for x in c] != [x["id"] for x in a]
    assert len({x["id"] for x in a}) == len(a)
    labelled = [x for x in a if x["emotion"].source == "label"]
    assert {x["emotion"].label for x in labelled} == set(SIZES["small"].labels) and len(SIZES["small"].labels) == 8
    assert {x["speaker"] for x in a} == set(VOICE_SOURCES) and len(VOICE_SOURCES) == 8
    assert all(x["split"] == "train" for x in a if x["emotion"].source == "vad")
    assert sum(x["emotion"].source == "vad" for x in a) == 8 * SIZES["small"].vad_points
    inten = [x["emotion"].intensity for x in labelled if x["emotion"].label != "neutral"]
    assert min(inten) >= 0.5 and max(inten) <= 1.0 and np.std(inten) > 0.1
    assert 900 <= len(a) <= 2000 and len(plan("full")) > 8000
    # every voice has its own sentence shuffle: emotion and sentence are not confounded across voices
    first = {x["speaker"]: x["sentence"]["id"] for x in a if x["split"] == "train"}
    assert len(set(first.values())) > 1


def test_rules_vary_per_utterance_and_repeat_per_seed():
    from emotive.generators.speech.prosody import ProsodyParams

    items = [x for x in plan("small") if x["emotion"].label == "angry" and x["emotion"].source == "label"][:5]
    ps = [params_for(x) for x in items]
    assert len({p.f0_shift for p in ps}) == 5 and all(p.f0_shift > 0 and p.energy_db > 0 for p in ps)
    assert params_for(items[0]) == ps[0]
    assert ps[0] != ProsodyParams.from_emotion(items[0]["emotion"])


def test_misaki_timings_become_contiguous_arpabet():
    chars = "ðə kˈɛTᵊl ɜɹ,"
    durs = [0.025] * len(chars)
    durs[9] = 0.1  # the second word gap is long: a pause; the first (25 ms) belongs to the phone before it
    durs[-1] = 0.15
    timed, s = [], 0.1
    for c, d in zip(chars, durs):
        timed.append((c, round(s, 4), round(s + d, 4)))
        s += d
    out = arpabet_phones(timed, duration=1.0)
    names = [p["phone"] for p in out]
    # stress on the vowel after ˈ, ɜɹ as one ER, the comma and the long gap as pauses, silence at both ends
    assert names == ["pau", "dh", "ah0", "k", "eh1", "t", "ah0", "l", "pau", "er0", "pau"], names
    assert out[0]["start"] == 0.0 and out[-1]["end"] == 1.0
    assert all(a["end"] == b["start"] and b["end"] > b["start"] for a, b in itertools.pairwise(out))
    k = next(p for p in out if p["phone"] == "eh1")
    assert k["start"] == pytest.approx(timed[4][1])  # the stress mark's time belongs to its vowel
    # the face trainer reads these rows
    from emotive.generators.face.phones import phones_from_manifest_row

    face = phones_from_manifest_row({"phones": out})
    assert [p.phone for p in face][1:3] == ["DH", "AH"] and not face[2].stressed and face[4].stressed


def test_tiny_build_contract(tiny):
    rows = [json.loads(ln) for ln in (tiny / "manifest.jsonl").read_text().splitlines()]
    rows16 = [json.loads(ln) for ln in (tiny / MANIFEST_16K).read_text().splitlines()]
    assert len(rows) == len(rows16) == len(plan("tiny")) == 4
    for r, r16 in zip(rows, rows16):
        assert set(r) >= KEYS and r["engine"] == "kokoro-direct"
        x, sr = sf.read(tiny / r["wav"])
        y, sr16 = sf.read(tiny / r16["wav"])
        assert sr == r["sr"] == 24000 and sr16 == r16["sr"] == 16000 and x.ndim == 1
        assert abs(len(x) / sr - r["duration"]) < 1e-3 and abs(len(y) / sr16 - r["duration"]) < 1e-3
        assert {k: v for k, v in r.items() if k not in ("wav", "sr")} == {k: v for k, v in r16.items() if k not in ("wav", "sr")}
        assert set(r["phonemes"]) <= set(ARPABET) and len(r["phonemes"]) >= 5
        ph = r["phones"]
        assert ph[0]["start"] == 0.0 and ph[-1]["end"] == r["duration"]
        assert all(p["phone"] == "pau" or p["phone"].rstrip("012").upper() in ARPABET for p in ph)
        assert all(a["end"] == b["start"] for a, b in itertools.pairwise(ph))
        assert Emotion.from_dict(r["emotion"]).label in ("angry", "sad")
        assert r["voice_sources"] == [r["speaker"]]
        assert [w["word"] for w in r["words"] if w["word"].isalpha()] == [w.strip("!?.,") for w in r["text"].split()]
    rms = {lab: np.mean([np.sqrt(np.mean(sf.read(r["wav"])[0] ** 2)) for r in read_manifest(tiny)
                         if r["emotion"]["label"] == lab]) for lab in ("angry", "sad")}
    assert rms["angry"] > 1.5 * rms["sad"]


def test_resume_is_deterministic_and_skips_finished_rows(tiny, tmp_path):
    from emotive.generators.speech import corpus

    before = (tiny / "manifest.jsonl").read_text()
    build_corpus(tiny, "tiny", seed=0, progress=False)  # nothing left to do
    assert (tiny / "manifest.jsonl").read_text() == before
    # an interrupted build: three rows written, one of them lacking its 16 kHz WAV; a cut line; a stray temporary WAV
    rows = before.splitlines()
    other = tmp_path / "again"
    shutil.copytree(tiny, other)
    (other / "manifest.jsonl").unlink()
    (other / MANIFEST_16K).unlink()
    for ln in rows[3:]:
        r = json.loads(ln)
        (other / r["wav"]).unlink()
        (other / r["wav"]).with_name("x.tmp.wav").write_bytes(b"half")
    (other / json.loads(rows[1])["wav"].replace("wavs/", "wavs16k/", 1)).unlink()
    (other / "manifest.partial.jsonl").write_text("\n".join(rows[:3]) + "\n" + rows[3][:40])
    rendered = []
    real = corpus._work
    corpus._work = lambda it, out: rendered.append(it["id"]) or real(it, out)
    try:
        build_corpus(other, "tiny", seed=0, progress=False)
    finally:
        corpus._work = real
    assert sorted(rendered) == sorted(json.loads(rows[i])["id"] for i in (1, 3))
    assert (other / "manifest.jsonl").read_text() == before
    h = lambda p: hashlib.sha1(sf.read(p)[0].tobytes()).hexdigest()  # noqa: E731
    for ln in rows:
        r = json.loads(ln)
        assert h(tiny / r["wav"]) == h(other / r["wav"])
