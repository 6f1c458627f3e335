"""Emotion-targeted music: ``MusicPipeline`` (melody prior + VQ-VAE, chord HMM, arrangement) -> ``MusicOutput``.

The names are imported on first use, so that ``import emotive.generators.music.harmony`` does not load torch models.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MusicOutput", "MusicPipeline"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from emotive.generators.music import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
