"""End to end: speech WAV + emotion + portrait -> MP4 (procedural motion), and bad inputs."""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest
import skimage.data
import soundfile as sf

from emotive.conditioning import EmotiveError
from emotive.generators.face.motion import FaceMotion
from emotive.generators.face.talking import AudioInputError, animate, load_speech

TEXT = "Hello there. How are you today?"


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng not installed")
    p = tmp_path_factory.mktemp("speech") / "hello.wav"
    subprocess.run([exe, "-v", "en-us", "-w", str(p), TEXT], check=True)
    return p


def test_animate_with_text(speech_wav, tmp_path):
    out = tmp_path / "talk.mp4"
    res = animate(skimage.data.astronaut(), speech_wav, out, emotion="happy", text=TEXT,
                  motion_out=tmp_path / "m.csv")  # fmt: skip
    assert out.exists() and out.stat().st_size > 5000 and res.timing == "text"
    assert res.motion_source == "procedural"
    dur = sf.info(str(speech_wav)).duration
    assert abs(res.motion.duration - dur) < 0.1
    m = FaceMotion.load(tmp_path / "m.csv")
    assert m.num_frames == res.motion.num_frames and m.curve("jawOpen").max() > 0.2
    assert m.curve("mouthSmileLeft")[30:].mean() > 0.4
    # Existing outputs are refused before any work.
    with pytest.raises(EmotiveError, match="already exists"):
        animate(skimage.data.astronaut(), speech_wav, out, text=TEXT)


def test_bad_audio(tmp_path):
    with pytest.raises(AudioInputError, match="does not exist"):
        load_speech(tmp_path / "none.wav")
    txt = tmp_path / "notes.wav"
    txt.write_text("not audio")
    with pytest.raises(AudioInputError, match="not a readable audio"):
        load_speech(txt)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    with pytest.raises(AudioInputError, match="silent"):
        load_speech(silent)
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(8000 * 301, np.int16), 8000)  # 5 min 1 s: over the documented limit
    with pytest.raises(AudioInputError, match="limit is 5 minutes"):
        load_speech(long)


def test_bad_portrait_writes_nothing(speech_wav, tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(EmotiveError, match="No face"):
        animate(skimage.data.coffee(), speech_wav, out, text=TEXT)
    assert list(tmp_path.iterdir()) == []


def test_cli_animate_and_evaluate(speech_wav, tmp_path, capsys):
    """`emotive animate` (procedural, labelled as such) then `emotive evaluate face` on its output."""
    import json

    from emotive.apps.cli import main

    out = tmp_path / "cli.mp4"
    rc = main(["animate", str(speech_wav), "-e", "happy", "--text", TEXT, "-o", str(out), "--motion", "procedural",
               "--motion-out", str(tmp_path / "m.json")])  # fmt: skip
    assert rc == 0 and out.exists() and "motion: procedural" in capsys.readouterr().out
    rc = main(
        ["evaluate", "face", str(out), "--emotion", "happy", "--motion", str(tmp_path / "m.json"), "--json"]
    )
    v = json.loads(capsys.readouterr().out)
    assert rc == 0 and v["modality"] == "face" and v["figures"]["face_frames"] > 10
    assert v["label"] == "happy"
    # Bad input: one clear line, exit 2, nothing written.
    rc = main(
        [
            "animate",
            str(speech_wav),
            str(speech_wav),
            "-o",
            str(tmp_path / "bad.mp4"),
            "--motion",
            "procedural",
        ]
    )
    assert rc == 2 and "not a readable image" in capsys.readouterr().err
    assert not (tmp_path / "bad.mp4").exists()


def test_cli_animate_speaks_text_with_the_tts(tmp_path, capsys):
    """`emotive animate portrait.png --text ...` (no speech file): the Kokoro TTS speaks the text first; the MP4
    carries that speech. No files at all, or a speech-less call without --text: one clear error, nothing written."""
    import imageio.v3 as iio

    from emotive.apps.cli import main

    portrait = tmp_path / "face.png"
    iio.imwrite(portrait, skimage.data.astronaut())
    out = tmp_path / "tts.mp4"
    rc = main(["animate", str(portrait), "--text", "Good morning to you.", "-e", "happy", "--voice", "jm_kumo",
               "-o", str(out), "--motion", "procedural"])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0 and out.exists() and "spoke" in printed and "voice jm_kumo (happy)" in printed
    from emotive.evaluators.face.evaluate import read_audio_track

    audio = read_audio_track(out, sr=16000)
    assert audio is not None and len(audio) / 16000 > 0.5 and np.abs(audio).max() > 0.01
    rc = main(["animate", "-o", str(tmp_path / "none.mp4")])
    assert rc == 2 and "--text" in capsys.readouterr().err and not (tmp_path / "none.mp4").exists()


def test_cli_animate_refuses_in_a_second_what_would_fail_after_minutes(tmp_path, capsys):
    """Output names, options and a --text too long for the portrait's audio limit are refused before the TTS
    speaks or anything renders; a picture alone is named as a picture."""
    import imageio.v3 as iio

    from emotive.apps.cli import main
    from emotive.apps.commands.animate import CHARS_PER_SECOND
    from emotive.generators.face.talking import MAX_AUDIO_S

    portrait = tmp_path / "face.png"
    iio.imwrite(portrait, skimage.data.astronaut())
    cases = [
        ([str(portrait), "--text", "Hello.", "-o", str(tmp_path / "a.wav")], "ending in .mp4"),
        ([str(portrait), "--text", "Hello.", "-o", str(tmp_path / "b.mp4"), "--steps", "0"], "--steps"),
        ([str(portrait), "--text", "Hello.", "-o", str(tmp_path / "c.mp4"), "--guidance", "nan"], "--guidance"),
        ([str(portrait), "--text", "Hello. " * int(MAX_AUDIO_S * CHARS_PER_SECOND / 7 + 10), "-o",
          str(tmp_path / "d.mp4")], "at most 5 minutes"),
        ([str(portrait), "-o", str(tmp_path / "e.mp4")], "is a picture"),
    ]  # fmt: skip
    for argv, words in cases:
        t0 = time.perf_counter()
        rc = main(["animate", *argv])
        err = capsys.readouterr().err
        assert rc == 2 and words in err and time.perf_counter() - t0 < 10, (argv[-3:], err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png"]


def test_cli_error_is_one_line_without_mediapipe_start_up_noise(tmp_path, speech_wav):
    """MediaPipe's native start-up lines used to stand before the one error line (a separate process: they are
    written to file descriptor 2 by C++, where capsys cannot see them)."""
    import sys

    import imageio.v3 as iio

    coffee = tmp_path / "coffee.png"
    iio.imwrite(coffee, skimage.data.coffee())
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-m", "emotive.apps.cli", "animate", str(coffee), str(speech_wav), "-o",
                          str(tmp_path / "o.mp4")], capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert res.returncode == 2 and res.stderr.splitlines() == [res.stderr.strip()], res.stderr
    assert "No face found in 'coffee.png'" in res.stderr and not (tmp_path / "o.mp4").exists()
