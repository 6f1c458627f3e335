"""``emotive convert`` (WORLD analysis -> the prosody rules -> resynthesis of any recording): intelligibility, speed,
memory and bad input.

Source speech: neutral Kokoro takes of the held-out test sentences (the engine's own voices; any recording would
do, these are reproducible offline). Each is converted to the 7 other labels at intensity 1, exactly as the command
does (``ProsodyPipeline()(audio, sr, emotion=...)``), and Whisper's WER on the converted takes is compared with its
WER on the sources. How natural and how recognisable converted speech is beside the engine itself is the side by
side of ``speech-kokoro-emotion``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from emotive.apps.bench.runner import BenchContext, BenchResult, register
from emotive.conditioning import LABELS, Emotion, EmotiveError

ROUND = 4
SPEED_SECONDS = 30.0
SPEED_SR = 22050
"""The speed probe converts a 30 s file at 22.05 kHz (a common rate of user recordings; the engine resamples)."""


@register("speech-convert", "Emotional voice conversion (`emotive convert`): intelligibility, speed, bad input",
          "speech", order=38)
def bench_speech_convert(ctx: BenchContext) -> BenchResult:
    import torch

    from emotive.apps.bench.benchmarks.speech_kokoro import _test_sentences
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    torch.set_num_threads(1)
    res = BenchResult()
    pipe = EmotionalSpeechPipeline.from_pretrained(threads=1)
    _intelligibility(res, pipe, pipe.voices[: 2 if ctx.quick else 4], _test_sentences(2 if ctx.quick else 3))
    sp = _measure_convert(pipe, SPEED_SECONDS)
    res.figures.update({"convert_rtf": round(sp["rtf_cpu"], ROUND), "convert_rtf_wall": round(sp["rtf_wall"], ROUND),
                        "convert_peak_ram_mb": round(sp["peak_mb"], 1)})
    res.target("convert_rtf", "<=", 0.3, "CPU seconds per second of audio, one thread, 30 s 22.05 kHz file")
    res.target("convert_peak_ram_mb", "<=", 1024, "peak resident memory of the converting process, 30 s file")
    res.notes.append(f"RSS includes Python, numpy, scipy, soundfile and pyworld; wall-clock RTF {sp['rtf_wall']:.3f} "
                     "(the machine's load is recorded with the section).")
    with tempfile.TemporaryDirectory() as td:
        bad = _bad_inputs(Path(td))
    res.figures["bad_inputs_clear_error"] = sum(1 for r in bad if r[1] == "clear error") / len(bad)
    res.target("bad_inputs_clear_error", ">=", 1.0, "silence, clipping, 2-hour, non-audio, 96 kHz, 4 channels")
    res.table("Bad input", ["case", "outcome", "message"], bad)
    return res


def _intelligibility(res: BenchResult, pipe, voices: list[str], sentences: list[str]) -> None:
    """Whisper WER of the neutral sources and of their conversions to the 7 other labels (intensity 1)."""
    from emotive.evaluators.speech.asr import error_rates, transcribe
    from emotive.generators.speech.prosody import ProsodyPipeline

    conv = ProsodyPipeline()
    refs_n, hyps_n, refs_c, hyps_c, rows = [], [], [], [], []
    for voice in voices:
        spk_n, spk_c = ([], []), ([], [])
        for si, text in enumerate(sentences):
            src = pipe(text, emotion="neutral", voice=voice, engine="direct")
            spk_n[0].append(text)
            spk_n[1].append(transcribe(src.waveform, src.sample_rate))
            for lab in LABELS[1:]:
                out = conv(src.waveform, src.sample_rate, emotion=Emotion.from_label(lab, 1.0), generator=si)
                spk_c[0].append(text)
                spk_c[1].append(transcribe(out.audio, out.sr))
        wn, wc = error_rates(*spk_n)[0], error_rates(*spk_c)[0]
        rows.append([voice, len(sentences), round(wn, 3), round(wc, 3), round(wc - wn, 3)])
        refs_n += spk_n[0]
        hyps_n += spk_n[1]
        refs_c += spk_c[0]
        hyps_c += spk_c[1]
    wer_n, cer_n = error_rates(refs_n, hyps_n)
    wer_c, cer_c = error_rates(refs_c, hyps_c)
    res.figures.update({"conversion_sentences_per_voice": len(sentences), "wer_neutral_original": round(wer_n, ROUND),
                        "wer_converted_intensity1": round(wer_c, ROUND), "wer_increase": round(wer_c - wer_n, ROUND),
                        "cer_neutral_original": round(cer_n, ROUND), "cer_converted_intensity1": round(cer_c, ROUND)})
    res.target("wer_increase", "<=", 0.05, "WER(converted, 7 labels, intensity 1) - WER(neutral original), absolute")
    res.table("Conversion per voice (test sentences)", ["voice", "sentences", "WER neutral", "WER converted",
                                                        "increase"], rows)


def _measure_convert(pipe, seconds: float) -> dict:
    """RTF and peak RSS of converting a ``seconds`` long 22.05 kHz speech file, in a fresh one-thread process that
    only reads the file and converts it (the source is a Kokoro take rendered here, resampled and tiled)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    src = pipe("The committee will vote on the proposal next week, and the results will be posted on the board "
               "tomorrow.", emotion="neutral", engine="direct")
    x = resample_poly(src.waveform, SPEED_SR, src.sample_rate).astype(np.float32)
    x = np.tile(x, int(np.ceil(seconds * SPEED_SR / len(x))))[: int(seconds * SPEED_SR)]
    code = """
import os, time, json, resource
os.environ['OMP_NUM_THREADS'] = '1'
import soundfile as sf
from emotive.generators.speech.prosody import ProsodyPipeline
x, sr = sf.read(os.environ['EMOTIVE_BENCH_WAV'], dtype='float32')
pipe = ProsodyPipeline()
pipe(x[:sr], sr, emotion='angry')  # warm-up (imports)
t = time.process_time(); w = time.time()
out = pipe(x, sr, emotion='angry')
cpu = time.process_time() - t; wall = time.time() - w
print(json.dumps({'cpu': cpu, 'wall': wall, 'peak_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""
    with tempfile.TemporaryDirectory() as td:
        wav = Path(td) / "source.wav"
        sf.write(wav, x, SPEED_SR)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   EMOTIVE_BENCH_WAV=str(wav))
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        raise EmotiveError(f"convert speed probe failed: {r.stderr[-500:]}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return {"rtf_cpu": d["cpu"] / seconds, "rtf_wall": d["wall"] / seconds, "peak_mb": d["peak_kb"] / 1024}


def _bad_inputs(tmp: Path) -> list[list]:
    """What ``emotive convert`` reads (``load_speech``) on six bad files: a clear error each, never a crash."""
    import soundfile as sf

    from emotive.evaluators.speech.audio import AudioInputError, load_speech

    tmp.mkdir(parents=True, exist_ok=True)
    sr = 16000
    t = np.arange(sr) / sr
    speech = (0.1 * np.sin(2 * np.pi * 140 * t)).astype(np.float32)
    cases = {}
    p = tmp / "silence.wav"
    sf.write(p, np.zeros(sr), sr)
    cases["silence"] = p
    p = tmp / "clipping.wav"
    sf.write(p, np.clip(40 * speech, -1, 1), sr)
    cases["clipping"] = p
    p = tmp / "two_hours.wav"
    with sf.SoundFile(p, "w", 8000, 1, subtype="PCM_U8") as f:
        blk = (0.1 * np.sin(np.arange(8000 * 60) / 9)).astype(np.float32)
        for _ in range(120):
            f.write(blk)
    cases["2-hour file"] = p
    p = tmp / "text.wav"
    p.write_text("definitely not audio\n" * 50)
    cases["non-audio"] = p
    p = tmp / "96k.wav"
    sf.write(p, np.tile(speech, 6), 96000)
    cases["96 kHz"] = p
    p = tmp / "4ch.wav"
    sf.write(p, np.stack([speech] * 4, 1), sr)
    cases["4 channels"] = p
    rows = []
    for name, path in cases.items():
        try:
            load_speech(path)
            rows.append([name, "accepted", "—"])
        except AudioInputError as exc:
            rows.append([name, "clear error", str(exc).split(": ", 1)[-1][:90]])
        except Exception as exc:  # a crash: counted as failure
            rows.append([name, f"CRASH {type(exc).__name__}", str(exc)[:90]])
        finally:
            path.unlink(missing_ok=True)
    return rows
