"""Demo hygiene (issue 18): results are swept, nothing is left after the demo stops, Ctrl-C stops it within
5 s, a killed demo's folder is removed by the next one, and under a bounded loopback load the queue refuses
politely while cheap requests stay fast. One demo server of its own (it is stopped by the test)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from emotive.apps.demo import rundir, ux
from emotive.conditioning import files

from .conftest import free_port

EXAMPLE_WAV = Path(__file__).resolve().parents[3] / "apps" / "demo" / "examples" / "neutral-slt.wav"
STOP_LIMIT_S = 5.0
CHEAP_LIMIT_S = 3.0
"""A cheap request with the queue full (measured under 1.6 s in the issue; headroom for a shared, busy machine)."""
LONG_WAV = EXAMPLE_WAV.parent / "ten-seconds-slt.wav"


# ------------------------------------------------------------------ in-process sweeps
def test_result_folders_older_than_the_grace_are_swept(monkeypatch, tmp_path):
    monkeypatch.setattr(rundir, "_RUN_DIR", None)
    monkeypatch.setattr(rundir, "_ROOT", tmp_path)
    old = ux.write_text_output("old.json", "{}")
    new = ux.write_text_output("new.json", "{}")
    past = time.time() - ux.ORIGINAL_GRACE_S - 5
    os.utime(old.parent, (past, past))
    assert ux.sweep_results() == 1
    assert not old.exists() and new.exists()
    ux.remove_run_dir()
    assert list(tmp_path.iterdir()) == []


def test_folders_of_killed_demos_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = files.host_tag()
    killed = tmp_path / f"emotive-demo-{host}-{dead.pid}-abcd1234"
    alive = tmp_path / f"emotive-demo-{host}-{os.getpid()}-abcd1234"
    elsewhere = tmp_path / f"emotive-demo-{'0000' if host != '0000' else '1111'}-{dead.pid}-abcd1234"
    legacy_old, legacy_new = tmp_path / "emotive-demo-k3j2h1g0", tmp_path / "emotive-demo-z9y8x7w6"
    for d in (killed, alive, elsewhere, legacy_old, legacy_new):
        (d / "results").mkdir(parents=True)
    past = time.time() - files.STALE_AGE_S - 60
    os.utime(legacy_old, (past, past))
    assert sorted(ux.sweep_abandoned_runs(tmp_path)) == sorted([killed, legacy_old])
    assert alive.is_dir() and elsewhere.is_dir() and legacy_new.is_dir()


# ------------------------------------------------------------------ a demo of its own
@pytest.fixture(scope="module")
def own_demo(tmp_path_factory):
    """``emotive demo`` with its temp folder (TMPDIR) in a fresh folder, so everything it writes can be counted."""
    root = tmp_path_factory.mktemp("demo-tmp")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = root / f"emotive-demo-{files.host_tag()}-{dead.pid}-left0ver"  # what `kill -9` of a demo leaves
    (killed / "results" / "0123").mkdir(parents=True)
    (killed / "results" / "0123" / "emotive-converted.wav").write_bytes(b"RIFF")
    port = free_port()
    env = {**os.environ, "TMPDIR": str(root), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    env.pop("GRADIO_TEMP_DIR", None)
    log = root.parent / f"own-demo-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "emotive.apps", "demo", "--port", str(port), "--no-warm-up"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    t0 = time.time()
    while time.time() - t0 < 90:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"the demo did not serve within 90 s:\n{log.read_text()}")
    yield {"url": url, "proc": proc, "root": root, "killed": killed, "log": log}
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def api(url: str) -> dict[str, int]:
    config = httpx.get(url + "/config", timeout=10).json()
    return {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}


def upload(url: str, path: Path) -> dict:
    r = httpx.post(url + "/gradio_api/upload", files={"files": (path.name, path.read_bytes(), "audio/wav")},
                   timeout=30)
    r.raise_for_status()
    return {"path": r.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": path.name}


def join(url: str, fn: int, data: list, session: str | None = None) -> httpx.Response:
    body = {"data": data, "fn_index": fn, "session_hash": session or uuid.uuid4().hex[:10]}
    return httpx.post(url + "/gradio_api/queue/join", json=body, timeout=30)


def result(url: str, session: str, timeout: float = 60) -> dict:
    """Read the session's event stream until its job completes; returns the final message."""
    with httpx.stream("GET", url + "/gradio_api/queue/data", params={"session_hash": session},
                      timeout=timeout) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("the stream ended without a result")


