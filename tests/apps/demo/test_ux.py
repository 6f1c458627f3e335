"""The shared UX rules: error mapping, upload limits, seeds, download files."""

from __future__ import annotations

import math
import struct
import zlib

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from emotive.apps.demo import ux
from emotive.conditioning import EmotionError


def test_user_errors_maps_emotive_errors_to_their_message():
    @ux.user_errors
    def handler(x):
        raise EmotionError(f"bad {x}")

    with pytest.raises(gr.Error) as info:
        handler("input")
    assert info.value.message == "bad input"


def test_user_errors_hides_internal_details(caplog):
    @ux.user_errors
    def handler():
        raise KeyError("secret/path/inside")

    with pytest.raises(gr.Error) as info:
        handler()
    assert "KeyError" in info.value.message and "secret" not in info.value.message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert any("secret/path/inside" in r.getMessage() or r.exc_info for r in caplog.records)


def test_user_errors_keeps_gr_errors_results_and_generators():
    @ux.user_errors
    def ok(x, progress=gr.Progress()):  # noqa: B008 - gradio's documented pattern
        return x * 2

    @ux.user_errors
    def warn():
        raise gr.Error("as raised")

    @ux.user_errors
    def stream(n):
        yield from range(n)
        raise EmotionError("stream stopped")

    assert ok(4) == 8
    import inspect

    assert "progress" in inspect.signature(ok).parameters  # gradio still sees the Progress parameter
    with pytest.raises(gr.Error, match="as raised"):
        warn()
    got = []
    with pytest.raises(gr.Error, match="stream stopped"):
        for v in stream(3):
            got.append(v)
    assert got == [0, 1, 2]


@pytest.mark.parametrize("good", [0, 7, 7.0, "12", ux.MAX_SEED])
def test_check_seed_accepts_whole_numbers(good):
    assert ux.check_seed(good) == int(float(good))


@pytest.mark.parametrize("bad", [-1, 1.5, math.nan, math.inf, "abc", None, ux.MAX_SEED + 1])
def test_check_seed_rejects(bad):
    with pytest.raises(ux.DemoInputError):
        ux.check_seed(bad)


def test_generator_for_is_reproducible():
    import torch

    a = torch.rand(3, generator=ux.generator_for(5))
    b = torch.rand(3, generator=ux.generator_for(5))
    c = torch.rand(3, generator=ux.generator_for(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_audio_upload_checks(tmp_path, monkeypatch):
    wav = tmp_path / "ok.wav"
    sf.write(wav, np.zeros(16000, dtype=np.float32), 16000)
    assert ux.check_audio_upload(wav) == (1.0, 16000)
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(int(8000 * (ux.LIMITS.max_audio_seconds + 1)), dtype=np.int16), 8000)
    with pytest.raises(ux.DemoInputError, match="limit is 30 s"):
        ux.check_audio_upload(long)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(ux.DemoInputError, match="not an audio file"):
        ux.check_audio_upload(text)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ux.DemoInputError, match="empty"):
        ux.check_audio_upload(empty)
    with pytest.raises(ux.DemoInputError, match="No audio file"):
        ux.check_audio_upload(None)
    monkeypatch.setattr(ux, "LIMITS", ux.UploadLimits(max_megabytes=0.01))
    with pytest.raises(ux.DemoInputError, match="MB"):
        ux.check_audio_upload(wav)


def test_image_upload_checks(tmp_path):
    ok = tmp_path / "face.png"
    Image.new("RGB", (64, 48)).save(ok)
    assert ux.check_image_upload(ok) == (64, 48)
    big = tmp_path / "big.png"
    Image.new("L", (2100, 2100)).save(big)
    with pytest.raises(ux.DemoInputError, match="megapixels"):
        ux.check_image_upload(big)
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    with pytest.raises(ux.DemoInputError, match="not an image"):
        ux.check_image_upload(fake)
    # a tiny file whose header claims 30000 x 30000 pixels: refused from the header, never decoded
    bomb = tmp_path / "bomb.png"
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
                     + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + struct.pack(">I", 0) + b"IEND"
                     + struct.pack(">I", zlib.crc32(b"IEND")))
    with pytest.raises(ux.DemoInputError, match="far more pixels"):
        ux.check_image_upload(bomb)


def test_messages_never_show_server_paths(monkeypatch, tmp_path):
    upload_root = tmp_path / "gradio-uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(upload_root))
    result = ux.output_file("speech.wav")
    message = (f"'{upload_root}/3f2a9c/coffee.png': no face found; {result}: too short; "
               f"see /work/main/README.md")
    assert ux.redact_paths(message) == "'coffee.png': no face found; speech.wav: too short; see /work/main/README.md"

    @ux.user_errors
    def handler():
        raise ux.DemoInputError(f"The image '{upload_root}/ab12/me.jpg' has no face.")

    with pytest.raises(gr.Error) as info:
        handler()
    assert info.value.message == "The image 'me.jpg' has no face."


def test_limits_note_states_the_limits():
    note = ux.limits_note("audio", "image")
    assert "20 MB" in note and "30 s" in note and "4.2 megapixels" in note
    assert "audio" not in ux.limits_note()
    assert ux.LIMITS.gradio_max_file_size == "20mb"


def test_text_outputs_are_fresh_and_complete():
    a = ux.write_text_output("result.json", "{}")
    b = ux.write_text_output("result.json", "[]")
    assert a != b and a.name == b.name == "result.json"
    assert a.read_text() == "{}" and b.read_text() == "[]"
    assert a.parent.parent == ux.output_dir()
