import json
import subprocess
import sys

import pytest


def emotive(*args, check=False):
    return subprocess.run([sys.executable, "-m", "emotive.apps", *args], capture_output=True, text=True, check=check, timeout=300)


def test_version_and_help():
    r = emotive("--version")
    assert r.returncode == 0 and r.stdout.startswith("emotive ")
    r = emotive("--help")
    assert r.returncode == 0 and "emotion" in r.stdout and "bench" in r.stdout


def test_emotion_json():
    r = emotive("emotion", "happy:0.6", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["label"] == "happy" and d["intensity"] == 0.6 and d["string"] == "happy:0.6"


def test_emotion_text_json():
    r = emotive("emotion", "not very happy", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["source"] == "text" and d["vad"]["valence"] < 0.2


def test_emotion_table():
    r = emotive("emotion", "0.7 sad + 0.3 angry")
    assert r.returncode == 0 and "sad" in r.stdout and "VAD" in r.stdout


@pytest.mark.parametrize("bad", ["", "suprised:0.4", "vad(nan,0,0)", "x" * 2000])
def test_errors_one_line_no_traceback(bad):
    r = emotive("emotion", bad)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("emotive: error:")