def made_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_the_folder_of_a_killed_demo_is_removed_at_start(own_demo):
    assert not own_demo["killed"].exists()


def test_results_are_kept_in_the_demo_folder_while_it_serves(own_demo):
    url, root = own_demo["url"], own_demo["root"]
    fns = api(url)
    session = uuid.uuid4().hex[:10]
    assert join(url, fns["explore"], ["happy\nsad:0.5"], session).status_code == 200
    done = result(url, session)
    assert done["success"], done
    made = made_files(root)
    run = next(root.glob("emotive-demo-*"))
    assert any(p.is_relative_to(run / "results") for p in made) and any(p.is_relative_to(run / "gradio") for p in made)
    assert all(p.is_relative_to(run) for p in made), made  # gradio's, torch's, mediapipe's files too


def test_under_load_the_queue_refuses_politely_and_cheap_requests_stay_fast(own_demo):
    """Bounded: the queue's capacity + 10 heavy requests (each about a second of voice conversion), on loopback;
    the jobs left queued are cancelled by the Ctrl-C test that follows."""
    url = own_demo["url"]
    fns = api(url)
    speech = upload(url, LONG_WAV)
    n = ux.QUEUE_MAX_SIZE + 10
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: join(url, fns["convert"], [speech, "", i, "angry:0.8"]), range(n)))
    refused = [r for r in codes if r.status_code != 200]
    assert 0 < len(refused) <= 10, [r.status_code for r in codes]
    for r in refused:  # a clear refusal, not an error page or a dropped connection
        assert r.status_code == 503 and "Queue is full" in r.json()["detail"], r.text
    slowest = 0.0
    for path in ("/", "/config", "/gradio_api/info"):
        t0 = time.perf_counter()
        assert httpx.get(url + path, timeout=CHEAP_LIMIT_S * 5).status_code == 200
        slowest = max(slowest, time.perf_counter() - t0)
    assert slowest < CHEAP_LIMIT_S, f"a cheap request took {slowest:.2f} s with the queue full"
    own_demo["queued"] = n - len(refused)


def test_ctrl_c_stops_the_demo_within_5_s_and_leaves_nothing(own_demo):
    """With heavy jobs still queued and one running (left by the load test), or a fresh one started here."""
    url, proc, root = own_demo["url"], own_demo["proc"], own_demo["root"]
    if not own_demo.get("queued"):
        fns = api(url)
        speech = upload(url, EXAMPLE_WAV)
        for i in range(4):
            join(url, fns["convert"], [speech, "", i, "sad"])
    assert made_files(root), "the demo wrote nothing to clean up"
    fns = api(url)
    listening = uuid.uuid4().hex[:10]  # a page waiting for its result: an open event stream the stop must cut
    join(url, fns["convert"], [upload(url, EXAMPLE_WAV), "", 1, "sad"], listening)
    waiter = ThreadPoolExecutor(1)
    waiter.submit(result, url, listening, 30)
    time.sleep(0.5)
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(STOP_LIMIT_S + 5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_LIMIT_S + 5:.0f} s after Ctrl-C")
    took = time.perf_counter() - t0
    waiter.shutdown(wait=False, cancel_futures=True)
    log = own_demo["log"].read_text()
    assert took < STOP_LIMIT_S, f"stopped after {took:.1f} s"
    assert proc.returncode == 0, log
    assert "Traceback" not in log.split("emotive demo: stopping")[-1], log  # the cancelled jobs are expected
    assert list(root.iterdir()) == [], f"left behind: {made_files(root) or list(root.iterdir())}"
