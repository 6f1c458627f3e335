"""Per-video-frame audio features for the motion model: works on any speech WAV.

Log-mel spectrogram (16 kHz, 40 mel bands, 25 ms window, 10 ms hop), four 10 ms
hops stacked per 40 ms video frame (25 fps) -> 160 values, plus the frame's
log energy and its first difference -> 162. Each utterance is normalised to zero
mean / unit variance per dimension (removes voice and level), so corpus voices,
TTS output and real recordings look alike to the model.
"""

from __future__ import annotations

import numpy as np

SR = 16000
N_MELS = 40
HOP = 160  # 10 ms
WIN = 400  # 25 ms
STACK = 4  # hops per 40 ms video frame
FEATURE_DIM = N_MELS * STACK + 2


def audio_features(
    audio: np.ndarray, sr: int, num_frames: int | None = None, fps: float = 25.0
) -> np.ndarray:
    """Features [T, 162] float32 aligned to video frames (frame i covers [i/fps, (i+1)/fps)).

    Args:
        audio: mono waveform (any rate; resampled to 16 kHz).
        sr: its sample rate.
        num_frames: T (default: duration * fps rounded); padded with silence or cut.
    """
    import librosa

    x = np.asarray(audio, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if sr != SR:
        x = librosa.resample(x, orig_sr=sr, target_sr=SR)
    if num_frames is None:
        num_frames = max(1, round(len(x) / SR * fps))
    hops_per_frame = SR / fps / HOP
    need = int(np.ceil(num_frames * hops_per_frame)) + STACK
    mel = librosa.feature.melspectrogram(y=x, sr=SR, n_fft=512, hop_length=HOP, win_length=WIN, n_mels=N_MELS,
                                         center=True, power=2.0)  # fmt: skip
    logmel = np.log(mel + 1e-6).T  # [H, 40]
    if len(logmel) < need:
        pad = np.full((need - len(logmel), N_MELS), np.log(1e-6), np.float32)
        logmel = np.concatenate([logmel, pad])
    idx = (np.arange(num_frames) * hops_per_frame).astype(int)
    stacked = np.stack([logmel[idx + k] for k in range(STACK)], axis=1).reshape(num_frames, -1)
    energy = np.log(np.exp(stacked[:, :N_MELS]).sum(axis=1) + 1e-6)
    d_energy = np.diff(energy, prepend=energy[:1])
    f = np.concatenate([stacked, energy[:, None], d_energy[:, None]], axis=1)
    f = f.astype(np.float64)
    f = (f - f.mean(axis=0)) / (f.std(axis=0) + 1e-3)
    return f.astype(np.float32)
