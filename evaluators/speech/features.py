"""Utterance-level prosodic and spectral statistics for the speech emotion recogniser.

``utterance_features(x, sr) -> [D]`` float32 (names in ``FEATURE_NAMES``):
F0 statistics in semitones re 100 Hz (DIO + StoneMask, 10 ms), F0 dynamics
(slope, final movement, local variability, jitter, 4-7 Hz tremor energy), level
statistics (dB), timing (speech rate proxy, pause share and length), spectral
balance (tilt, band energies, centroid, flatness), aperiodicity per band
(D4C, breathiness) and 13 MFCC means/stds. These are the cue families of
Juslin & Laukka (2003, Table 7) and the eGeMAPS set (Eyben et al. 2016), computed
with our own code. Everything runs at 16 kHz (inputs are resampled).
"""

from __future__ import annotations

import numpy as np

from emotive.evaluators.speech.audio import resample

SR = 16000
HOP = 160  # 10 ms
N_FFT = 512
_BANDS = ((0, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 8000))

FEATURE_NAMES: tuple[str, ...] = tuple(
    ["f0_mean", "f0_std", "f0_p5", "f0_p50", "f0_p95", "f0_range", "f0_slope", "f0_final", "f0_final_slope",
     "f0_delta", "f0_jitter", "f0_tremor", "f0_skew", "f0_up", "f0_down", "f0_halves", "voiced_frac",
     "level_mean", "level_std", "level_p95", "level_range", "level_slope",
     "rate", "pause_frac", "pause_mean", "duration", "voiced_run_mean",
     "tilt", "centroid", "flatness", "hf_ratio_1k", "hf_ratio_4k"]
    + [f"band_{a}_{b}" for a, b in _BANDS]
    + [f"ap_{a}_{b}" for a, b in _BANDS]
    + [f"mfcc{i}_mean" for i in range(13)]
    + [f"mfcc{i}_std" for i in range(13)]
)
DIM = len(FEATURE_NAMES)


def _mfcc_basis(n_mels: int = 40) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    mel = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=n_mels, fmin=60, fmax=7600)
    dct = np.cos(np.pi / n_mels * (np.arange(n_mels)[None, :] + 0.5) * np.arange(13)[:, None])
    return mel.astype(np.float64), dct


_BASIS: tuple[np.ndarray, np.ndarray] | None = None


