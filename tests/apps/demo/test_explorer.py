"""The explorer tab's functions, in-process (the running app is covered by test_api/test_browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotive.apps.demo.tabs import explorer
from emotive.conditioning import Emotion, EmotionError


def test_split_prompts():
    assert explorer.split_prompts("  a \n\n b  \n") == ["a", "b"]
    for bad in ("", "  \n ", None, "\n".join(["x"] * (explorer.MAX_PROMPTS + 1))):
        with pytest.raises(EmotionError):
            explorer.split_prompts(bad)


def test_errors_name_the_prompt():
    with pytest.raises(EmotionError, match=r"^Prompt 2: .*Did you mean 'surprised'"):
        explorer.resolve_prompts(["happy", "suprised:0.4"])
    with pytest.raises(EmotionError, match=r"^Unknown emotion label"):
        explorer.resolve_prompts(["suprised:0.4"])


def test_explore_rows_json_and_weak_cue_warning(monkeypatch):
    weak = Emotion((0.7, 0.1, 0.1, 0.05, 0.05, 0, 0, 0), (0.1, -0.05, 0.0), 0.3, 0.25, "text", "the meeting is at noon")
    real_parse = Emotion.parse
    monkeypatch.setattr(explorer.Emotion, "parse", lambda s: weak if s == "the meeting is at noon" else real_parse(s))
    warnings: list[str] = []
    monkeypatch.setattr(explorer.gr, "Warning", lambda msg, *a, **k: warnings.append(msg))
    fig, rows, path = explorer.explore("sad:0.5\nthe meeting is at noon", progress=lambda *a, **k: None)
    assert [r[2] for r in rows] == ["sad", "neutral"] and rows[0][7] == 0.5
    assert warnings and warnings[0].startswith("Prompt 2:")
    payload = json.loads(Path(path).read_text())
    assert payload[0]["request"] == "sad:0.5" and Emotion.parse(payload[0]["request"]) == Emotion.from_label("sad", 0.5)
    assert payload[1]["confidence"] == 0.25
    assert len(fig.axes) == 2
