import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emotive.conditioning import LABELS, VAD_CENTROIDS, Emotion, EmotionError
from emotive.conditioning.labels import LABEL_SETS, quadrant_of


def test_label_resolves_to_centroid():
    e = Emotion.parse("happy")
    assert e.label == "happy" and e.source == "label" and e.intensity == 1.0
    assert e.vad == pytest.approx(VAD_CENTROIDS["happy"], abs=1e-4)
    assert sum(e.probs) == pytest.approx(1.0, abs=1e-3)


def test_intensity_scales_vad_towards_neutral():
    full, half = Emotion.parse("angry"), Emotion.parse("angry:0.5")
    assert half.intensity == 0.5
    assert half.vad == pytest.approx(tuple(x / 2 for x in full.vad), abs=1e-3)
    assert Emotion.parse("angry:0").vad == pytest.approx((0, 0, 0))


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("happy+surprised", {"happy": 0.5, "surprised": 0.5}),
        ("0.7 sad + 0.3 angry", {"sad": 0.7, "angry": 0.3}),
        ("70% sad + 30% angry", {"sad": 0.7, "angry": 0.3}),
        ("2*fear + 2 joy", {"fearful": 0.5, "happy": 0.5}),
    ],
)
def test_mixtures(spec, expected):
    e = Emotion.parse(spec)
    d = e.distribution()
    for k, v in expected.items():
        assert d[k] == pytest.approx(v, abs=1e-3)
    assert e.source == "mixture"


@pytest.mark.parametrize("spec", ["vad(0.5, 0.3, 0.1)", "(0.5,0.3,0.1)", "0.5, 0.3, 0.1", "v=0.5 a=0.3 d=0.1"])
def test_vad_forms(spec):
    e = Emotion.parse(spec)
    assert e.source == "vad"
    assert e.vad == pytest.approx((0.5, 0.3, 0.1))


def test_vad_direction_picks_label():
    for label in LABELS:
        if label == "neutral":
            continue
        e = Emotion.from_vad(*VAD_CENTROIDS[label])
        assert e.label == label
        assert e.intensity == pytest.approx(1.0, abs=1e-3)
    assert Emotion.from_vad(0, 0, 0).label == "neutral"
    assert Emotion.from_vad(0.02, 0.01, 0).label == "neutral"


def test_vad_without_dominance():
    e = Emotion.parse("v=-0.6 a=0.6")
    assert e.label in ("fearful", "angry")
    assert -1 <= e.dominance <= 1


@pytest.mark.parametrize(
    "bad,fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 1001, "limit"),
        ("vad(nan, 0, 0)", "finite"),
        ("vad(0.2, inf, 0)", "finite"),
        ("vad(1.5, 0, 0)", "[-1, 1]"),
        ("suprised:0.5", "Did you mean 'surprised'"),
        ("hapy+sad", "Did you mean 'happy'"),
        ("happy:1.5", "[0, 1]"),
        ("-0.5 happy + sad", "negative"),
        ("0 happy + 0 sad", "zero"),
        ("emotion(happy=1;i=1)", "vad"),
    ],
)
def test_errors_are_clear(bad, fragment):
    with pytest.raises(EmotionError) as ei:
        Emotion.parse(bad)
    assert fragment in str(ei.value)
    assert isinstance(ei.value, ValueError)


def test_error_names_valid_forms():
    with pytest.raises(EmotionError, match="Valid labels: neutral, calm"):
        Emotion.from_label("grumpy-ish")


def test_programmatic_errors():
    with pytest.raises(EmotionError):
        Emotion.from_vad(float("nan"), 0, 0)
    with pytest.raises(EmotionError):
        Emotion.mix({"happy": -1})
    with pytest.raises(EmotionError):
        Emotion.parse([0.1])
    with pytest.raises(EmotionError):
        Emotion.parse(object())
    with pytest.raises(EmotionError):
        Emotion((1,) * 7, (0, 0, 0))


def test_immutable_and_hashable():
    e = Emotion.parse("sad")
    with pytest.raises(AttributeError):
        e.intensity = 0.3  # type: ignore[misc]
    assert hash(e) == hash(Emotion.parse("sad"))


def test_with_intensity():
    e = Emotion.parse("fearful").with_intensity(0.25)
    assert e.intensity == 0.25 and e.label == "fearful"
    assert e.arousal == pytest.approx(0.25 * VAD_CENTROIDS["fearful"][1], abs=1e-3)


def test_from_distribution():
    e = Emotion.from_distribution({"happy": 3, "neutral": 1})
    assert e.label == "happy" and e.intensity == pytest.approx(0.75) and e.confidence == pytest.approx(0.75)


def test_label_set_maps_are_distributions():
    for name, table in LABEL_SETS.items():
        for src, dist in table.items():
            assert set(dist) <= set(LABELS), (name, src)
            assert sum(dist.values()) == pytest.approx(1.0), (name, src)
            Emotion.mix(dist)  # every mapping is a valid request
    assert quadrant_of(0.5, 0.5) == "Q1" and quadrant_of(-0.5, 0.5) == "Q2"
    assert quadrant_of(-0.5, -0.5) == "Q3" and quadrant_of(0.5, -0.5) == "Q4"


