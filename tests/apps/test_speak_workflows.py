"""`emotive speak` for workflows: tags and subtitles written together, WAV streamed to standard output, and bad
input (a malformed tag, a wrong subtitle name) refused with one line and nothing written; `animate --text` writes,
attaches and burns the same subtitles."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from emotive.generators.speech.subtitles import parse_srt

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
    r = _run(["Hello.", "-o", str(wav), "--threads", "0"], text=True)
    assert r.returncode == 2 and "--threads must be" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_demo_speech_offers_subtitles_and_reads_tags():
    from emotive.apps.demo.tabs import speech

    wav, out = speech.synthesise("[happy] Hi there. [sad] Bye.", "jf_alpha", "neutral", 0)
    srt = speech.write_subtitles(out)
    assert srt.suffix == ".srt" and wav.suffix == ".wav"
    assert srt.read_text().split("\n\n")[1].splitlines()[2] == "Bye."
    assert [s.emotion.label for s in out.segments] == ["happy", "sad"]
    assert "[sad:0.6]" in speech.TAGS_HELP


@pytest.mark.parametrize("flags", [["--subtitles", "t.srt"], ["--burn-subtitles"], ["--burn-subtitles", "--text", "Hi."]])
def test_animate_subtitles_need_text_spoken_by_the_tts(tmp_path, flags):
    (tmp_path / "speech.wav").write_bytes(b"")   # named like speech: the flags are refused before it is read
    flags = [str(tmp_path / f) if f.endswith(".srt") else f for f in flags]
    r = subprocess.run([sys.executable, "-m", "emotive.apps.cli", "animate", str(tmp_path / "speech.wav"), "-o",
                        str(tmp_path / "t.mp4"), *flags], capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 2 and f"{flags[0]} needs --text" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and [p.name for p in tmp_path.iterdir()] == ["speech.wav"]


def _animate(tmp_path, *flags: str) -> tuple[list[tuple[float, float, str]], np.ndarray, str]:
    """`animate --text` with --subtitles and ``flags``: (the sidecar's cues, the frames, the MP4's subtitle track as
    SRT or "")."""
    import imageio_ffmpeg

    mp4, srt = tmp_path / "t.mp4", tmp_path / "t.srt"
    r = subprocess.run([sys.executable, "-m", "emotive.apps.cli", "animate", "--text", "[happy] We won! [sad] It ends.",
                        "--motion", "procedural", "-o", str(mp4), "--subtitles", str(srt), *flags],
                       capture_output=True, text=True, timeout=600, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mp4", "t.srt"]
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    track = subprocess.run([exe, "-v", "error", "-i", str(mp4), "-map", "0:s:0?", "-f", "srt", "-"],
                           capture_output=True, text=True).stdout
    gen = imageio_ffmpeg.read_frames(str(mp4))
    w, h = next(gen)["size"]
    frames = np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen])
    return parse_srt(srt.read_text()), frames, track


def _white_low(frames: np.ndarray) -> np.ndarray:
    """Per frame: the share of white pixels in the lower quarter."""
    return (frames[:, frames.shape[1] * 3 // 4:] > 225).all(axis=-1).mean(axis=(1, 2))


def test_animate_text_attaches_subtitles(tmp_path):
    cues, frames, track = _animate(tmp_path)
    assert [c[2] for c in cues] == ["We won!", "It ends."] and all(a < b for a, b, _ in cues)
    assert parse_srt(track) == cues, "the MP4 carries the sidecar's cues as a subtitle track"
    assert abs(cues[-1][1] - len(frames) / 25) < 0.25, "the last cue lasts to the end of the video"


def test_animate_text_burns_subtitles(tmp_path):
    cues, frames, track = _animate(tmp_path, "--burn-subtitles")
    assert [c[2] for c in cues] == ["We won!", "It ends."] and track == "", "burned: no second copy as a track"
    t = np.arange(len(frames)) / 25
    near = np.array([min(abs(x - e) for a, b, _ in cues for e in (a, b)) < 0.002 for x in t])   # ms-rounded times
    on = np.array([any(a <= x < b for a, b, _ in cues) for x in t])
    white = _white_low(frames)
    assert white[on & ~near].min() > 3 * white[~on & ~near].max(), white.round(3)
