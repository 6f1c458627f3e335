import pytest

from emotive.evaluators.speech.asr import error_rates, intelligibility, normalize_for_wer


def test_normalizer():
    assert normalize_for_wer("On May 3rd, I paid $5!") == "on may third i paid five dollars"
    assert normalize_for_wer("Twenty-one people, 7% off") == "twenty one people seven percent off"
    assert normalize_for_wer("21 people") == normalize_for_wer("twenty-one people")
    assert normalize_for_wer("It's at 4:30 pm.") == "it is at four thirty p m"
    assert normalize_for_wer("I've tasted it; I wanna go, don't you?") == "i have tasted it i want to go do not you"
    assert normalize_for_wer("I have tasted it") == normalize_for_wer("I've tasted it")
    assert normalize_for_wer("The harbour") == normalize_for_wer("the harbor")


def test_error_rates():
    w, c = error_rates(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert w == pytest.approx(1 / 6)
    assert 0 < c < w
    assert error_rates(["Hello, world."], ["hello world"]) == (0.0, 0.0)


@pytest.fixture(scope="module")
def speak():
    """Neutral Kokoro speech (the project's engine, offline): ``speak(text, voice) -> (waveform, sample rate)``."""
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    pipe = EmotionalSpeechPipeline.from_pretrained(threads=1)

    def say(text: str, voice: str | None = None):
        out = pipe(text, emotion="neutral", **({"voice": voice} if voice else {}))
        return out.waveform, out.sample_rate

    say.voices = pipe.voices
    return say


def test_whisper_transcribes_tts(speak):
    text = "The old dog sleeps by the radiator every afternoon."
    x, sr = speak(text)
    it = intelligibility(x, sr, text)
    assert it.wer <= 0.1, it.hypothesis


def test_transcribe_is_deterministic_and_bounded_on_babble(speak):
    """Overlapping voices (hard audio): the same transcript on every call, and no repetition loop (the gzip ratio
    of a loop is far above Whisper's 2.4)."""
    import zlib

    import numpy as np

    from emotive.evaluators.speech.asr import transcribe

    (a, sr), (b, _) = (speak("Go home now, go home, the storm is coming over the hill.", speak.voices[0]),
                       speak("Seven silver spoons fell behind the kitchen stove last winter.", speak.voices[-1]))
    lag = sr // 4
    mix = np.zeros(max(len(a), len(b) + lag) + lag, np.float32)
    mix[: len(a)] += a
    mix[lag: lag + len(b)] += b
    mix += 0.05 * np.random.default_rng(0).standard_normal(len(mix)).astype(np.float32)
    first, second = transcribe(mix, sr), transcribe(mix, sr)
    assert first == second
    raw = first.encode()
    assert len(raw) < 40 or len(raw) / len(zlib.compress(raw)) < 2.4, first


def test_loop_check_flags_repetition_only():
    from emotive.evaluators.speech.asr import LOOP_RATIO, _compression_ratio

    assert _compression_ratio("go home, " * 60) > LOOP_RATIO
    assert _compression_ratio("The delivery is expected on October twentieth, after the storm.") < LOOP_RATIO