# --- round trips (property tests) -------------------------------------------
probs_st = st.lists(st.floats(0, 1), min_size=8, max_size=8).filter(lambda p: sum(p) > 0.01)
unit = st.floats(-1, 1, allow_nan=False)
emotion_st = st.builds(
    Emotion,
    probs=probs_st,
    vad=st.tuples(unit, unit, unit),
    intensity=st.floats(0, 1),
    confidence=st.floats(0, 1),
    source=st.sampled_from(["label", "mixture", "vad", "text", "distribution"]),
)


@settings(max_examples=300, deadline=None)
@given(emotion_st)
def test_str_round_trip(e):
    assert Emotion.parse(str(e)) == e


@settings(max_examples=300, deadline=None)
@given(emotion_st)
def test_json_round_trip(e):
    s = e.to_json()
    assert Emotion.from_json(s) == e
    assert json.loads(s)["label"] == e.label


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(LABELS), st.floats(0, 1))
def test_label_spec_round_trip(label, intensity):
    e = Emotion.from_label(label, intensity)
    assert Emotion.parse(str(e)) == e
    assert len(str(e)) < 30  # the short form is used


@settings(max_examples=200, deadline=None)
@given(unit, unit, unit)
def test_vad_round_trip(v, a, d):
    e = Emotion.from_vad(v, a, d)
    assert Emotion.parse(str(e)) == e
    assert all(math.isfinite(x) and -1 <= x <= 1 for x in e.vad)
    assert abs(sum(e.probs) - 1) < 2e-3


@pytest.mark.parametrize(("word", "expected"), [
    ("hapy", "Did you mean 'happy'"), ("suprised", "Did you mean 'surprised'"),
    ("xyzzy", "not an emotion label or a word"), ("12345", "not an emotion label or a word"),
])  # fmt: skip
def test_one_unknown_word_is_an_error_not_a_quiet_guess(word, expected):
    """A one-word request is a label or a word the text reader knows; a mistyped label is not read as a prompt."""
    with pytest.raises(EmotionError, match=expected):
        Emotion.parse(word)


@pytest.mark.parametrize(("word", "label"), [("furious", "angry"), ("terified", "fearful"), ("calmer", "calm"),
                                             ("HAPPY!!!", "happy"), ("🙂", "happy")])  # fmt: skip
def test_one_known_or_repairable_word_is_read_as_text(word, label):
    assert Emotion.parse(word).label == label


# ------------------------------------------------------------------ the one rule for emotion text (issue 18)
@pytest.mark.parametrize("typed,label", [
    ("ｈａｐｐｙ", "happy"),                     # full-width Latin: NFKC
    ("hap\u200bpy", "happy"),                   # a zero-width space
    ("\ufeffsad:0.5", "sad"),                   # a byte-order mark pasted in front
    ("angry\u00a0+\u3000calm", None),           # non-breaking and ideographic spaces in a mixture
])
def test_harmless_invisible_and_full_width_characters_are_normalised(typed, label):
    e = Emotion.parse(typed)
    assert "\u200b" not in (e.prompt or "") and "\ufeff" not in (e.prompt or "")
    if label:
        assert e.label == label
    else:
        assert e.source == "mixture"


@pytest.mark.parametrize("typed,says", [
    ("سعيد جدا", "Arabic"),                     # two words: resolved to neutral silently before
    ("快乐", "Chinese"),
    ("Счастлив и рад", "Cyrillic"),
    ("very happy שמח", "Hebrew"),
    ("\u202eyppah", "RIGHT-TO-LEFT OVERRIDE"),
    ("happy \u2066today\u2069", "LEFT-TO-RIGHT ISOLATE"),
    ("ha\x07ppy", r"U\+0007"),
    ("happy\x00", r"U\+0000"),
])
def test_unreadable_text_is_refused_saying_why(typed, says):
    with pytest.raises(EmotionError, match=says):
        Emotion.parse(typed)


def test_the_text_reader_applies_the_same_rule():
    from emotive.conditioning.text import TextEmotionResolver

    r = TextEmotionResolver(use_embeddings=False)
    with pytest.raises(EmotionError, match="Arabic"):
        r.resolve("سعيد جدا")
    with pytest.raises(EmotionError, match="U\\+202E"):
        r.resolve("so \u202ehappy")


@pytest.mark.parametrize("typed", ["x" * 1000, "happy + " + "y" * 990, "emotion(" + "z" * 980 + ")",
                                   "סבבה" * 200, "hapy" + "q" * 900])
def test_errors_quote_only_a_short_excerpt(typed):
    with pytest.raises(EmotionError) as info:
        Emotion.parse(typed)
    message = str(info.value)
    assert len(message) < len(typed) and max(map(len, message.split("'")[1::2] or [""])) <= 40, message


def test_tabs_and_line_breaks_read_as_spaces():
    assert Emotion.parse("0.7 sad\t+\n0.3 angry").source == "mixture"
