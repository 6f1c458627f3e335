"""A real gradio_client calls every public endpoint of the running demo, good input and bad.

The endpoint list comes from the running app; every endpoint must have test
cases: the panel's are here, each tab brings its own (``API_CASES`` in its module).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError  # noqa: E402

from emotive.apps.demo.tabs import discover  # noqa: E402

PANEL_CASES = {
    "resolve_emotion": {
        "ok": [
            ("Label", "happy", 0.0, 0.0, 0.0, "", 0.8),
            ("VAD", "happy", -0.5, 0.6, -0.3, "", 0.8),
            ("Text", "happy", 0.0, 0.0, 0.0, "a trembling, fearful whisper", 1.0),
            ("Label", "joy", 0.0, 0.0, 0.0, "", 1.0),  # an alias typed into the dropdown
        ],
        "bad": [
            ("Label", "hapy", 0.0, 0.0, 0.0, "", 0.8),  # unknown label
            ("Label", "", 0.0, 0.0, 0.0, "", 0.8),
            ("Text", "happy", 0.0, 0.0, 0.0, "", 0.8),  # empty text
            ("Text", "happy", 0.0, 0.0, 0.0, "   ", 0.8),
            ("Text", "happy", 0.0, 0.0, 0.0, "x" * 1001, 0.8),  # over-long prompt
            ("VAD", "happy", 3.0, 0.0, 0.0, "", 0.8),  # out of range
            ("Label", "happy", 0.0, 0.0, 0.0, "", None),  # missing number
            ("Sideways", "happy", 0.0, 0.0, 0.0, "", 0.8),  # unknown mode
        ],
    }
}
# Non-finite numbers cannot go through gradio_client (it refuses to encode NaN),
# so these are posted as raw JSON, the way a hand-written API client could.
RAW_BAD = [
    ("resolve_emotion", '["VAD", "happy", NaN, 0, 0, "", 0.8]', "valence"),
    ("resolve_emotion", '["VAD", "happy", 0.2, NaN, 0, "", 0.8]', "arousal"),
    ("resolve_emotion", '["VAD", "happy", 0.2, 0.1, NaN, "", 0.8]', "dominance"),
    ("resolve_emotion", '["Label", "happy", 0, 0, 0, "", NaN]', "intensity"),
    ("resolve_emotion", '["Label", "happy", 0, 0, 0, "", Infinity]', "inf"),
]
GENERIC = "has not enabled verbose error reporting"


def all_cases() -> dict[str, dict[str, list[tuple]]]:
    cases = dict(PANEL_CASES)
    for tab in discover():
        if tab.available:
            fn = getattr(tab.module, "api_cases", None)
            cases.update(fn() if callable(fn) else getattr(tab.module, "API_CASES", {}))
    return cases


@pytest.fixture(scope="module")
def client(demo_server, tmp_path_factory):
    return gradio_client.Client(
        demo_server.url, verbose=False, analytics_enabled=False, download_files=str(tmp_path_factory.mktemp("dl"))
    )


def _non_empty(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        if value.startswith("/") and Path(value).exists():
            return Path(value).stat().st_size > 0
        return bool(value.strip())
    if isinstance(value, dict):
        if "data" in value and "headers" in value:  # a Dataframe
            return len(value["data"]) > 0
        if "plot" in value:  # a gr.Plot: {"type": "matplotlib", "plot": "data:image/...;base64,..."}
            return len(str(value["plot"])) > 1000
        return any(_non_empty(v) for v in value.values())
    if isinstance(value, list | tuple):
        return len(value) > 0
    return True


def test_every_endpoint_has_cases(client):
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    cases = {f"/{name}" for name in all_cases()}
    assert endpoints, "the demo exposes no API endpoints"
    assert endpoints <= cases, f"endpoints without API test cases: {sorted(endpoints - cases)}"
    assert cases <= endpoints, f"cases for endpoints the app does not expose: {sorted(cases - endpoints)}"
    declared = {f"/{n}" for t in discover() if t.available for n in t.api_names} | {"/resolve_emotion"}
    assert declared == endpoints, "a tab's API_NAMES disagrees with what it registers"


def test_good_calls_return_content(client):
    for name, case in all_cases().items():
        for args in case["ok"]:
            result = client.predict(*args, api_name=f"/{name}")
            outputs = result if isinstance(result, tuple | list) else (result,)
            for i, out in enumerate(outputs):
                assert _non_empty(out), f"/{name}{args!r:.80}: output {i} is empty: {out!r:.200}"


def test_panel_resolves_to_canonical_request(client):
    request, summary, picture = client.predict("Label", "sad", 0.0, 0.0, 0.0, "", 0.5, api_name="/resolve_emotion")
    assert request == "sad:0.5" and "**sad**" in summary
    assert picture.startswith('<img src="data:image/svg+xml;base64,') and 'alt="Label distribution: sad' in picture
    request, _, _ = client.predict("VAD", "sad", -0.5, 0.6, -0.3, "", 0.5, api_name="/resolve_emotion")
    assert request == "vad(-0.5, 0.6, -0.3)"
    request, summary, _ = client.predict("Text", "", 0, 0, 0, "a trembling, fearful whisper", 1.0,
                                         api_name="/resolve_emotion")
    assert "src=text" in request and "**fearful**" in summary


def test_explore_writes_json_download(client):
    _, table, path = client.predict("furious about the delay\nquietly hopeful", api_name="/explore")
    labels = [row[2] for row in table["data"]]
    assert labels == ["angry", "calm"]
    payload = json.loads(Path(path).read_text())
    assert [p["prompt"] for p in payload] == ["furious about the delay", "quietly hopeful"]
    assert all(abs(sum(p["probs"].values()) - 1) < 1e-3 for p in payload)


def test_bad_calls_give_messages_and_the_app_keeps_serving(client, demo_server):
    for name, case in all_cases().items():
        for args in case["bad"]:
            with pytest.raises(AppError) as info:
                client.predict(*args, api_name=f"/{name}")
            msg = str(info.value)
            assert msg.strip(), f"/{name}{args!r:.80}: empty error message"
            assert "Traceback" not in msg and GENERIC not in msg, f"/{name}{args!r:.80}: {msg}"
    assert demo_server.alive()
    request, _, _ = client.predict("Label", "angry", 0, 0, 0, "", 1.0, api_name="/resolve_emotion")
    assert request == "angry"


def _raw_call(url: str, api_name: str, data_json: str) -> tuple[str, str]:
    """POST raw JSON (which may hold NaN) to gradio's REST API; returns (event, data) of the result."""
    body = '{"data": ' + data_json + "}"
    r = httpx.post(f"{url}/gradio_api/call/{api_name}", content=body, headers={"Content-Type": "application/json"},
                   timeout=30)
    r.raise_for_status()
    event_id = r.json()["event_id"]
    event, data = "", ""
    with httpx.stream("GET", f"{url}/gradio_api/call/{api_name}/{event_id}", timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = line.split(":", 1)[1].strip()
                if event in ("complete", "error"):
                    break
    return event, data


@pytest.mark.parametrize(("api_name", "data_json", "word"), RAW_BAD)
def test_non_finite_numbers_give_messages(demo_server, api_name, data_json, word):
    event, data = _raw_call(demo_server.url, api_name, data_json)
    assert event == "error", (event, data)
    message = json.loads(data)["error"]
    assert message and word in message and "Traceback" not in message, message
    assert demo_server.alive()
