"""Text resolver: behaviour on clear cases (the accuracy figures are the bench's job)."""

import time

import pytest

from emotive.conditioning import Emotion, EmotionError
from emotive.conditioning.text import TextEmotionResolver, default_resolver


@pytest.fixture(scope="module")
def resolver():
    r = default_resolver()
    r.warm_up()
    return r


@pytest.mark.parametrize(
    "text,label",
    [
        ("absolutely terrified!!", "fearful"),
        ("not angry, just disappointed", "sad"),
        ("over the moon about it", "happy"),
        ("so disgusting 🤢", "disgusted"),
        ("relaxed and at peace", "calm"),
        ("I can't believe it, wow", "surprised"),
        ("furious", "angry"),
        ("the train leaves at 6 pm from platform 2", "neutral"),
    ],
)
def test_clear_prompts(resolver, text, label):
    assert resolver.resolve(text).label == label


def test_negation_flips_valence(resolver):
    assert resolver.resolve("happy").valence > 0
    assert resolver.resolve("not happy at all").valence < 0


def test_intensity_words(resolver):
    weak = resolver.resolve("a little annoyed")
    strong = resolver.resolve("absolutely furious!!")
    assert weak.label == strong.label == "angry"
    assert strong.intensity > weak.intensity
    assert strong.arousal > weak.arousal


def test_misspelling(resolver):
    assert resolver.resolve("so terified").label == "fearful"


def test_non_emotional_low_confidence(resolver):
    e = resolver.resolve("Please remember to bring the forms to room 12.")
    assert e.label == "neutral" and e.confidence <= 0.5


def test_text_source_and_round_trip(resolver):
    e = resolver.resolve("quietly hopeful")
    assert e.source == "text" and e.prompt == "quietly hopeful"
    assert Emotion.parse(str(e)) == e
    assert e.arousal < resolver.resolve("hopeful").arousal


def test_parse_routes_text():
    e = Emotion.parse("not very happy")
    assert e.source == "text" and e.valence < 0.2


def test_text_errors(resolver):
    for bad in ("", "   ", "a" * 1001):
        with pytest.raises(EmotionError):
            resolver.resolve(bad)
    with pytest.raises(EmotionError):
        resolver.resolve(3)  # type: ignore[arg-type]


def test_deterministic(resolver):
    assert resolver.resolve("mostly sad but a bit angry") == resolver.resolve("mostly sad but a bit angry")


def test_lexicon_only_mode():
    r = TextEmotionResolver(use_embeddings=False)
    assert r.resolve("I am furious").label == "angry"
    assert r.resolve("the sky").label == "neutral"


def test_speed_after_warm_up(resolver):
    times = []
    for _ in range(3):
        for t in ("meh", "absolutely terrified!!", "I worked all year and my manager took the credit. " * 3):
            t0 = time.perf_counter()
            resolver.resolve(t)
            times.append(time.perf_counter() - t0)
    assert max(times) < 0.25  # generous: the bench measures p95 against the 50 ms target
