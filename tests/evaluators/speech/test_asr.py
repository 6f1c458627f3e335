import shutil

import pytest

from emotive.evaluators.speech.asr import error_rates, intelligibility, normalize_for_wer


def test_normalizer():
    assert normalize_for_wer("On May 3rd, I paid $5!") == "on may third i paid five dollars"
    assert normalize_for_wer("Twenty-one people, 7% off") == "twenty one people seven percent off"
    assert normalize_for_wer("21 people") == normalize_for_wer("twenty-one people")
    assert normalize_for_wer("It's at 4:30 pm.") == "its at four thirty p m"
    assert normalize_for_wer("The harbour") == normalize_for_wer("the harbor")


def test_error_rates():
    w, c = error_rates(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert w == pytest.approx(1 / 6)
    assert 0 < c < w
    assert error_rates(["Hello, world."], ["hello world"]) == (0.0, 0.0)


def test_whisper_transcribes_tts():
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    from emotive.generators.speech.voices import render

    r = render("rms", ["The old dog sleeps by the radiator every afternoon."])[0]
    it = intelligibility(r.audio, r.sr, "The old dog sleeps by the radiator every afternoon.")
    assert it.wer <= 0.3, it.hypothesis
