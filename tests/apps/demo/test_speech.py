"""The Speech tab and the talking portrait's "text -> speech" chain.

The tab is shown when the Kokoro packages are installed (they are dependencies of the speech extra, and
offline), so the session's demo speaks with the real engine; the generic tests (test_api.py,
test_browser.py) run its ``api_cases()`` and ``BROWSER_CASE``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import soundfile as sf

from emotive.apps.demo import ux
from emotive.apps.demo.tabs import discover, portrait, speech

gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError  # noqa: E402

TARGET_S = 5.0
"""Issue 7: the Speech tab's default example on an idle 2-core machine."""


# ------------------------------------------------------------------ availability (no models)
def test_available_follows_the_packages(monkeypatch):
    assert speech.tts_ready() and speech.available() == speech.recogniser_ready()
    assert speech.voices()[0] == speech.default_voice() == "jf_alpha" and len(speech.voices()) >= 8
    monkeypatch.setattr(speech, "PACKAGES", (*speech.PACKAGES, "no_such_kokoro_part"))
    assert not speech.tts_ready() and not speech.available() and speech.voices() == []


def test_hidden_tab_is_listed_with_what_it_needs(monkeypatch):
    monkeypatch.setattr(speech, "PACKAGES", ("no_such_kokoro_part",))
    tab = next(t for t in discover() if t.name == "speech")
    assert not tab.available and tab.reason == speech.REQUIRES and "kokoro" in tab.reason
    cases = portrait.api_cases()["animate"]
    assert not any(args[2] for args in cases["ok"]), "no text -> speech case without the TTS"
    assert any(args[2] and args[1] is None for args in cases["bad"]), "typed text without the TTS must be refused"
    from emotive.apps.demo.app import build_app

    app = build_app([t for t in discover() if t.name in ("speech", "portrait")])
    assert [t.name for t in app.shown] == ["portrait"]
    config = app.blocks.get_config_file()
    by_id = {c["id"]: c for c in config["components"]}
    footer = next(c for c in config["components"] if c["props"].get("elem_id") == "footer-notes")
    assert f"**Speech** ({speech.REQUIRES})" in footer["props"]["value"]
    text_box = next(c for c in config["components"] if c["props"].get("elem_id") == "portrait-text")

    def hidden(node_id, tree):  # is the box inside a component with visible=False?
        for child in tree.get("children", []):
            if child["id"] == node_id:
                return False
            inner = hidden(node_id, child)
            if inner is not None:
                return inner or by_id[child["id"]]["props"].get("visible") is False
        return None

    assert hidden(text_box["id"], config["layout"]) is True, "the portrait's text box must be hidden without the TTS"


def test_available_imports_no_model_code(monkeypatch):
    """``available()`` runs at every start: file checks only, no torch, onnxruntime or generator import."""
    import builtins

    imported: list[str] = []
    real_import = builtins.__import__

    def spy(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", spy)
    t0 = time.perf_counter()
    assert speech.available()
    assert time.perf_counter() - t0 < 0.5
    assert not [n for n in imported if n.split(".")[0] in ("torch", "transformers", "onnxruntime")
                or ".generators." in n], imported


@pytest.mark.parametrize(("value", "ok"), [(1, True), (4.0, True), (0, False), (5, False), (1.5, False),
                                           (float("nan"), False), (float("inf"), False), (None, False), ("two", False)])
def test_candidates_check(value, ok):
    if ok:
        assert speech.check_candidates(value) == int(value)
    else:
        with pytest.raises(ux.DemoInputError, match="whole number from 1 to 4"):
            speech.check_candidates(value)


def test_text_and_voice_checks():
    assert speech.check_text("  Hello.  ") == "Hello."
    for bad, words in [("", "Type a sentence"), (" \n ", "Type a sentence"), (None, "Type a sentence"),
                       ("x" * (speech.MAX_TEXT_CHARS + 1), "up to 300")]:
        with pytest.raises(ux.DemoInputError, match=words):
            speech.check_text(bad)
    assert speech.check_voice("jm_kumo") == "jm_kumo"
    assert speech.check_voice("0.5 jf_alpha + 0.5 jf_gongitsune") == "aria"  # a named blend is named
    with pytest.raises(ux.DemoInputError, match="Unknown voice 'nobody'; available: jf_alpha"):
        speech.check_voice("nobody")
    for bad in ("0.5 jf_alpha + 0.5 jm_kumo", "-1 jf_alpha", "nan jf_alpha", "", None):
        with pytest.raises(ux.DemoInputError):
            speech.check_voice(bad)


def test_takes_note_names_the_kept_take():
    from types import SimpleNamespace

    scores = [[{"wer": 0.1, "p_emotion": 0.5, "score": 0.6}, {"wer": 0.3, "p_emotion": 0.9, "score": 0.4}]]
    assert speech._takes_note(SimpleNamespace(scores=scores), 2).endswith(": WER 0.30, P(emotion) 0.90.")
    assert speech._takes_note(SimpleNamespace(scores=[[{"other": 1}]]), 2) == " Best of 2 takes per sentence."
    assert speech._takes_note(SimpleNamespace(scores=[]), 1) == ""


def test_speech_is_deterministic():
    """One take is the rules exactly: the same request gives the same audio (the seed varies extra takes only)."""
    from emotive.conditioning import Emotion

    runs = [speech.synthesise("Oh no.", "jf_alpha", Emotion.parse("fearful:0.7"), seed)[0] for seed in (3, 3)]
    data = [sf.read(str(w), dtype="float32")[0] for w in runs]
    assert len(data[0]) == len(data[1]) > 0 and (data[0] == data[1]).all()
    assert len({str(w) for w in runs}) == 2, "every take is a fresh download file"


# ------------------------------------------------------------------ through the session's demo
# The generic tests (test_api, test_browser) already run the tab's api_cases() and BROWSER_CASE there.
@pytest.fixture(scope="module")
def client(demo_server, tmp_path_factory):
    return gradio_client.Client(demo_server.url, verbose=False, analytics_enabled=False,
                                download_files=str(tmp_path_factory.mktemp("dl-speech")))


def test_the_session_demo_shows_the_speech_tab(client):
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert "/speak" in endpoints and speech.available()


def test_speak_returns_audio_and_a_verdict_with_wer(client):
    wav, chart, text, files = client.predict(speech.EXAMPLE_TEXTS[0], speech.default_voice(), 1, 0, "sad:0.7",
                                             api_name="/speak")
    audio, sr = sf.read(wav, dtype="float32")
    assert len(audio) > 0.2 * sr
    assert chart and len(str(chart.get("plot", ""))) > 1000, "the verdict chart is missing"
    assert f"voice **{speech.default_voice()}**" in text and "requested sad" in text, text
    verdict = json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())
    assert verdict["target"]["label"] == "sad" and "wer" in verdict["figures"], verdict
    assert 1.0 <= verdict["figures"]["mos"] <= 5.0 and "Distill-MOS" in text


