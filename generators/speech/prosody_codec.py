"""Prosody codec: Kokoro speech <-> discrete tokens of the prosody that carries emotion, decoded by Kokoro.

The tokens are not a learned acoustic code: they are the three inputs of Kokoro's decoder that emotion moves,
quantised, plus the level. Everything else (phonemes, voice) comes from the text and the style vector, so
decoding = Kokoro's front (text features) -> aligned by the decoded durations -> Kokoro's decoder with the
decoded F0 and energy -> gain. One frame = one Kokoro F0 frame (12.5 ms, 80 frames/s); codes ``[B, K, T]``:

    k = 0  boundary   1 where a token (phoneme, pause, BOS/EOS) starts, else 0. Kokoro's durations are whole
                      25 ms frames (2 codec frames), so boundaries fall on even frames and the per-token
                      durations come back exactly (lossless).
    k = 1  pitch      0..U-1: unvoiced, Kokoro's 0-50 Hz excitation value in ``unvoiced_step_hz`` steps;
                      U..: voiced log-F0 in ``f0_step_st`` semitone bins from ``f0_min_hz`` (0.2 st bins keep
                      every voiced frame within 0.1 st).
    k = 2  energy     Kokoro's energy input N in ``energy_step`` bins (N barely moves loudness, but it is the
                      decoder's input: the round trip keeps it).
    k = 3  gain       level in dB relative to Kokoro's own output for these features, ``gain_step_db`` bins
                      (the emotion's loudness is a waveform gain: +-20 dB of N gave < 1 dB).

``encode`` from features is exact up to the bins; ``encode`` from audio needs the per-token durations (the
pipeline knows them for its own output; for any other recording no honest aligner exists here, so it refuses),
measures F0 with pYIN, takes N from Kokoro's prediction for those durations (it is not observable in audio) and
the level from the RMS ratio to Kokoro's rendering of the measured features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from emotive.conditioning import EmotiveError
from emotive.generators.speech.kokoro import (
    F0_FRAME_SAMPLES,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    FrontOutput,
    Kokoro,
    VoiceBank,
)
from emotive.generators.speech.prosody import VOICED_HZ, soft_limit

CODEC_VERSION = 1
NUM_CODEBOOKS = 4
SUBFRAMES = FRAME_SAMPLES // F0_FRAME_SAMPLES
"""Codec frames per Kokoro duration frame (2)."""


class CodecError(EmotiveError):
    """Codes or inputs the prosody codec cannot use (wrong shape, codes out of range, durations missing)."""


@dataclass(frozen=True)
class CodecConfig:
    """Bin layout of the four codebooks (see the module docstring). Saved with anything trained on the codes."""

    f0_min_hz: float = 50.0          # = prosody.VOICED_HZ: Kokoro's unvoiced frames sit at 10-20 Hz, below this
    f0_max_hz: float = 1000.0        # above any voice and the rules' +6.5 st fear at 600 Hz
    f0_step_st: float = 0.2          # half-bin 0.1 st: well inside the 0.3 st round-trip target
    unvoiced_step_hz: float = 2.5    # unvoiced excitation value (0-50 Hz): 20 codes
    energy_min: float = -14.0        # Kokoro's N spans about -10 .. 9 on the corpus
    energy_max: float = 12.0
    energy_step: float = 0.25
    gain_min_db: float = -20.0
    gain_max_db: float = 20.0
    gain_step_db: float = 0.5
    version: int = CODEC_VERSION

    @property
    def n_unvoiced(self) -> int:
        return round(self.f0_min_hz / self.unvoiced_step_hz)

    @property
    def n_voiced(self) -> int:
        return int(np.floor(12 * np.log2(self.f0_max_hz / self.f0_min_hz) / self.f0_step_st)) + 1

    @property
    def cardinalities(self) -> tuple[int, int, int, int]:
        """Codes per codebook (boundary, pitch, energy, gain)."""
        ne = round((self.energy_max - self.energy_min) / self.energy_step) + 1
        ng = round((self.gain_max_db - self.gain_min_db) / self.gain_step_db) + 1
        return (2, self.n_unvoiced + self.n_voiced, ne, ng)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ProsodyFeatures:
    """What the codes stand for, for one utterance of n tokens (BOS/EOS included).

    Attributes:
        frames: int64 [n] Kokoro duration frames (25 ms) per token, each >= 1.
        f0: float32 [2T] Hz at 80 frames/s (T = frames.sum()); < 50 Hz = unvoiced excitation value.
        energy: float32 [2T] Kokoro's energy input N.
        gain_db: float32 [2T] level relative to Kokoro's output for these features (dB).
    """

    frames: np.ndarray
    f0: np.ndarray
    energy: np.ndarray
    gain_db: np.ndarray

    def stretched(self, pace: float) -> ProsodyFeatures:
        """The same prosody ``pace`` times as long (> 1 slower): each token's frames scaled (>= 1; the rounding
        error is carried on, so the whole keeps the pace) and its stretch of the F0, energy and gain tracks
        resampled to the new length (nearest frame, so voicing and values are the token's own). ``pace`` 1 returns
        these features unchanged."""
        if pace == 1.0:
            return self
        frames = np.asarray(self.frames, np.int64)
        new = np.empty_like(frames)
        done = 0
        for i, target in enumerate(np.cumsum(frames) * float(pace)):   # rounding error carried to the next token
            new[i] = max(1, int(np.rint(target)) - done)
            done += new[i]
        starts = SUBFRAMES * (np.cumsum(frames) - frames)
        idx = np.concatenate([s + np.minimum((np.arange(SUBFRAMES * m) + 0.5) * f / m, SUBFRAMES * f - 1).astype(np.int64)
                              for s, f, m in zip(starts, frames, new)])
        gain = np.asarray(self.gain_db)
        return ProsodyFeatures(new, np.asarray(self.f0)[idx], np.asarray(self.energy)[idx],
                               gain if gain.ndim == 0 else gain[idx])


class ProsodyCodec:
    """Quantiser + Kokoro: features/audio -> codes [B, K, T] -> audio. Kokoro loads on first use."""

    def __init__(self, config: CodecConfig | None = None, kokoro: Kokoro | None = None,
                 voices: VoiceBank | None = None):
        self.config = config or CodecConfig()
        self._kokoro = kokoro
        self._voices = voices

    @property
    def kokoro(self) -> Kokoro:
        if self._kokoro is None:
            self._kokoro = Kokoro.load()
        return self._kokoro

    @property
    def voices(self) -> VoiceBank:
        if self._voices is None:
            self._voices = VoiceBank.load()
        return self._voices

    @property
    def cardinalities(self) -> tuple[int, int, int, int]:
        return self.config.cardinalities

    # ------------------------------------------------------------ quantiser (no model)
    def quantize(self, feats: ProsodyFeatures) -> np.ndarray:
        """:class:`ProsodyFeatures` -> codes int64 [K, 2T]."""
        c = self.config
        frames = np.asarray(feats.frames, np.int64)
        if frames.ndim != 1 or len(frames) < 1 or (frames < 1).any():
            raise CodecError("frames must be >= 1 per token")
        t2 = SUBFRAMES * int(frames.sum())
        f0 = np.asarray(feats.f0, np.float64).reshape(-1)
        en = np.asarray(feats.energy, np.float64).reshape(-1)
        g = np.broadcast_to(np.asarray(feats.gain_db, np.float64), (t2,)).copy() if np.ndim(feats.gain_db) == 0 \
            else np.asarray(feats.gain_db, np.float64).reshape(-1)
        if not (len(f0) == len(en) == len(g) == t2):
            raise CodecError(f"F0/energy/gain need {t2} frames for these durations, got {len(f0)}/{len(en)}/{len(g)}")
        if not (np.isfinite(f0).all() and np.isfinite(en).all() and np.isfinite(g).all()):
            raise CodecError("F0/energy/gain must be finite")
        _, _n_pitch, n_en, n_g = c.cardinalities
        b = np.zeros(t2, np.int64)
        b[SUBFRAMES * (np.cumsum(frames) - frames)] = 1
        voiced = f0 >= c.f0_min_hz
        uv = np.clip(np.floor(np.maximum(f0, 0.0) / c.unvoiced_step_hz), 0, c.n_unvoiced - 1)
        vc = c.n_unvoiced + np.clip(np.rint(12 * np.log2(np.maximum(f0, c.f0_min_hz) / c.f0_min_hz) / c.f0_step_st),
                                    0, c.n_voiced - 1)
        p = np.where(voiced, vc, uv).astype(np.int64)
        e = np.clip(np.rint((en - c.energy_min) / c.energy_step), 0, n_en - 1).astype(np.int64)
        gq = np.clip(np.rint((g - c.gain_min_db) / c.gain_step_db), 0, n_g - 1).astype(np.int64)
        return np.stack([b, p, e, gq])

    def dequantize(self, codes: np.ndarray | torch.Tensor) -> ProsodyFeatures:
        """codes [K, 2T] (one utterance) -> :class:`ProsodyFeatures` (bin centres)."""
        c = self.config
        codes = np.asarray(codes.detach().cpu() if isinstance(codes, torch.Tensor) else codes, np.int64)
        if codes.ndim != 2 or codes.shape[0] != NUM_CODEBOOKS or codes.shape[1] < SUBFRAMES:
            raise CodecError(f"codes must be [{NUM_CODEBOOKS}, T], got {list(codes.shape)}")
        card = np.asarray(c.cardinalities)[:, None]
        if (codes < 0).any() or (codes >= card).any():
            raise CodecError("codes out of range for this codec")
        b, p, e, gq = codes
        if codes.shape[1] % SUBFRAMES or b[0] != 1 or b[1::SUBFRAMES].any():
            raise CodecError("the boundary stream must start with a boundary, use even frames only and have an "
                             "even length (Kokoro durations are whole 25 ms frames)")
        starts = np.flatnonzero(b)
        frames = np.diff(np.append(starts, len(b))) // SUBFRAMES
        uv = (p + 0.5) * c.unvoiced_step_hz
        vc = c.f0_min_hz * 2 ** ((p - c.n_unvoiced) * c.f0_step_st / 12)
        f0 = np.where(p < c.n_unvoiced, uv, vc)
        return ProsodyFeatures(frames.astype(np.int64), f0.astype(np.float32),
                               (c.energy_min + e * c.energy_step).astype(np.float32),
                               (c.gain_min_db + gq * c.gain_step_db).astype(np.float32))

    # ------------------------------------------------------------ with Kokoro
    def front(self, phonemes: str, voice: str) -> tuple[FrontOutput, np.ndarray]:
        """Kokoro's front for a phoneme string and voice -> (FrontOutput, style [256])."""
        ids = self.kokoro.token_ids(phonemes)
        if len(ids) != len(phonemes):
            raise CodecError("phonemes must be Kokoro tokens only (one character per token)")
        style = self.voices.style(voice, len(ids))
        return self.kokoro.front(ids, style), style

    def encode(self, wav: np.ndarray | None, sr: int, phonemes: str, voice: str,
               durations: np.ndarray | None = None, f0: np.ndarray | None = None,
               energy: np.ndarray | None = None, gain_db: float | np.ndarray | None = None) -> torch.Tensor:
        """Speech of ``phonemes`` in ``voice`` -> codes int64 [1, K, 2T] at 80 frames/s.

        Args:
            wav: float [S] mono audio at ``sr`` Hz (may be None when ``f0`` and ``gain_db`` are given).
            phonemes: the Kokoro phoneme string spoken (n - 2 tokens).
            voice: the voice (name or blend) it was spoken with.
            durations: int [n] frames (25 ms) per token, BOS/EOS included. Required: this codec has no aligner
                it could trust for arbitrary audio (the pipeline passes the durations of its own output).
            f0: optional [2T] Hz (Kokoro's F0 input; else measured from ``wav`` with pYIN).
            energy: optional [2T] Kokoro N (else Kokoro's prediction for these durations: N is not observable).
            gain_db: optional level in dB (scalar or [2T]; else the RMS ratio of ``wav`` to Kokoro's rendering).
        """
        if durations is None:
            raise CodecError("Encoding audio needs the per-token durations (frames of 25 ms, BOS/EOS included): "
                             "the speech pipeline returns them for its own output; other recordings cannot be "
                             "aligned reliably here.")
        frames = np.asarray(durations, np.int64).reshape(-1)
        if len(frames) != len(phonemes) + 2:
            raise CodecError(f"{len(phonemes) + 2} durations expected (phonemes + BOS/EOS), got {len(frames)}")
        t2 = SUBFRAMES * int(frames.sum())
        front = style = f0_pred = None
        if energy is None or f0 is None or gain_db is None:
            front, style = self.front(phonemes, voice)
        if energy is None or f0 is None:
            f0_pred, n_pred = self.kokoro.prosody(front, frames, style)
            energy = n_pred if energy is None else energy
        if f0 is None or gain_db is None:
            if wav is None:
                raise CodecError("wav is needed to measure F0 or gain")
            x = np.asarray(wav, np.float32).reshape(-1)
            if sr != SAMPLE_RATE:
                import librosa

                x = librosa.resample(x, orig_sr=sr, target_sr=SAMPLE_RATE)
            if f0 is None:
                f0 = measure_f0(x, t2, unvoiced=f0_pred)
            if gain_db is None:
                ref = self.kokoro.decode(front, frames, np.asarray(f0, np.float32), np.asarray(energy, np.float32), style)
                gain_db = 20 * np.log10(rms(x) / max(rms(ref), 1e-8))
        codes = self.quantize(ProsodyFeatures(frames, np.asarray(f0), np.asarray(energy), gain_db))
        return torch.from_numpy(codes)[None]

    def decode(self, codes: torch.Tensor | np.ndarray, phonemes: str | list[str], voice: str | list[str]
               ) -> np.ndarray | list[np.ndarray]:
        """codes [K, T] or [B, K, T] -> float32 waveform [600 T / 2] at 24 kHz (a list for B > 1; rows may be
        padded past their last boundary run only if ``phonemes`` says so: each row must hold n tokens)."""
        arr = np.asarray(codes.detach().cpu() if isinstance(codes, torch.Tensor) else codes, np.int64)
        if arr.ndim == 2:
            return self._decode_one(arr, phonemes if isinstance(phonemes, str) else phonemes[0],
                                    voice if isinstance(voice, str) else voice[0])
        phs = [phonemes] * len(arr) if isinstance(phonemes, str) else list(phonemes)
        vs = [voice] * len(arr) if isinstance(voice, str) else list(voice)
        return [self._decode_one(a, p, v) for a, p, v in zip(arr, phs, vs)]

    def decode_features(self, feats: ProsodyFeatures, front: FrontOutput, style: np.ndarray) -> np.ndarray:
        """Features + Kokoro front/style -> waveform float32 [600 T] (decoder, then the gain curve, peaks limited
        locally by :func:`soft_limit`, so a higher level code always gives a louder take)."""
        if len(feats.frames) != front.t_en.shape[1]:
            raise CodecError(f"the codes hold {len(feats.frames)} tokens, the phonemes {front.t_en.shape[1]} "
                             "(BOS/EOS included)")
        wav = self.kokoro.decode(front, feats.frames, feats.f0, feats.energy, style)
        return soft_limit(wav * gain_curve(feats.gain_db, len(wav)))

    def _decode_one(self, codes: np.ndarray, phonemes: str, voice: str) -> np.ndarray:
        feats = self.dequantize(codes)
        front, style = self.front(phonemes, voice)
        return self.decode_features(feats, front, style)


def gain_curve(gain_db: np.ndarray, n_samples: int) -> np.ndarray:
    """Per-frame dB [2T] -> per-sample linear gain [n_samples] (linear interpolation between frame centres)."""
    g = np.asarray(gain_db, np.float64).reshape(-1)
    if np.all(g == g[0]):
        return np.full(n_samples, 10 ** (g[0] / 20), np.float32)
    centres = (np.arange(len(g)) + 0.5) * F0_FRAME_SAMPLES
    return (10 ** (np.interp(np.arange(n_samples), centres, g) / 20)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def measure_f0(x: np.ndarray, n_frames: int, unvoiced: np.ndarray | None = None) -> np.ndarray:
    """pYIN F0 of 24 kHz audio at 80 frames/s -> float32 [n_frames] Hz; unvoiced frames get Kokoro's unvoiced
    excitation value (``unvoiced`` where it is below 50 Hz, else 15 Hz)."""
    import librosa

    f, vflag, _ = librosa.pyin(np.asarray(x, np.float32), fmin=60.0, fmax=900.0, sr=SAMPLE_RATE,
                               frame_length=2048, hop_length=F0_FRAME_SAMPLES, center=True)
    f = np.asarray(f, np.float64)[:n_frames]
    vflag = np.asarray(vflag, bool)[:n_frames]
    if len(f) < n_frames:
        f = np.pad(f, (0, n_frames - len(f)), constant_values=np.nan)
        vflag = np.pad(vflag, (0, n_frames - len(vflag)))
    fill = np.full(n_frames, 15.0)
    if unvoiced is not None:
        u = np.asarray(unvoiced, np.float64)[:n_frames]
        fill = np.where(u < VOICED_HZ, u, 15.0)
    return np.where(vflag & np.isfinite(f), f, fill).astype(np.float32)
