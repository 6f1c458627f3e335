"""`emotive serve`: OpenAI's own client and plain HTTP against a server on a free loopback port (started and
stopped here): audio in every format, streaming (chunked and SSE) equal to the whole, instructions read as an
emotion, OpenAI-shaped 4xx errors for bad requests while the server keeps serving, and 429 (never a lost request)
when the render slot and the queue are full."""

from __future__ import annotations

import base64
import io
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server():
    from emotive.apps.server.process import serve

    with serve("--workers", "1", "--queue", "2", "--max-chars", "300") as (proc, url):
        yield url
    err = proc.stderr.read().decode()
    assert "Traceback" not in err, err[-3000:]


def _post(url: str, body: dict | str, **kw) -> httpx.Response:
    content = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(url + "/v1/audio/speech", content=content, headers={"content-type": "application/json"},
                      timeout=100, **kw)


def test_openai_client_speaks_every_format(server):
    from openai import BadRequestError, OpenAI

    client = OpenAI(base_url=server + "/v1", api_key="not-needed", max_retries=0, timeout=100)
    assert {m.id for m in client.models.list()} >= {"emotive-speech", "tts-1"}
    r = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there.", response_format="wav",
                                   extra_body={"emotion": "sad:0.8", "seed": 3})
    x, sr = sf.read(io.BytesIO(r.content), dtype="float32")
    assert sr == 24_000 and len(x) > 0.4 * sr and r.response.headers["x-emotion"] == "sad"
    for fmt in ("flac", "mp3"):
        y, sr2 = sf.read(io.BytesIO(client.audio.speech.create(model="tts-1", voice="nova", input="Hi.",
                                                               response_format=fmt).content))
        assert sr2 == 24_000 and len(y) > 0.2 * sr2
    with client.audio.speech.with_streaming_response.create(model="gpt-4o-mini-tts", voice="echo",
                                                            input="One. Two.", response_format="pcm",
                                                            instructions="sound sad and tired") as resp:
        assert resp.headers["x-emotion"] == "sad" and resp.headers["x-voice"] == "jm_kumo"
        pcm = b"".join(resp.iter_bytes())
    assert len(pcm) % 2 == 0 and len(pcm) > 24_000
    with pytest.raises(BadRequestError, match="Unknown voice"):
        client.audio.speech.create(model="tts-1", voice="nobody", input="Hi.")


def test_streams_equal_the_whole(server):
    body = {"input": "[happy] First one. [sad] Second one.", "response_format": "wav", "seed": 7}
    whole = _post(server, body)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    data = whole.content[44:]
    events = _post(server, {**body, "response_format": "pcm", "stream_format": "sse"})
    lines = [json.loads(ln[6:]) for ln in events.text.splitlines() if ln.startswith("data: ")]
    assert [e["type"] for e in lines][-1] == "speech.audio.done" and len(lines) == 3   # 2 sentences + done
    assert b"".join(base64.b64decode(e["audio"]) for e in lines[:-1]) == data
    voices = httpx.get(server + "/v1/voices", timeout=10).json()
    assert voices["default"] == "jf_alpha" and {"id": "alloy", "object": "voice", "alias_of": "jf_alpha"} in voices["data"]


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"input": ""}, 400, "input"),
    ({"input": "a " * 200}, 400, "input"),                           # over --max-chars
    ({"input": "a " * 50_000}, 413, None),                           # 100 kB
    ({"input": "Hi.", "voice": "nobody"}, 400, "voice"),
    ('{"input": "Hi.", "speed": NaN}', 400, "speed"),
    ({"input": "Hi.", "speed": 4}, 400, "speed"),
    ({"input": 5}, 422, "input"),
    ({"input": "Hi.", "seed": "x"}, 422, "seed"),
    ({"input": "Hi.", "seed": 2**40}, 400, "seed"),
    ({"voice": "alloy"}, 422, "input"),
    ("{not json", 422, None),
    ({"input": "Hi.", "response_format": "opus"}, 400, "response_format"),
    ({"input": "Hi.", "model": "whisper-1"}, 400, "model"),
    ({"input": "Hi.", "emotion": "hapy"}, 400, "emotion"),
    ({"input": "Hi.", "guidance": -1}, 400, "guidance"),
    ({"input": "Hi [sad"}, 400, "input"),
])
def test_bad_requests_get_openai_shaped_4xx(server, body, status, param):
    r = _post(server, body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["type"] == "invalid_request_error" and "Traceback" not in err["message"]
    assert httpx.get(server + "/health", timeout=10).status_code == 200


def test_full_server_answers_429_and_loses_nothing(server):
    def one(i: int) -> int:
        return _post(server, {"input": f"Request number {i}.", "response_format": "wav"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(8)))
    assert len(codes) == 8 and set(codes) <= {200, 429} and codes.count(200) >= 3 and 429 in codes
    r = _post(server, {"input": "Still here.", "response_format": "pcm"})
    assert r.status_code == 200 and np.frombuffer(r.content, "<i2").size > 0
    assert httpx.get(server + "/health", timeout=10).json()["admitted"] == 0
