"""Audio bytes for files, pipes and HTTP: 16-bit PCM, a streaming WAV header, and whole-file WAV/FLAC/MP3.

A WAV stream cannot know its length when its header is sent, so the RIFF and data sizes are written as
``0xFFFFFFFF`` (what ffmpeg and sox write to a pipe); readers take the data to the end of the stream.
"""

from __future__ import annotations

import io
import struct

import numpy as np

STREAM_SIZE = 0xFFFFFFFF
"""RIFF / data chunk size of a WAV whose length is unknown when its header is written."""
FORMATS = ("wav", "pcm", "flac", "mp3")
MEDIA_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac", "mp3": "audio/mpeg"}


def pcm16(wav: np.ndarray, sample_rate: int = 24_000) -> bytes:
    """float32 [T] in [-1, 1] -> little-endian signed 16-bit PCM bytes (2 * T), converted by libsndfile as
    ``soundfile.write(..., subtype="PCM_16")`` does, so a stream's samples equal the file's."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(wav, dtype=np.float32), sample_rate, format="RAW", subtype="PCM_16", endian="LITTLE")
    return buf.getvalue()


def wav_header(sample_rate: int, data_bytes: int = STREAM_SIZE, channels: int = 1) -> bytes:
    """A 44-byte PCM16 WAV header; ``data_bytes`` = ``STREAM_SIZE`` for a stream of unknown length."""
    riff = STREAM_SIZE if data_bytes == STREAM_SIZE else 36 + data_bytes
    block = 2 * channels
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate,
            sample_rate * block, block, 16) + b"data" + struct.pack("<I", data_bytes))


def mp3_available() -> bool:
    """True if this libsndfile writes MP3 (1.1.0 and later, built with LAME)."""
    import soundfile as sf

    return "MP3" in sf.available_formats()


def encode(wav: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """A whole waveform as the bytes of a ``wav`` / ``pcm`` / ``flac`` / ``mp3`` file."""
    if fmt == "pcm":
        return pcm16(wav)
    if fmt == "wav":
        data = pcm16(wav)
        return wav_header(sample_rate, len(data)) + data
    import soundfile as sf

    buf = io.BytesIO()
    if fmt == "flac":
        sf.write(buf, wav, sample_rate, format="FLAC", subtype="PCM_16")
    elif fmt == "mp3":
        sf.write(buf, wav, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    else:
        raise ValueError(f"unknown audio format {fmt!r}; one of {', '.join(FORMATS)}")
    return buf.getvalue()
