"""The demo serves ``emotive serve``'s OpenAI-compatible routes on its own port (plain HTTP against the session's
``emotive demo``): the models, a short speech, OpenAI-shaped JSON for bad requests, and the page still served."""

from __future__ import annotations

import io

import httpx
import pytest
import soundfile as sf

from emotive.apps.demo.tabs import speech

pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(not speech.tts_ready(), reason="the Kokoro packages are not installed")]


def test_models_and_voices(demo_server):
    r = httpx.get(demo_server.url + "/v1/models", timeout=30)
    assert r.status_code == 200 and r.json()["object"] == "list"
    assert {"emotive-speech", "tts-1"} <= {m["id"] for m in r.json()["data"]}
    voices = httpx.get(demo_server.url + "/v1/voices", timeout=120).json()
    assert voices["default"] == speech.default_voice() and {"jf_alpha", "alloy"} <= {v["id"] for v in voices["data"]}


def test_speech_over_plain_http(demo_server):
    r = httpx.post(demo_server.url + "/v1/audio/speech", timeout=150,
                   json={"model": "tts-1", "input": "Hello there.", "voice": "alloy", "response_format": "wav",
                         "emotion": "happy"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav" and r.headers["x-voice"] == "jf_alpha"
    assert r.headers["x-emotion"] == "happy"
    wav, sr = sf.read(io.BytesIO(r.content), dtype="float32")
    assert sr == 24_000 and 0.3 < len(wav) / sr < 5 and abs(wav).max() > 0.05


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"input": ""}, 400, "input"),
    ({"input": "Hi.", "voice": "no_such_voice"}, 400, "voice"),
    ({"input": 5}, 422, "input"),
    ({"input": "x" * 70_000}, 413, None),  # over the server's 64 kB body limit
])
def test_bad_requests_get_openai_shaped_json(demo_server, body, status, param):
    r = httpx.post(demo_server.url + "/v1/audio/speech", json=body, timeout=60)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["message"] and "Traceback" not in r.text
    assert httpx.get(demo_server.url + "/v1/nowhere", timeout=10).json()["error"]["message"] == "Not Found"
    assert httpx.get(demo_server.url + "/", timeout=30).status_code == 200, "the page is still served"
    assert demo_server.alive()
