"""`emotive speak` for workflows: tags and subtitles written together, WAV streamed to standard output, and bad
input (a malformed tag, a wrong subtitle name) refused with one line and nothing written."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
EM = [sys.executable, "-m", "emotive.apps.cli", "speak"]


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*EM, *args], capture_output=True, timeout=300, env=ENV, **kw)


def test_tags_subtitles_and_stdout_stream(tmp_path):
    text = "[happy] Good news, everyone! [sad:0.7] The shop is closed."
    wav, srt, js = tmp_path / "a.wav", tmp_path / "a.srt", tmp_path / "s.json"
    r = _run([text, "-o", str(wav), "--subtitles", str(srt), "--seed", "3"])
    assert r.returncode == 0, r.stderr[-2000:]
    x, sr = sf.read(wav, dtype="float32")
    cues = srt.read_text().strip().split("\n\n")
    assert len(cues) == 2 and cues[0].splitlines()[2] == "Good news, everyone!" and "[" not in srt.read_text()
    last_end = cues[-1].splitlines()[1].split(" --> ")[1]
    h, m, s = last_end.replace(",", ".").split(":")
    assert abs(int(h) * 3600 + int(m) * 60 + float(s) - len(x) / sr) < 0.002
    # the same request streamed to stdout: a WAV of unknown length whose samples equal the file's
    r = _run([text, "-o", "-", "--subtitles", str(js), "--seed", "3"])
    assert r.returncode == 0, r.stderr[-2000:].decode()
    assert r.stdout[:4] == b"RIFF" and r.stdout[4:8] == b"\xff\xff\xff\xff"
    y, sr2 = sf.read(io.BytesIO(r.stdout), dtype="float32")
    assert sr2 == sr and np.array_equal(np.round(y * 32768), np.round(x * 32768))
    segs = json.loads(js.read_text())["segments"]
    assert [s["emotion"]["label"] for s in segs] == ["happy", "sad"]


def test_bad_tag_or_subtitle_name_writes_nothing(tmp_path):
    wav = tmp_path / "b.wav"
    r = _run(["Hello [hapy] there.", "-o", str(wav), "--subtitles", str(tmp_path / "b.srt")], text=True)
    assert r.returncode == 2 and "at character 7" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _run(["Hello.", "-o", str(wav), "--subtitles", str(tmp_path / "b.txt")], text=True)
    assert r.returncode == 2 and ".srt or .vtt or .json" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_demo_speech_offers_subtitles_and_reads_tags():
    from emotive.apps.demo.tabs import speech

    wav, out = speech.synthesise("[happy] Hi there. [sad] Bye.", "jf_alpha", "neutral", 0)
    srt = speech.write_subtitles(out)
    assert srt.suffix == ".srt" and wav.suffix == ".wav"
    assert srt.read_text().split("\n\n")[1].splitlines()[2] == "Bye."
    assert [s.emotion.label for s in out.segments] == ["happy", "sad"]
    assert "[sad:0.6]" in speech.TAGS_HELP


def test_animate_subtitles_need_text_spoken_by_the_tts(tmp_path):
    r = subprocess.run([sys.executable, "-m", "emotive.apps.cli", "animate", str(tmp_path / "speech.wav"), "-o",
                        str(tmp_path / "t.mp4"), "--subtitles", str(tmp_path / "t.srt")], capture_output=True,
                       text=True, timeout=120, env=ENV)
    assert r.returncode == 2 and "--subtitles needs --text" in r.stderr and list(tmp_path.iterdir()) == []


def test_animate_text_writes_subtitles_with_the_video(tmp_path):
    mp4, srt = tmp_path / "t.mp4", tmp_path / "t.srt"
    r = subprocess.run([sys.executable, "-m", "emotive.apps.cli", "animate", "--text", "[happy] We won! [sad] It ends.",
                        "--motion", "procedural", "-o", str(mp4), "--subtitles", str(srt)], capture_output=True,
                       text=True, timeout=600, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    assert mp4.stat().st_size > 1000 and [c.splitlines()[2] for c in srt.read_text().strip().split("\n\n")] == \
        ["We won!", "It ends."]
