"""The emotion panel's SVG picture: what it draws is what the emotion says, and it is cheap."""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET

import pytest

from emotive.apps.demo.emotion_svg import (
    BAR_W,
    LABEL_COLORS,
    alt_text,
    emotion_html,
    emotion_svg,
    plane_xy,
)
from emotive.conditioning import LABELS, Emotion

NS = {"svg": "http://www.w3.org/2000/svg"}


@pytest.mark.parametrize("request_", ["0.7 sad + 0.3 angry", "happy:0.8", "vad(-0.5, 0.6, -0.3)", "neutral"])
def test_bars_and_point_follow_the_emotion(request_):
    e = Emotion.parse(request_)
    root = ET.fromstring(emotion_svg(e))
    bars = root.findall("svg:rect[@class='prob']", NS)
    assert [b.get("data-label") for b in bars] == list(LABELS)
    assert [float(b.get("width")) for b in bars] == pytest.approx([p * BAR_W for p in e.probs], abs=0.01)
    top = [b for b in bars if b.get("stroke")]
    assert [b.get("data-label") for b in top] == [e.label] and top[0].get("fill") == LABEL_COLORS[e.label]
    point = root.find("svg:circle[@id='emotion-point']", NS)
    assert (float(point.get("cx")), float(point.get("cy"))) == pytest.approx(plane_xy(*e.vad[:2]), abs=0.01)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert f"top: {e.label}" in texts and f"intensity {e.intensity:.2f}" in texts


def test_plane_orientation():
    left, top = plane_xy(-1, 1)
    right, bottom = plane_xy(1, -1)
    assert left < right and top < bottom  # pleasant to the right, excited at the top


def test_html_is_a_self_contained_image_with_alt_text():
    e = Emotion.parse("0.7 sad + 0.3 angry")
    tag = emotion_html(e)
    assert tag.startswith('<img src="data:image/svg+xml;base64,')
    data = tag.split("base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(data).decode() == emotion_svg(e)
    assert "http://" not in emotion_svg(e).replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert alt_text(e).startswith("Label distribution: sad 70%, angry 30%") and 'alt="Label distribution' in tag


def test_drawing_is_cheap():
    e = Emotion.parse("0.7 sad + 0.3 angry")
    t0 = time.perf_counter()
    for _ in range(20):
        emotion_html(e)
    assert (time.perf_counter() - t0) / 20 < 0.02  # the matplotlib figure it replaces took ~0.3 s