@pytest.mark.parametrize(("data_json", "word"), [
    ('["Hello there.", "jf_alpha", NaN, 0, "happy"]', "candidates"),
    ('["Hello there.", "jf_alpha", 1, Infinity, "happy"]', "maximum value"),  # gradio's seed box refuses it
    ('["Hello there.", null, 1, 0, "happy"]', "voice"),
])
def test_non_finite_and_missing_values_give_messages(demo_server, client, data_json, word):
    from .test_api import _raw_call

    event, data = _raw_call(demo_server.url, "speak", data_json)
    assert event == "error", (event, data)
    message = json.loads(data)["error"] or ""
    assert word in message.lower() and "Traceback" not in message, message
    assert demo_server.alive()


def test_portrait_speaks_typed_text(client):
    cases = portrait.api_cases()["animate"]
    typed = [args for args in cases["ok"] if args[2]]
    assert typed, "with the TTS the portrait must have a text -> speech case"
    args = list(typed[0])
    args[3] = None  # no voice given: the default voice speaks
    video, chart, text, files = client.predict(*args, api_name="/animate")
    assert Path(video).stat().st_size > 1000 and chart
    assert f"synthesised from the text in voice **{speech.default_voice()}**" in text, text
    spoken = next(f for f in files if f.endswith(".wav"))
    assert sf.info(spoken).duration > 0
    assert args[7] is True, "the typed case burns its subtitles"
    _assert_burned(video, Path(next(f for f in files if f.endswith(".srt"))).read_text())
    for args in [a for a in cases["bad"] if a[2]]:
        with pytest.raises(AppError, match="up to 300"):
            client.predict(*args, api_name="/animate")


def _assert_burned(video: str, srt: str) -> None:
    """White text in the video's lower quarter in the middle of each SRT cue, none before the first."""
    import imageio_ffmpeg
    import numpy as np

    def sec(stamp: str) -> float:
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    cues = [[sec(x) for x in block.splitlines()[1].split(" --> ")] for block in srt.strip().split("\n\n")]
    gen = imageio_ffmpeg.read_frames(video)
    w, h = next(gen)["size"]
    frames = np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen])
    white = (frames[:, h * 3 // 4:] > 225).all(axis=-1).mean(axis=(1, 2))
    inside = [white[int((a + b) / 2 * 25)] for a, b in cues]
    assert cues[0][0] > 0.04 and min(inside) > 3 * white[0], (white.round(3), cues)


# ------------------------------------------------------------------ speed, through the session's demo
def test_speech_example_within_the_target(client):
    args = (speech.EXAMPLE_TEXTS[0], speech.default_voice(), 1, 0, "happy:0.8")
    client.predict(*args, api_name="/speak")  # loads the models
    t0 = time.perf_counter()
    wav, _, text, _ = client.predict(*args, api_name="/speak")
    seconds = time.perf_counter() - t0
    assert sf.info(wav).duration > 1.0, text
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    assert seconds <= TARGET_S * max(1.5, load), (seconds, load)
