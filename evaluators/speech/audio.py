"""Audio loading and validation shared by the speech generators and evaluators.

Documented limits (``load_speech``):
- WAV/FLAC/OGG files readable by libsndfile; PCM 16/24/32-bit or float; mono or
  stereo (stereo is mixed to mono for analysis).
- Sample rate 8-48 kHz.
- At most ``MAX_SECONDS`` (10 min) per file: longer recordings must be split
  (WORLD analysis of a 2-hour file would need > 10 GB of RAM).
- Not silent (peak above -60 dBFS) and not mostly clipped (< 5% of samples at full scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotive.conditioning import EmotiveError

MIN_SR = 8000
MAX_SR = 48000
MAX_SECONDS = 600.0
MIN_SECONDS = 0.2
SILENCE_PEAK_DB = -60.0
MAX_CLIPPED_FRACTION = 0.05


class AudioInputError(EmotiveError):
    """An audio file or array the speech tools cannot use (the message says why)."""


@dataclass
class SpeechAudio:
    """Validated audio.

    Attributes:
        audio: float32 mono [T] in [-1, 1].
        sr: sample rate (Hz).
        channels: channel count of the source (1 or 2).
        clipped_fraction: share of samples at |x| >= 0.999.
    """

    audio: np.ndarray
    sr: int
    channels: int = 1
    clipped_fraction: float = 0.0

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sr


def validate(audio: np.ndarray, sr: int, name: str = "audio", channels: int = 1, allow_clipping: bool = False) -> SpeechAudio:
    """Check an in-memory waveform ([T] or [T, C]); returns it mono float32."""
    x = np.asarray(audio)
    if x.dtype.kind not in "fiu":
        raise AudioInputError(f"{name}: samples must be numbers, got dtype {x.dtype}.")
    if x.dtype.kind in "iu":
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max)
    x = x.astype(np.float32)
    if x.ndim == 2:
        if x.shape[1] > 2:
            raise AudioInputError(f"{name}: {x.shape[1]} channels; only mono or stereo speech is supported.")
        channels = x.shape[1]
        x = x.mean(axis=1)
    elif x.ndim != 1:
        raise AudioInputError(f"{name}: expected [samples] or [samples, channels], got shape {x.shape}.")
    if not MIN_SR <= int(sr) <= MAX_SR:
        raise AudioInputError(f"{name}: sample rate {sr} Hz is outside the supported 8-48 kHz.")
    if not np.all(np.isfinite(x)):
        raise AudioInputError(f"{name}: contains NaN or infinite samples.")
    dur = len(x) / sr
    if dur < MIN_SECONDS:
        raise AudioInputError(f"{name}: only {dur:.2f} s long; need at least {MIN_SECONDS} s of speech.")
    if dur > MAX_SECONDS:
        raise AudioInputError(
            f"{name}: {dur / 60:.1f} min long; the limit is {MAX_SECONDS / 60:.0f} min per file. Split it into shorter files."
        )
    peak = float(np.max(np.abs(x)))
    if peak <= 10 ** (SILENCE_PEAK_DB / 20):
        raise AudioInputError(f"{name} is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS); nothing to process.")
    clipped = float(np.mean(np.abs(x) >= 0.999))
    if clipped > MAX_CLIPPED_FRACTION and not allow_clipping:
        raise AudioInputError(
            f"{name}: {clipped:.0%} of the samples are clipped at full scale; the analysis would be unreliable. "
            "Record at a lower level (or pass allow_clipping=True)."
        )
    return SpeechAudio(np.clip(x, -1.0, 1.0), int(sr), channels, clipped)


def wav_cut_off(path: str | Path) -> str | None:
    """A message when a RIFF/WAVE file ends before its data chunk does, else None (not a WAV, an intact one, or a
    streaming header that gives no length: 0 or 0xFFFFFFFF). libsndfile reads such a file without complaint, so a
    cut-off recording would otherwise be used in part, silently."""
    import struct

    p = Path(path)
    size = p.stat().st_size
    with p.open("rb") as fh:
        if fh.read(12)[:4] != b"RIFF":
            return None
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            cid, n = struct.unpack("<4sI", fh.read(8))
            if cid == b"data":
                held = size - pos - 8
                if 0 < n < 0xFFFFFFFF and held < n:
                    return (f"'{p.name}' is cut off: its header announces {n} bytes of audio but the file holds "
                            f"{held}. Export or copy it again.")  # fmt: skip
                return None
            pos += 8 + n + (n & 1)
    return None


def load_speech(path: str | Path, allow_clipping: bool = False) -> SpeechAudio:
    """Read and validate a speech file (limits in the module docstring)."""
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"'{p}' does not exist.")
    if p.is_dir():
        raise AudioInputError(f"'{p}' is a folder, not an audio file.")
    try:
        info = sf.info(str(p))
    except Exception as exc:  # libsndfile raises its own error types
        raise AudioInputError(f"'{p}' is not a readable audio file ({exc}).") from None
    if info.frames == 0:
        raise AudioInputError(f"'{p}' contains no audio samples.")
    cut = wav_cut_off(p) if info.format == "WAV" else None
    if cut is not None:
        raise AudioInputError(cut)
    if info.frames / max(1, info.samplerate) > MAX_SECONDS:
        raise AudioInputError(
            f"'{p}': {info.frames / info.samplerate / 60:.1f} min long; the limit is {MAX_SECONDS / 60:.0f} min per file. "
            "Split it into shorter files."
        )
    if info.channels > 2:
        raise AudioInputError(f"'{p}': {info.channels} channels; only mono or stereo speech is supported.")
    try:
        x, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioInputError(f"'{p}' could not be decoded ({exc}).") from None
    return validate(x, sr, name=f"'{p}'", channels=info.channels, allow_clipping=allow_clipping)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling [T] -> [T * sr_out / sr_in], float32."""
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)
