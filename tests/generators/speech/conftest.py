"""Shared fixtures: a tiny corpus (two flite voices, seconds to build)."""

import shutil

import pytest


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    from emotive.generators.speech.corpus import build_corpus

    out = tmp_path_factory.mktemp("corpus_tiny")
    build_corpus(out, "tiny", seed=0, workers=1, progress=False)
    return out
