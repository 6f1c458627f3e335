"""Naturalness judge: Distill-MOS (Stahl & Gamper 2025), a predicted mean opinion score from 1 (bad) to 5 (excellent).

The weights ship inside the ``distillmos`` wheel (MIT; ``distillmos/weights/distill_mos_v7.pt``, 17 MB). Its own
module imports torchaudio at the top (only for its file-reading command line), and torchaudio must not be
installed next to our torch (shared/ASSETS.md), so the network is rebuilt here: the convolutional front end over
a power-law-compressed complex spectrogram is ours, the transformer + attention-pooling head is
``xls_r_sqa.sqa_model.SingleLayerModel`` (MIT, no torchaudio), and the checkpoint loads into it unchanged.

The loop, top to bottom: audio -> 16 kHz mono -> 7.68 s windows (shorter audio zero-padded, longer audio cut into
windows at most 1 s apart) -> each window peak-normalised -> 20 ms / 10 ms STFT, magnitude^0.3 with the phase kept
-> 6 conv layers -> transformer + attention pooling -> a score in [0, 1] per window -> mean over windows -> 1 + 4 x.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16_000
WINDOW = 122_880
"""Samples the network reads at once (7.68 s at 16 kHz), fixed by the checkpoint's transformer length."""
MAX_HOP = 16_000
"""Longer audio is read in windows whose starts are at most 1 s apart, spread evenly from start to end."""
HOP, WIN = 160, 320
"""STFT of the checkpoint: 10 ms hop, 20 ms Hann window (n_fft = 320, 161 bins)."""
COMPRESS = 0.3
"""Magnitude compression exponent of the checkpoint's input (phase kept)."""
CNN_LAYERS, CNN_CHANNELS = 6, 256
TRANSFORMER_DIM, TRANSFORMER_HEADS, TRANSFORMER_LAYERS = 200, 8, 7


class NaturalnessError(RuntimeError):
    """The judge cannot run (package or weights missing)."""


def _weights_path() -> Path:
    spec = importlib.util.find_spec("distillmos")
    if spec is None or not spec.submodule_search_locations:
        raise NaturalnessError("The naturalness judge needs the 'distillmos' package (pip install --no-deps distillmos==0.9.1).")
    p = Path(next(iter(spec.submodule_search_locations))) / "weights" / "distill_mos_v7.pt"
    if not p.is_file():
        raise NaturalnessError(f"Distill-MOS weights are missing: {p}")
    return p


def compressed_spectrogram(x: torch.Tensor) -> torch.Tensor:
    """Waveform [B, N] at 16 kHz -> [B, 2, F=161, T] real/imag parts with magnitude raised to ``COMPRESS``."""
    pad = (WIN - HOP) // 2
    x = nn.functional.pad(x[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(x, n_fft=WIN, hop_length=HOP, win_length=WIN, center=False, return_complex=True,
                      window=torch.hann_window(WIN, device=x.device))
    ri = torch.view_as_real(spec)                                   # [B, F, T, 2]
    mag = ri.pow(2).sum(-1, keepdim=True).sqrt().clamp_min(1e-12)
    return (mag**COMPRESS * ri / mag).permute(0, 3, 1, 2)


class _SpectrumCNN(nn.Module):
    """Conv front end: 3x3 kernels, frequency stride 2 after the first layer, time stride 2 in the last."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, f = 2, WIN // 2 + 1
        for i in range(CNN_LAYERS):
            c_out = min(64 * 2 ** max(i - 1, 0), CNN_CHANNELS)
            fs, ts = (2 if i >= 1 else 1), (2 if i == CNN_LAYERS - 1 else 1)
            layers += [nn.Conv2d(c_in, c_out, (3, 3), stride=(fs, ts), padding=(0, 1)), nn.LeakyReLU(0.1)]
            f = (f - 3) // fs + 1
            c_in = c_out
        self.cnn = nn.Sequential(*layers)
        self.freq_out = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Waveform [B, N] -> features [B, C * F', T']."""
        return self.cnn(compressed_spectrogram(x)).flatten(1, -2)


class DistillMOS(nn.Module):
    """The Distill-MOS v7 network. ``forward``: 16 kHz waveform [B, N] -> MOS [B] in [1, 5]."""

    def __init__(self) -> None:
        super().__init__()
        from xls_r_sqa.config import FEAT_SEQ_LEN, Config
        from xls_r_sqa.sqa_model import SingleLayerModel

        self.cnn = _SpectrumCNN()
        conf = Config("distillmos", None, feat_seq_len=FEAT_SEQ_LEN, dim_transformer=TRANSFORMER_DIM,
                      xlsr_name=None, nhead_transformer=TRANSFORMER_HEADS, nlayers_transformer=TRANSFORMER_LAYERS)
        conf.dim_input = CNN_CHANNELS * self.cnn.freq_out
        self.transformer_pool_attn = SingleLayerModel(conf)

    @classmethod
    def from_package(cls) -> DistillMOS:
        m = cls()
        state = torch.load(_weights_path(), map_location="cpu", weights_only=True)["model"]
        m.load_state_dict(state)
        return m.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n = x.shape
        over = max(0, n - WINDOW)
        if n < WINDOW:
            x = nn.functional.pad(x, (0, WINDOW - n))
        hops = int(np.ceil(over / MAX_HOP)) + 1
        starts = [int(c * over) for c in np.linspace(0, 1, hops)]
        w = torch.cat([x[:, s: s + WINDOW] for s in starts], 0)    # [hops * B, WINDOW]
        w = w / (w.abs().amax(1, keepdim=True) + 1e-8)
        q = self.transformer_pool_attn(self.cnn(w).permute(0, 2, 1))
        return 1 + 4 * q.reshape(hops, b).mean(0)


_MODEL: DistillMOS | None = None


def naturalness(x: np.ndarray, sr: int) -> float:
    """Predicted MOS (1-5) of one mono waveform ``x`` [N] at ``sr`` Hz (resampled to 16 kHz here)."""
    global _MODEL
    from emotive.evaluators.speech.audio import resample

    x = np.asarray(x, np.float32).reshape(-1)
    if sr != SAMPLE_RATE:
        x = resample(x, sr, SAMPLE_RATE)
    if _MODEL is None:
        _MODEL = DistillMOS.from_package()
    with torch.no_grad():
        return float(_MODEL(torch.from_numpy(np.ascontiguousarray(x))[None])[0])
