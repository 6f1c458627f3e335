import json
from pathlib import Path

from emotive.generators.speech.sentences import build_sentences, load_sentences, split_of


def test_committed_sentences_are_the_built_ones():
    rows = load_sentences()
    assert len(rows) >= 1500
    assert rows == build_sentences()  # data/sentences.jsonl is reproducible from the code


def test_sentences_shape_and_split():
    rows = load_sentences()
    texts = [r["text"].lower() for r in rows]
    assert len(set(texts)) == len(texts)
    assert all(2 <= len(r["text"].split()) <= 30 for r in rows)
    assert {r["kind"] for r in rows} == {"statement", "question", "exclamation"}
    assert sum(r["has_number"] for r in rows) > 200
    assert len({r["congruent"] for r in rows}) == 8
    for r in rows:
        assert r["split"] == split_of(r["text"])
    counts = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    assert counts["train"] > 6 * counts["test"] and counts["test"] > 100


def test_phoneme_coverage_report():
    rep = json.loads((Path(__file__).parents[3] / "generators/speech/data/coverage.json").read_text())
    assert rep["missing_in_train"] == []
    assert all(v > 0 for v in rep["phoneme_counts_train"].values())
