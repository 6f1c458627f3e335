"""Subtitles on talking portraits: burned cues change only the lower part of the frames they cover, wrap inside the
frame, survive H.264 in place; a soft subtitle track muxed into the MP4 reads back as the SRT it came from."""

from __future__ import annotations

import shutil
import subprocess
from types import SimpleNamespace

import imageio_ffmpeg
import numpy as np
import pytest
import skimage.data

from emotive.conditioning import EmotiveError
from emotive.generators.face.captions import BOTTOM_MARGIN, burn_captions, caption_overlay, load_font, wrap
from emotive.generators.face.render import add_subtitle_track, write_video
from emotive.generators.speech.subtitles import parse_srt

FPS = 25
CUES = [SimpleNamespace(start=0.2, end=0.6, text="Good morning! I have wonderful news for you,"),
        SimpleNamespace(start=0.8, end=1.2, text="We won!")]


def _covered(i: int) -> bool:
    return any(c.start <= i / FPS < c.end for c in CUES)


def _frames(n: int = 40, size: int = 256) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def _decode(path) -> np.ndarray:
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen])


@pytest.mark.parametrize("size", [256, 512])
def test_burned_frames_differ_only_low_and_only_while_a_cue_is_on(size):
    plain = _frames(size=size)
    burned = list(burn_captions(plain, CUES, FPS))
    assert len(burned) == len(plain)
    for i, (a, b) in enumerate(zip(plain, burned, strict=True)):
        changed = np.flatnonzero(np.any(a != b, axis=(1, 2)))
        if not _covered(i):
            assert changed.size == 0, f"frame {i} (no cue) was changed"
            continue
        assert changed.size > 0, f"frame {i} is inside a cue but nothing was drawn"
        assert changed.min() >= size // 2 and changed.max() < size - int(BOTTOM_MARGIN * size) + 1, changed
        assert np.any(np.all(b[changed] == 255, axis=-1)), "white text"


def test_text_wraps_inside_the_frame_and_each_cue_is_drawn_once():
    font = load_font(14)
    lines = wrap("Supercalifragilisticexpialidocious words wrap inside the frame", font, 200)
    assert all(font.getlength(line) <= 200 for line in lines) and len(lines) >= 3
    _, rgb, alpha = caption_overlay(CUES[0].text, 256, 256)
    cols = np.flatnonzero(alpha[..., 0].max(axis=0) > 0)
    assert cols.min() > 0 and cols.max() < 255, "the box stays inside the frame"
    assert rgb.shape[0] < 256 * 0.3, "two lines of a 42-character cue, not a third of the frame"
    assert list(burn_captions(iter([]), CUES, FPS)) == []


def test_burned_video_differs_only_low_and_while_a_cue_is_on(tmp_path):
    """The same motion rendered with and without the cues: H.264 keeps the text where and when it was drawn."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng not installed")
    from emotive.generators.face.talking import animate

    wav = tmp_path / "hi.wav"
    subprocess.run([exe, "-v", "en-us", "-w", str(wav), "Good morning. We won."], check=True)
    videos = []
    for name, captions in (("plain.mp4", None), ("burned.mp4", CUES)):
        animate(skimage.data.astronaut(), wav, tmp_path / name, text="Good morning. We won.", seed=1,
                captions=captions)
        videos.append(_decode(tmp_path / name).astype(np.float32))
    plain, burned = videos
    assert plain.shape == burned.shape
    drawn = np.abs(plain - burned).max(axis=-1) > 48   # [frames, H, W]: pixels the text or box changed, not noise
    top, bottom = drawn[:, : 256 // 2].mean(axis=(1, 2)), drawn[:, 256 * 3 // 4:].mean(axis=(1, 2))
    assert top.max() == 0, top
    on = np.array([_covered(i) for i in range(len(drawn))])
    assert bottom[on].min() > 0.01 and bottom[~on].max() < 0.001, (bottom[on].round(3), bottom[~on].round(4))


def _track(video) -> tuple[str, str]:
    """(the first subtitle track as SRT, ffmpeg's description of its stream)."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    srt = subprocess.run([exe, "-v", "error", "-i", str(video), "-map", "0:s:0", "-f", "srt", "-"],
                         capture_output=True, text=True, check=True).stdout
    info = subprocess.run([exe, "-hide_banner", "-i", str(video)], capture_output=True, text=True).stderr
    return srt, next(line for line in info.splitlines() if "Subtitle:" in line)


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "mov_text"), (".mkv", "subrip")])
def test_subtitle_track_reads_back_as_its_srt(tmp_path, suffix, codec):
    sidecar = tmp_path / "subs.srt"
    sidecar.write_text("1\n00:00:00,200 --> 00:00:00,600\nGood morning!\n\n2\n00:00:00,800 --> 00:00:01,600\n"
                       "We won!\n\n", encoding="utf-8")
    video = write_video(_frames(40, 64), tmp_path / f"v{suffix}", fps=FPS)
    add_subtitle_track(video, sidecar)
    srt, stream = _track(video)
    assert parse_srt(srt) == parse_srt(sidecar.read_text()) == [(0.2, 0.6, "Good morning!"), (0.8, 1.6, "We won!")]
    assert codec in stream, stream
    assert len(_decode(video)) == 40 and sorted(p.name for p in tmp_path.iterdir()) == ["subs.srt", f"v{suffix}"]


def test_subtitle_track_failure_keeps_the_video(tmp_path):
    video = write_video(_frames(10, 64), tmp_path / "v.mp4", fps=FPS)
    before = video.read_bytes()
    (tmp_path / "bad.srt").write_text("not subtitles at all")
    with pytest.raises(EmotiveError, match="subtitle track"):
        add_subtitle_track(video, tmp_path / "bad.srt")
    assert video.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["bad.srt", "v.mp4"]
