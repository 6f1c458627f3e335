"""Inline emotion/voice tags: the parser (round trips, escapes, one error naming the position) and the pipeline
(pieces carry their own emotion and voice, tags never spoken, no click at a change, stream == call)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emotive.conditioning import Emotion
from emotive.generators.speech.tags import TagError, TaggedSpan, escape, format_tags, parse_tags, strip_tags


def test_spans_and_holding():
    spans = parse_tags("Hi. [happy] We won! [sad:0.6] Over. [voice:jm_kumo]Bye [neutral] now.")
    assert [s.text for s in spans] == ["Hi. ", " We won! ", " Over. ", "Bye ", " now."]
    assert spans[0].emotion is None and spans[0].voice is None
    assert spans[1].emotion == Emotion.parse("happy")
    assert spans[2].emotion == Emotion.parse("sad:0.6") and spans[3].emotion == Emotion.parse("sad:0.6")
    assert spans[3].voice == "jm_kumo" and spans[4].voice == "jm_kumo" and spans[4].emotion == Emotion.parse("neutral")
    assert spans[1].offset == len("Hi. [happy]")


@pytest.mark.parametrize("tag", ["[0.7 sad + 0.3 angry]", "[vad(0.2,-0.5,0)]", "[ happy:0.3 ]", "[sound sad and tired]"])
def test_every_emotion_form_is_a_tag(tag):
    (span,) = parse_tags(f"{tag}Yes.")
    assert span.emotion == Emotion.parse(tag[1:-1].strip()) and span.text == "Yes."


def test_escapes_are_literal_brackets():
    assert parse_tags(r"a \[b\] c") == [TaggedSpan("a [b] c", None, None, 0)]
    assert strip_tags(r"[happy]x \[y\]") == "x [y]"
    assert parse_tags(escape("[not a tag] ]")) == [TaggedSpan("[not a tag] ]", None, None, 0)]


def test_round_trip():
    text = r"Hi \[1\]. [happy:0.8] Great[0.6 sad + 0.4 fearful], really. [voice:0.6 jf_alpha + 0.4 jf_nezumi][vad(0.1,-0.2,0.3)]Ok."
    spans = parse_tags(text)
    again = parse_tags(format_tags(spans))
    assert [(s.text, s.emotion, s.voice) for s in again] == [(s.text, s.emotion, s.voice) for s in spans]
    assert format_tags(again) == format_tags(spans)


@pytest.mark.parametrize(("text", "words"), [
    ("hello [happy", "Unclosed tag '[' at character 7"),
    ("a ] b", "']' without its '[' at character 3"),
    ("ok [hapy] hi", "tag [hapy] at character 4: Unknown emotion label 'hapy'. Did you mean 'happy'"),
    ("[] hi", "Empty tag [] at character 1"),
    ("x[a [b] c]", "inside the tag opened at character 2 (at character 5)"),
    ("[citation needed] hi", "at character 1 does not read as an emotion"),
    ("[voice:] hi", "names no voice"),
    ("[vad(2,0,0)] hi", "at character 1"),
    ("[" + "a" * 300 + "] hi", "did a ']' go missing"),
])
def test_malformed_tag_is_one_error_with_its_position(text, words):
    with pytest.raises(TagError) as e:
        parse_tags(text)
    assert words in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------------- in the pipeline
@pytest.fixture(scope="module")
def pipe():
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    return EmotionalSpeechPipeline.from_pretrained(threads=1)


def test_plan_pieces_carry_tags_and_split_sentences(pipe):
    base = Emotion.parse("calm")
    plan = pipe.plan("Hello. [happy] I was glad, [sad] but you left. [voice:jm_kumo] Bye.", base, "jf_alpha")
    # the [sad] inside the second sentence is a region of that sentence's piece (one Kokoro call), not a new piece
    assert [p.text for p in plan] == ["Hello .", "I was glad , but you left .", "Bye ."]
    assert [p.emotion.label for p in plan] == ["calm", "happy", "sad"]
    assert [(k, e.label) for k, e in plan[1].regions] == [(4, "sad")] and plan[1].last_emotion.label == "sad"
    assert [p.voice for p in plan] == ["jf_alpha", "jf_alpha", "jm_kumo"]
    # a voice tag inside a sentence still splits it (a voice is one call's style)
    split = pipe.plan("[happy] I was glad, [voice:jm_kumo] but you left.", base, "jf_alpha")
    assert [p.text for p in split] == ["I was glad ,", "but you left ."] and not split[0].regions
    from emotive.generators.speech.pipeline import SpeechInputError

    with pytest.raises(SpeechInputError, match=r"tag \[voice:nobody\] at character 4: Unknown voice"):
        pipe.plan("Hi [voice:nobody] there.", base, "jf_alpha")
    with pytest.raises(SpeechInputError, match="Nothing to say"):
        pipe.plan("[happy] [sad]", base, "jf_alpha")


def test_tagged_speech_segments_transition_and_stream(pipe):
    text = "[happy] I was so glad to see you, [sad] but now you have to leave."
    out = pipe(text, generator=torch.Generator().manual_seed(0))
    a, b = out.segments
    assert (a.emotion.label, b.emotion.label) == ("happy", "sad") and out.emotion.label == "neutral"
    assert [w.text for w in a.words][:2] == ["I", "was"] and "[" not in a.phonemes + b.phonemes
    assert a.end == pytest.approx(b.start) and b.end == pytest.approx(out.duration)
    gap = b.words[0].start - a.words[-2].end                   # "you" -> "but": a short pause, not a sentence break
    assert 0.05 < gap < 0.35
    # no click: around the change, no sample-to-sample jump above the local signal level
    k = round(a.end * out.sample_rate)
    x = out.waveform[k - 480:k + 480]
    assert np.abs(np.diff(x)).max() <= max(np.abs(x).max(), 1e-4)
    chunks = list(pipe.stream(text, generator=torch.Generator().manual_seed(0)))
    assert np.array_equal(np.concatenate([c.waveform for c in chunks]), out.waveform)
    assert [c.segment.emotion.label for c in chunks] == ["happy", "sad"]


def test_text_without_tags_is_unchanged(pipe):
    """The tag machinery leaves untagged text exactly as the lead's pipeline rendered it (no fades, no trims)."""
    g = torch.Generator
    plain = pipe("Good. Fine.", emotion="sad", generator=g().manual_seed(1)).waveform
    tagged = pipe("[sad]Good. Fine.", emotion="happy", generator=g().manual_seed(1)).waveform
    assert np.array_equal(plain, tagged)
