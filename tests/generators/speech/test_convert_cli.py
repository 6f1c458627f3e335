"""`emotive convert`: good input converts; bad input gets one clear error and leaves no file."""

import numpy as np
import pytest
import soundfile as sf

from emotive.apps.cli import main

SR = 16000


def speech_like(seconds=1.2, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    ph = 2 * np.pi * np.cumsum(130 * (1 + 0.1 * np.sin(2 * np.pi * 2 * t))) / sr
    return (0.08 * sum(np.sin(k * ph) / k for k in range(1, 25))).astype(np.float32)


def run(tmp_path, wav, *extra):
    out = tmp_path / "out.wav"
    rc = main(["convert", str(wav), "--emotion", "angry", "-o", str(out), *extra])
    return rc, out


@pytest.mark.parametrize("sr, channels", [(8000, 1), (22050, 2), (48000, 1)])
def test_convert_formats(tmp_path, sr, channels):
    x = speech_like(sr=sr)
    if channels == 2:
        x = np.stack([x, 0.5 * x], axis=1)
    wav = tmp_path / "in.wav"
    sf.write(wav, x, sr, subtype="PCM_24")
    rc, out = run(tmp_path, wav)
    assert rc == 0
    y, sr2 = sf.read(out, always_2d=True)
    assert sr2 == sr and y.shape[1] == channels
    assert 0.7 < len(y) / len(x) < 1.1  # angry is a little faster
    assert main(["convert", str(wav), "--emotion", "sad", "-o", str(out)]) == 2  # exists, no --force
    assert main(["convert", str(wav), "--emotion", "sad", "-o", str(out), "--force"]) == 0


def _bad_inputs(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR), SR)
    clipped = tmp_path / "clipped.wav"
    sf.write(clipped, np.clip(20 * speech_like(), -1, 1), SR)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all\n" * 20)
    long = tmp_path / "long.wav"
    with sf.SoundFile(long, "w", 8000, 1, subtype="PCM_U8") as f:  # 2 h of 8-bit audio, written in blocks
        block = (0.1 * np.sin(np.arange(8000 * 60) / 10)).astype(np.float32)
        for _ in range(120):
            f.write(block)
    hi = tmp_path / "96k.wav"
    sf.write(hi, np.tile(speech_like(), 6), 96000)
    multi = tmp_path / "4ch.wav"
    sf.write(multi, np.stack([speech_like()] * 4, axis=1), SR)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), SR)
    return {"silent": silent, "clipped": clipped, "text": text, "long": long, "96k": hi, "4ch": multi, "empty": empty}


def test_bad_inputs_get_clear_errors(tmp_path, capsys):
    expected = {"silent": "silent", "clipped": "clipped", "text": "not a readable audio", "long": "limit is 10 min",
                "96k": "outside the supported", "4ch": "channels", "empty": "no audio"}
    for name, wav in _bad_inputs(tmp_path).items():
        rc, out = run(tmp_path, wav)
        err = capsys.readouterr().err
        assert rc == 2, name
        assert expected[name] in err, (name, err)
        assert err.count("\n") == 1, err
        assert not out.exists()
        assert not list(tmp_path.glob(".out.wav*"))  # no temp file left behind
    rc, out = run(tmp_path, tmp_path / "clipped.wav", "--allow-clipping")
    assert rc == 0 and out.exists()


def test_missing_input_and_bad_emotion(tmp_path, capsys):
    rc, _out = run(tmp_path, tmp_path / "nope.wav")
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    wav = tmp_path / "in.wav"
    sf.write(wav, speech_like(), SR)
    assert main(["convert", str(wav), "--emotion", "vad(3,0,0)", "-o", str(tmp_path / "o.wav")]) == 2
    assert not (tmp_path / "o.wav").exists()
    assert main(["convert", str(wav), "--emotion", "sad", "-o", str(tmp_path / "o.txt")]) == 2
    assert "ending in .wav" in capsys.readouterr().err and not (tmp_path / "o.txt").exists()