def utterance_features(x: np.ndarray, sr: int) -> np.ndarray:
    """Waveform [T] at ``sr`` -> feature vector [DIM] (float32). Input must already be validated."""
    import pyworld as pw

    global _BASIS
    if _BASIS is None:
        _BASIS = _mfcc_basis()
    mel_fb, dct = _BASIS
    y = resample(np.asarray(x, dtype=np.float32), sr, SR).astype(np.float64)
    dur = len(y) / SR
    f0, t = pw.dio(y, SR, f0_floor=60.0, f0_ceil=700.0, frame_period=10.0)
    f0 = pw.stonemask(y, f0, t, SR)
    # power spectrogram, 10 ms hop
    pad = np.pad(y, (N_FFT // 2, N_FFT // 2))
    n = 1 + (len(pad) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    frames = pad[idx] * np.hanning(N_FFT)[None, :]
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-12  # [n, 257]
    m = min(n, len(f0))
    spec, f0 = spec[:m], f0[:m]
    freqs = np.fft.rfftfreq(N_FFT, 1 / SR)
    level = 10 * np.log10(spec.sum(axis=1) / N_FFT)
    active = level > level.max() - 35
    voiced = f0 > 0
    vt = np.arange(m) * 0.01

    def st(v: np.ndarray) -> np.ndarray:
        return 12 * np.log2(np.maximum(v, 1.0) / 100.0)

    feats: list[float] = []
    if voiced.sum() >= 5:
        s = st(f0[voiced])
        tv = vt[voiced]
        mu = s.mean()
        slope = np.polyfit(tv - tv.mean(), s, 1)[0] if np.ptp(tv) > 0 else 0.0
        last = tv >= tv[-1] - 0.4
        final = float(s[last].mean() - mu)
        fs = np.polyfit(tv[last] - tv[last].mean(), s[last], 1)[0] if last.sum() >= 3 and np.ptp(tv[last]) > 0 else 0.0
        # local dynamics within voiced runs
        sv = st(np.where(voiced, f0, 1.0))
        both = voiced[1:] & voiced[:-1]
        d1 = np.diff(sv)[both]
        trip = voiced[2:] & voiced[1:-1] & voiced[:-2]
        d2 = (sv[2:] - 2 * sv[1:-1] + sv[:-2])[trip]
        # tremor: 4-7 Hz share of the detrended voiced contour (interpolated over gaps)
        contour = np.interp(vt, tv, s)
        contour = contour - np.convolve(contour, np.ones(25) / 25, mode="same")
        pspec = np.abs(np.fft.rfft(contour * np.hanning(len(contour)))) ** 2
        pf = np.fft.rfftfreq(len(contour), 0.01)
        trem = float(pspec[(pf >= 4) & (pf <= 7)].sum() / (pspec[(pf >= 1) & (pf <= 15)].sum() + 1e-9))
        sd = s.std() + 1e-6
        feats += [mu, s.std(), np.percentile(s, 5), np.median(s), np.percentile(s, 95),
                  np.percentile(s, 95) - np.percentile(s, 5), slope, final, fs,
                  np.abs(d1).mean() if d1.size else 0.0, np.abs(d2).mean() if d2.size else 0.0, trem,
                  float(((s - mu) ** 3).mean() / sd**3),
                  np.percentile(s, 95) - np.median(s), np.median(s) - np.percentile(s, 5),  # accent peaks vs dips
                  float(s[tv >= np.median(tv)].mean() - s[tv < np.median(tv)].mean()),  # second half - first half
                  voiced.mean()]
    else:
        feats += [0.0] * 16 + [float(voiced.mean())]
    la = level[active]
    ta = vt[active]
    lslope = np.polyfit(ta - ta.mean(), la, 1)[0] if len(la) > 2 and np.ptp(ta) > 0 else 0.0
    feats += [la.mean(), la.std(), np.percentile(la, 95), np.percentile(la, 95) - np.percentile(la, 10), lslope]
    # timing: syllable-like peaks of the smoothed level envelope per second of active speech
    env = np.convolve(level, np.ones(5) / 5, mode="same")
    peaks = (env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > level.max() - 20)
    speech_time = max(active.sum() * 0.01, 0.1)
    quiet = ~active
    runs, cur = [], 0
    for q in quiet:
        if q:
            cur += 1
        elif cur:
            runs.append(cur)
            cur = 0
    pauses = [r for r in runs if r >= 8]
    vr, cur = [], 0
    for v in voiced:
        if v:
            cur += 1
        elif cur:
            vr.append(cur)
            cur = 0
    feats += [peaks.sum() / speech_time, sum(pauses) * 0.01 / dur, (np.mean(pauses) * 0.01 if pauses else 0.0), dur,
              (np.mean(vr) * 0.01 if vr else 0.0)]
    # spectral balance over active frames
    sa = spec[active]
    ps = sa.mean(axis=0)
    sel = (freqs >= 100) & (freqs <= 7000)
    tilt = np.polyfit(np.log2(freqs[sel]), 10 * np.log10(ps[sel]), 1)[0]
    centroid = float((sa * freqs).sum(axis=1).mean() / sa.sum(axis=1).mean())
    flat = float(np.mean(np.exp(np.log(sa[:, sel]).mean(axis=1)) / sa[:, sel].mean(axis=1)))
    tot = ps.sum()
    feats += [tilt, centroid / 1000.0, flat, ps[freqs >= 1000].sum() / tot, ps[freqs >= 4000].sum() / tot]
    feats += [10 * np.log10(ps[(freqs >= a) & (freqs < b)].sum() / tot + 1e-12) for a, b in _BANDS]
    # aperiodicity (D4C) per band over voiced frames
    if voiced.sum() >= 5:
        ap = pw.d4c(y, f0.astype(np.float64), t[:m], SR)
        af = np.linspace(0, SR / 2, ap.shape[1])
        apv = ap[voiced]
        feats += [float(apv[:, (af >= a) & (af < b)].mean()) for a, b in _BANDS]
    else:
        feats += [1.0] * len(_BANDS)
    logmel = np.log(sa @ mel_fb.T + 1e-10)
    mf = logmel @ dct.T
    feats += list(mf.mean(axis=0)) + list(mf.std(axis=0))
    out = np.asarray(feats, dtype=np.float32)
    out[~np.isfinite(out)] = 0.0
    return out


def f0_contour(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Voiced F0 contour as in :func:`utterance_features`: times [V] (s) and F0 [V] in semitones re 100 Hz."""
    import pyworld as pw

    y = resample(np.asarray(x, dtype=np.float32), sr, SR).astype(np.float64)
    f0, t = pw.dio(y, SR, f0_floor=60.0, f0_ceil=700.0, frame_period=10.0)
    f0 = pw.stonemask(y, f0, t, SR)
    v = f0 > 0
    return t[v], 12 * np.log2(f0[v] / 100.0)


def f0_span(x: np.ndarray, sr: int, lo: float = 20.0, hi: float = 80.0) -> float:
    """F0 span (semitones) around the utterance's own declination line: the ``lo``-``hi`` percentile range
    of the voiced contour after removing its least-squares linear trend.

    Why this measure of "pitch range": eGeMAPS (Eyben et al. 2016) reports F0 range as the 20-80
    percentile range of the semitone contour, which is robust to octave errors and jitter at the
    extremes; and the size of pitch excursions is measured relative to the declination line
    ('t Hart, Collier & Cohen 1990, *A perceptual study of intonation*, ch. 5; Ladd 2008, *Intonational
    Phonology*, "pitch span"), so that declination — a separate cue ("falling contours") — does not
    count as a wider range. NaN when fewer than 5 voiced frames.
    """
    t, s = f0_contour(x, sr)
    if len(s) < 5 or np.ptp(t) <= 0:
        return float("nan")
    res = s - np.polyval(np.polyfit(t, s, 1), t)
    return float(np.percentile(res, hi) - np.percentile(res, lo))
