import pytest

from emotive.generators.speech.frontend import (
    ARPABET,
    FrontendError,
    normalize_text,
    number_to_words,
    ordinal_to_words,
    phonemize,
    year_to_words,
)


@pytest.mark.parametrize(
    "n, words",
    [(0, "zero"), (13, "thirteen"), (40, "forty"), (99, "ninety-nine"), (105, "one hundred five"),
     (1204, "one thousand two hundred four"), (2_000_000, "two million")],
)
def test_number_to_words(n, words):
    assert number_to_words(n) == words


def test_ordinals_and_years():
    assert ordinal_to_words(1) == "first"
    assert ordinal_to_words(22) == "twenty-second"
    assert ordinal_to_words(40) == "fortieth"
    assert year_to_words(1987) == "nineteen eighty-seven"
    assert year_to_words(2005) == "two thousand five"
    assert year_to_words(1905) == "nineteen oh five"


def test_normalize_text():
    s = normalize_text("On May 3rd, 1999 at 4:30 pm Dr. Lee paid $12.50.")
    assert s == "On May third, nineteen ninety-nine at four thirty P M Doctor Lee paid twelve dollars and fifty cents."
    assert normalize_text("It is 7% off, 5 km away.") == "It is seven percent off, five kilometres away."
    assert not any(c.isdigit() for c in normalize_text("Room 404, 1,250 people, 3.5 kg, in 1969."))
    with pytest.raises(FrontendError):
        normalize_text("   ")


def test_phonemize_arpabet():
    ph = phonemize("The judge measured the boy's thought.")
    assert set(ph) <= set(ARPABET)
    assert ph[:2] == ["DH", "AH"]
    for p in ("JH", "ZH", "OY", "TH"):
        assert p in ph
