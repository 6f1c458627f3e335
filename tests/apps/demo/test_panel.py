"""How the emotion panel's inputs combine (panel.resolve_emotion) and its bad-input messages."""

from __future__ import annotations

import math

import pytest

from emotive.apps.demo.panel import MODES, describe_markdown, request_to_emotion, resolve_emotion
from emotive.conditioning import Emotion, EmotionError


def test_label_mode_uses_label_and_intensity_only():
    e = resolve_emotion("Label", "sad", 0.9, 0.9, 0.9, "furious", 0.4)
    assert e == Emotion.from_label("sad", 0.4)
    assert resolve_emotion("Label", " Joy ", 0, 0, 0, "", 1.0) == Emotion.from_label("happy")


def test_vad_mode_uses_the_point_and_ignores_intensity():
    a = resolve_emotion("VAD", "happy", -0.5, 0.6, -0.3, "", 0.1)
    b = resolve_emotion("VAD", "angry", -0.5, 0.6, -0.3, "calm", 1.0)
    assert a == b == Emotion.from_vad(-0.5, 0.6, -0.3)
    assert a.source == "vad"


def test_text_mode_scales_what_the_text_says():
    full = resolve_emotion("Text", "neutral", 0, 0, 0, "0.7 sad + 0.3 angry", 1.0)
    half = resolve_emotion("Text", "neutral", 0, 0, 0, "0.7 sad + 0.3 angry", 0.5)
    assert full == Emotion.parse("0.7 sad + 0.3 angry")
    assert half.probs == full.probs and half.intensity == pytest.approx(full.intensity * 0.5)
    # free text goes through the same parse; it is checked against the running app in test_api.py


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("Label", "hapy", 0, 0, 0, "", 1.0), "Did you mean 'happy'"),
        (("Label", "", 0, 0, 0, "", 1.0), "Choose an emotion label"),
        (("Label", None, 0, 0, 0, "", 1.0), "Choose an emotion label"),
        (("Label", "happy", 0, 0, 0, "", math.nan), "intensity"),
        (("Label", "happy", 0, 0, 0, "", 1.5), "intensity"),
        (("Label", "happy", 0, 0, 0, "", None), "intensity"),
        (("VAD", "happy", math.nan, 0, 0, "", 1.0), "valence"),
        (("VAD", "happy", 0, math.inf, 0, "", 1.0), "arousal"),
        (("VAD", "happy", 0, 0, "x", "", 1.0), "dominance"),
        (("VAD", "happy", 2.0, 0, 0, "", 1.0), "valence"),
        (("Text", "happy", 0, 0, 0, "", 1.0), "empty"),
        (("Text", "happy", 0, 0, 0, "   ", 1.0), "empty"),
        (("Text", "happy", 0, 0, 0, "x" * 1001, 1.0), "limit is 1000"),
        (("Text", "happy", 0, 0, 0, "suprised:0.4", 1.0), "Did you mean 'surprised'"),
        (("Diagonal", "happy", 0, 0, 0, "", 1.0), "Unknown mode"),
    ],
)
def test_bad_inputs_raise_one_clear_error(args, needle):
    with pytest.raises(EmotionError) as info:
        resolve_emotion(*args)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    "args",
    [("Label", "angry", 0, 0, 0, "", 0.35), ("VAD", "", 0.2, -0.7, 0.1, "", 1.0),
     ("Text", "", 0, 0, 0, "0.6 calm + 0.4 happy", 0.6)],
)
def test_request_string_round_trips(args):
    e = resolve_emotion(*args)
    assert request_to_emotion(str(e)) == e
    assert e.label in describe_markdown(e)


def test_request_to_emotion_rejects_nothing():
    for bad in (None, "", "  "):
        with pytest.raises(EmotionError):
            request_to_emotion(bad)
    assert MODES == ("Label", "VAD", "Text")
