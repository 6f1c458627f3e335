"""Subtitles from the engine's timings: cue grouping on hand-made segments (SRT/VTT/JSON forms) and, on real
Kokoro output, cue boundaries equal to the engine's word boundaries and the last cue ending with the audio."""

from __future__ import annotations

import json

import pytest
import torch

from emotive.conditioning import Emotion
from emotive.generators.speech.pipeline import Segment, WordTiming
from emotive.generators.speech.subtitles import MAX_CUE_CHARS, make_cues, parse_srt, render, to_srt, to_vtt


def _seg(words: list[tuple[str, float, float]], emotion: str = "happy", voice: str = "jf_alpha") -> Segment:
    ws = [WordTiming(*w) for w in words]
    return Segment(" ".join(w.text for w in ws), "", ws[0].start, ws[-1].end, Emotion.parse(emotion), voice, ws)


def test_cues_break_at_segments_clauses_and_length():
    a = _seg([("Well", 0.1, 0.3), (",", 0.3, 0.4), ("hello", 0.4, 0.7), ("there", 0.7, 0.9), ("my", 0.9, 1.0),
              ("friend", 1.0, 1.3), (",", 1.3, 1.5), ("again", 1.5, 1.8), (".", 1.8, 2.0)])
    b = _seg([("Bye", 2.3, 2.6), (".", 2.6, 2.8)], "sad", "jm_kumo")
    cues = make_cues([a, b], duration=3.0)
    assert [c.text for c in cues] == ["Well, hello there my friend,", "again.", "Bye."]
    assert [(c.start, c.end) for c in cues] == [(0.1, 1.3), (1.5, 1.8), (2.3, 3.0)]
    assert [c.emotion for c in cues] == ["happy", "happy", "sad"] and cues[2].voice == "jm_kumo"
    long = _seg([(f"word{i}", i * 0.3, i * 0.3 + 0.25) for i in range(30)])
    assert all(len(c.text) <= MAX_CUE_CHARS for c in make_cues([long]))
    assert sum(len(c.text.split()) for c in make_cues([long])) == 30


def test_srt_and_vtt_forms():
    cues = make_cues([_seg([("Hi", 0.0, 0.25), (".", 0.25, 0.3)])], duration=3723.0126)
    assert to_srt(cues) == "1\n00:00:00,000 --> 01:02:03,013\nHi.\n\n"   # rounded to the millisecond
    assert to_vtt(cues) == "WEBVTT\n\n1-happy\n00:00:00.000 --> 01:02:03.013\n<v jf_alpha>Hi.\n\n"


def test_srt_round_trip():
    seg = _seg([("Hello", 0.1, 0.4), ("there", 0.4, 0.8), (",", 0.8, 0.9), ("how", 1.0, 1.2), ("are", 1.2, 1.4),
                ("you", 1.4, 1.7), ("?", 1.7, 1.75)])
    cues = make_cues([seg], duration=2.0)
    assert parse_srt(to_srt(cues)) == [(round(c.start, 3), round(c.end, 3), c.text) for c in cues]
    # ffmpeg's read-back: CRLF line ends and position hints after the end time
    assert parse_srt("1\r\n00:00:01,500 --> 00:00:02,000 X1:0\r\nTwo\r\nlines\r\n") == [(1.5, 2.0, "Two lines")]
    with pytest.raises(ValueError, match="not a SubRip cue"):
        parse_srt("1\nsoon --> later\nHi")


@pytest.fixture(scope="module")
def spoken():
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    pipe = EmotionalSpeechPipeline.from_pretrained(threads=1)
    text = "[happy] Hello there, my old friend! It has been a long time since we met. [sad] Now you have to go."
    return pipe(text, generator=torch.Generator().manual_seed(0))


def test_cues_sit_on_the_engine_word_boundaries(spoken):
    cues = make_cues(spoken.segments, spoken.duration)
    starts = {round(w.start, 6) for s in spoken.segments for w in s.words}
    ends = {round(w.end, 6) for s in spoken.segments for w in s.words}
    assert all(round(c.start, 6) in starts for c in cues)
    assert all(round(c.end, 6) in ends for c in cues[:-1])
    assert cues[-1].end == pytest.approx(spoken.duration)
    assert " ".join(c.text for c in cues) == "Hello there, my old friend! It has been a long time since we met. " \
        "Now you have to go."
    assert cues[0].emotion == "happy" and cues[-1].emotion == "sad"


def test_json_has_words_phones_and_emotions(spoken):
    d = json.loads(render(spoken, ".json"))
    assert d["sample_rate"] == 24_000 and d["duration"] == pytest.approx(spoken.duration, abs=1e-4)
    seg = d["segments"][-1]
    assert seg["emotion"]["label"] == "sad" and Emotion.parse(seg["emotion"]["spec"]).label == "sad"
    assert [w["text"] for w in seg["words"]][:2] == ["Now", "you"]
    assert len(seg["phones"]) == len(spoken.segments[-1].phonemes)
    assert all(p["start"] <= p["end"] for p in seg["phones"])
    with pytest.raises(ValueError):
        render(spoken, ".txt")
