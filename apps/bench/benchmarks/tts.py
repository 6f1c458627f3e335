"""Codec and codec-LM TTS (issue 4): codec STOI/WER/emotion/bitrate/RTF on held-out sentences and a held-out
speaker; TTS intelligibility, emotion, arousal control, voice identity, speed, size, robustness.

Data: the speech corpus (``EMOTIVE_SPEECH_CORPUS``, default /work/cache/speech/corpus_small), test split.
Every figure is measured in this run; what cannot be measured (weights not shipped, evaluator missing)
is said in ``notes`` and its target is left unmeasured.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np

from emotive.apps.bench.runner import BenchContext, BenchResult, register
from emotive.conditioning import LABELS, Emotion

CORPUS = os.environ.get("EMOTIVE_SPEECH_CORPUS", "/work/cache/speech/corpus_small")


def _rows() -> list[dict]:
    from emotive.generators.speech.codec_train import load_rows

    return load_rows(CORPUS)


def _ser():
    try:
        from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

        return SpeechEmotionRecognizer.from_pretrained()
    except Exception as e:  # the recogniser ships separately (issue 3)
        return str(e)


def _ser_label(ser, x: np.ndarray, sr: int) -> tuple[str, float]:
    v = ser.evaluate(x, None, sr=sr)
    return v.label, float(v.vad[1])


def _f0_energy(x: np.ndarray, sr: int) -> tuple[float, float]:
    """Mean voiced F0 (Hz, WORLD DIO+StoneMask) and mean frame energy (dB)."""
    import pyworld

    xd = x.astype(np.float64)
    f0, t = pyworld.dio(xd, sr, frame_period=10.0)
    f0 = pyworld.stonemask(xd, f0, t, sr)
    v = f0[f0 > 0]
    fr = x[: len(x) // 160 * 160].reshape(-1, 160)
    e = 10 * np.log10(np.mean(fr**2, 1) + 1e-10)
    e = e[e > e.max() - 40]                                   # speech frames only
    return (float(np.mean(v)) if len(v) else float("nan")), float(np.mean(e))


def _speaker_features(x: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    m = librosa.feature.mfcc(y=x, sr=sr, n_mfcc=20)
    return np.concatenate([m.mean(1), m.std(1)])


class SpeakerID:
    """The bench's own voice check: MFCC mean/std -> logistic regression, trained on the corpus train split."""

    def __init__(self, rows: list[dict], max_per_voice: int = 40):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from emotive.generators.speech.codec_train import read_audio

        by: dict[str, list] = {}
        for r in rows:
            if r["split"] == "train" and len(by.setdefault(r["speaker"], [])) < max_per_voice:
                by[r["speaker"]].append(r)
        xs, ys = [], []
        for spk, rs in by.items():
            for r in rs:
                xs.append(_speaker_features(read_audio(r["wav"], 16000), 16000))
                ys.append(spk)
        self.clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(np.array(xs), ys)

    def __call__(self, x: np.ndarray, sr: int) -> str:
        return str(self.clf.predict(_speaker_features(x, sr)[None])[0])


def _bench_codec(ctx: BenchContext, res: BenchResult, rows: list[dict], ser) -> None:
    import torch
    from pystoi import stoi

    from emotive.evaluators.speech.asr import error_rates, transcribe
    from emotive.generators.speech.codec import PRETRAINED_DIR, load_codec
    from emotive.generators.speech.codec_train import HELDOUT_SPEAKER, read_audio, split_rows

    if not (PRETRAINED_DIR / "model.safetensors").is_file():
        res.notes.append("codec: no shipped weights in generators/speech/pretrained/codec; codec figures not measured.")
        return
    torch.set_num_threads(1)
    codec = load_codec()
    _, seen, unseen = split_rows(rows, HELDOUT_SPEAKER)
    n = 6 if ctx.quick else 24
    rng = np.random.default_rng(ctx.seed)
    table = []
    for name, group in (("held-out sentences", seen), (f"held-out speaker ({HELDOUT_SPEAKER})", unseen)):
        pick = [group[i] for i in rng.permutation(len(group))[:n]]
        if not pick:
            res.notes.append(f"codec: no test rows for {name} in {CORPUS}.")
            continue
        st, refs, h_orig, h_codec, e_orig, e_codec, t_proc, t_audio = [], [], [], [], [], [], 0.0, 0.0
        for r in pick:
            x = read_audio(r["wav"], 16000)
            t0 = time.perf_counter()
            y = codec.resynthesize(x, 16000)
            t_proc += time.perf_counter() - t0
            t_audio += len(x) / 16000
            st.append(stoi(x, y[: len(x)], 16000))
            refs.append(r["text"])
            h_orig.append(transcribe(x, 16000))
            h_codec.append(transcribe(y, 16000))
            if not isinstance(ser, str):
                tgt = Emotion.from_dict(r["emotion"]).label
                e_orig.append(_ser_label(ser, x, 16000)[0] == tgt)
                e_codec.append(_ser_label(ser, y, 16000)[0] == tgt)
        key = "seen" if name.startswith("held-out sentences") else "unseen"
        w0, _ = error_rates(refs, h_orig)
        w1, _ = error_rates(refs, h_codec)
        res.figures[f"codec_stoi_{key}"] = float(np.mean(st))
        res.figures[f"codec_wer_orig_{key}"] = w0
        res.figures[f"codec_wer_{key}"] = w1
        res.figures[f"codec_wer_delta_{key}"] = w1 - w0
        res.figures[f"codec_rtf_{key}"] = t_proc / t_audio
        row = [name, len(pick), f"{np.mean(st):.3f}", f"{w0:.1%}", f"{w1:.1%}"]
        if e_orig:
            a0, a1 = float(np.mean(e_orig)), float(np.mean(e_codec))
            res.figures[f"codec_emotion_acc_orig_{key}"] = a0
            res.figures[f"codec_emotion_acc_{key}"] = a1
            res.figures[f"codec_emotion_ratio_{key}"] = a1 / a0 if a0 > 0 else float("nan")
            row += [f"{a0:.1%}", f"{a1:.1%}"]
        else:
            row += ["-", "-"]
        row.append(f"{t_proc / t_audio:.3f}")
        table.append(row)
    res.figures["codec_kbps"] = getattr(codec, "bitrate", codec.info.bitrate) / 1000   # WORLD codec: bits actually used
    res.figures["codec_params_M"] = codec.num_parameters() / 1e6
    res.figures["codec_size_MB"] = (PRETRAINED_DIR / "model.safetensors").stat().st_size / 1e6
    res.table("Codec resynthesis (16 kHz, 50 Hz, one core)", ["set", "clips", "STOI", "WER orig", "WER codec",
              "emotion acc orig", "emotion acc codec", "RTF enc+dec"], table)
    for key in ("seen", "unseen"):
        if f"codec_stoi_{key}" in res.figures:
            res.target(f"codec_stoi_{key}", ">=", 0.85, f"STOI of codec resynthesis ({key} speakers)")
            res.target(f"codec_wer_delta_{key}", "<=", 0.03, "WER(codec) - WER(original), absolute")
            if f"codec_emotion_ratio_{key}" in res.figures:
                res.target(f"codec_emotion_ratio_{key}", ">=", 0.95, "emotion accuracy resynth / original")
            res.target(f"codec_rtf_{key}", "<=", 0.1, "encode+decode real-time factor, one core")
    res.target("codec_kbps", "<=", 6.0, "bitrate")
    if isinstance(ser, str):
        res.notes.append(f"codec emotion accuracy not measured: speech emotion recogniser unavailable ({ser[:120]}).")


def _bench_tts(ctx: BenchContext, res: BenchResult, rows: list[dict], ser) -> None:
    import torch
    from scipy.stats import spearmanr

    from emotive.evaluators.speech.asr import error_rates, transcribe
    from emotive.generators.speech.codec_train import read_audio
    from emotive.generators.speech.lm import PRETRAINED_DIR as LM_DIR
    from emotive.generators.speech.tts import EmotionalSpeechPipeline, SpeechInputError

    if not (LM_DIR / "model.safetensors").is_file():
        res.notes.append("TTS: the codec LM is not shipped (generators/speech/pretrained/lm); TTS targets "
                         "(WER, emotion, arousal control, voice ID, RTF, RAM) not measured.")
        return
    torch.set_num_threads(1)
    pipe = EmotionalSpeechPipeline.from_pretrained()
    test = [r for r in rows if r["split"] == "test"]
    sents = sorted({r["sentence_id"]: r["text"] for r in test}.items())
    rng = np.random.default_rng(ctx.seed)
    sents = [sents[i] for i in rng.permutation(len(sents))[: (3 if ctx.quick else 12)]]
    voices = pipe.voices
    spk = SpeakerID(rows)
    gen_rows = []
    refs, hyps = [], []
    t_proc = t_audio = 0.0
    for i, (_, text) in enumerate(sents):
        for j, label in enumerate(LABELS if not ctx.quick else LABELS[::2]):
            voice = voices[(i + j) % len(voices)]
            t0 = time.perf_counter()
            out = pipe(text, emotion=Emotion.from_label(label, 1.0), voice=voice,
                       generator=torch.Generator().manual_seed(ctx.seed + 100 * i + j))
            t_proc += time.perf_counter() - t0
            t_audio += out.duration
            refs.append(text)
            hyps.append(transcribe(out.waveform, out.sample_rate))
            rec = {"label": label, "voice": voice, "voice_pred": spk(out.waveform, out.sample_rate)}
            if not isinstance(ser, str):
                lab, ar = _ser_label(ser, out.waveform, out.sample_rate)
                rec.update(pred=lab, arousal=ar, want_arousal=Emotion.from_label(label, 1.0).arousal)
            gen_rows.append(rec)
    wer, _ = error_rates(refs, hyps)
    # the corpus's own WER on the same sentences (the prosody-engine teacher, same voices)
    # ... and the same clips through the codec alone (encode + decode): the ceiling of any LM on this codec
    crefs, chyps, c_emo, rhyps, cvoices = [], [], [], [], []
    texts = {t for _, t in sents}
    for r in [r for r in test if r["text"] in texts][: (8 if ctx.quick else 48)]:
        x = read_audio(r["wav"], 16000)
        crefs.append(r["text"])
        cvoices.append(r["speaker"])
        chyps.append(transcribe(x, 16000))
        rhyps.append(transcribe(pipe.codec.resynthesize(x, 16000), pipe.sample_rate))
        if not isinstance(ser, str):
            c_emo.append(_ser_label(ser, x, 16000)[0] == Emotion.from_dict(r["emotion"]).label)
    cwer, _ = error_rates(crefs, chyps)
    rwer, _ = error_rates(crefs, rhyps)
    res.figures["corpus_codec_wer"] = rwer
    res.figures.update({"tts_wer": wer, "corpus_wer": cwer, "tts_wer_ratio": wer / max(cwer, 1e-3),
                        "tts_rtf": t_proc / max(t_audio, 1e-6), "tts_n": len(gen_rows),
                        "voice_id_acc": float(np.mean([g["voice"] == g["voice_pred"] for g in gen_rows]))})
    res.target("tts_wer", "<=", 0.15, "Whisper tiny.en WER of generated speech (absolute)")
    res.target("tts_wer_ratio", "<=", 1.5, "generated WER / corpus WER on the same sentences")
    res.target("voice_id_acc", ">=", 0.9, "speaker-ID (MFCC stats + logistic regression) names the requested voice")
    if not isinstance(ser, str):
        res.figures["tts_emotion_acc"] = float(np.mean([g["pred"] == g["label"] for g in gen_rows]))
        sgn = [np.sign(g["arousal"]) == np.sign(g["want_arousal"]) for g in gen_rows if abs(g["want_arousal"]) > 0.05]
        res.figures["tts_arousal_sign_acc"] = float(np.mean(sgn)) if sgn else float("nan")
        res.figures["corpus_emotion_acc"] = float(np.mean(c_emo)) if c_emo else float("nan")
        res.target("tts_emotion_acc", ">=", 0.8, "recogniser finds the requested label (8-class)")
        res.target("tts_arousal_sign_acc", ">=", 0.9, "requested arousal sign recognised")
    else:
        res.notes.append(f"TTS emotion accuracy not measured: recogniser unavailable ({ser[:120]}).")
    res.table("Codec-LM vs the corpus teacher (prosody engine on the plain voices), same test sentences",
              ["system", "WER", "emotion acc"],
              [["codec-LM", f"{wer:.1%}", f"{res.figures.get('tts_emotion_acc', float('nan')):.1%}"],
               ["corpus (prosody engine)", f"{cwer:.1%}", f"{res.figures.get('corpus_emotion_acc', float('nan')):.1%}"],
               ["corpus through the codec (encode + decode, no LM)", f"{rwer:.1%}", "-"]])
    def wer_of(rs: list[str], hs: list[str], ks: list[int]) -> str:
        return f"{error_rates([rs[k] for k in ks], [hs[k] for k in ks])[0]:.1%}" if ks else "-"

    by_voice = []
    for v in voices:
        g = [k for k, rec in enumerate(gen_rows) if rec["voice"] == v]
        c = [k for k, cv in enumerate(cvoices) if cv == v]
        by_voice.append([v, len(g), wer_of(refs, hyps, g), len(c), wer_of(crefs, chyps, c), wer_of(crefs, rhyps, c)])
    res.table("WER per voice (Whisper tiny.en)", ["voice", "generated", "codec-LM", "corpus clips", "corpus",
                                                   "corpus through the codec"], by_voice)
    # continuous control: 5 arousal levels -> mean F0 and energy must rise (Spearman)
    levels = np.linspace(-0.8, 0.8, 5)
    rf, re_ = [], []
    for i, (_, text) in enumerate(sents[: (2 if ctx.quick else 6)]):
        f0s, ens = [], []
        for a in levels:
            out = pipe(text, emotion=Emotion.from_vad(0.0, float(a), 0.0), voice="slt",
                       generator=torch.Generator().manual_seed(ctx.seed + i))
            f, e = _f0_energy(out.waveform, out.sample_rate)
            f0s.append(f)
            ens.append(e)
        rf.append(spearmanr(levels, f0s).statistic)
        re_.append(spearmanr(levels, ens).statistic)
    res.figures["arousal_f0_spearman"] = float(np.nanmean(rf))
    res.figures["arousal_energy_spearman"] = float(np.nanmean(re_))
    res.target("arousal_f0_spearman", ">=", 0.9, "5 arousal steps -> mean F0 rises")
    res.target("arousal_energy_spearman", ">=", 0.9, "5 arousal steps -> energy rises")
    # intensity 0 ~ neutral: how much of the (label at intensity 1) - neutral F0 gap is left at intensity 0
    gaps = []
    for i, (_, text) in enumerate(sents[: (2 if ctx.quick else 4)]):
        g = torch.Generator
        f_neu = _f0_energy(pipe(text, emotion="neutral", voice="slt", generator=g().manual_seed(i)).waveform, 16000)[0]
        for label in ("angry", "sad", "surprised"):
            f_full = _f0_energy(pipe(text, emotion=Emotion.from_label(label, 1.0), voice="slt",
                                     generator=g().manual_seed(i)).waveform, 16000)[0]
            f_zero = _f0_energy(pipe(text, emotion=Emotion.from_label(label, 0.0), voice="slt",
                                     generator=g().manual_seed(i)).waveform, 16000)[0]
            if abs(f_full - f_neu) > 1.0:
                gaps.append(abs(f_zero - f_neu) / abs(f_full - f_neu))
    res.figures["intensity0_f0_gap_left"] = float(np.median(gaps)) if gaps else float("nan")
    res.target("intensity0_f0_gap_left", "<=", 0.25, "intensity 0 ~ neutral: median share of the label's F0 "
               "shift (vs neutral) left at intensity 0 (angry, sad, surprised)")
    # speed, first audio, memory, size
    text10 = "Please remember to bring your umbrella when you leave today."
    t0 = time.perf_counter()
    out = pipe(text10, emotion="happy", voice="slt", generator=torch.Generator().manual_seed(0))
    dt = time.perf_counter() - t0
    res.figures["rtf_10_words_1core"] = dt / out.duration
    res.figures["first_audio_s"] = dt           # sentence-level streaming: the first sentence is the first audio
    res.figures["peak_ram_GB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    lm_mb = (LM_DIR / "model.safetensors").stat().st_size / 1e6
    res.figures["lm_size_MB"] = lm_mb
    res.target("rtf_10_words_1core", "<=", 1.0, "real-time factor, 10-word sentence, one core")
    res.target("first_audio_s", "<=", 1.0, "time to first audio (one sentence)")
    res.target("peak_ram_GB", "<=", 2.0, "peak resident memory of the bench process")
    res.target("lm_size_MB", "<=", 25.0, "LM weights")
    # robustness: every case ends with audio or a clear error
    cases = {"empty": "", "emoji": "🙂🎉", "numbers": "Call 555-0199 at 10:30 on 12/05/2024.",
             "unknown chars": "Ünïcödé ©®™ ∑∂ text.", "5000 chars": ("Hello there, how are you today? " * 160)[:5000]}
    rob = []
    for name, text in cases.items():
        t0 = time.perf_counter()
        try:
            o = pipe(text, generator=torch.Generator().manual_seed(0))
            rob.append([name, f"{o.duration:.1f} s audio", f"{time.perf_counter() - t0:.1f} s"])
        except SpeechInputError as e:
            rob.append([name, f"error: {e}", f"{time.perf_counter() - t0:.1f} s"])
    try:
        pipe("Hello.", voice="nobody")
        rob.append(["unknown voice", "accepted", "-"])
    except SpeechInputError as e:
        rob.append(["unknown voice", f"error: {e}", "-"])
    res.table("Robustness", ["input", "result", "time"], rob)


@register("tts", "Codec and codec-LM emotional TTS", "speech", order=40)
def bench_tts(ctx: BenchContext) -> BenchResult:
    res = BenchResult()
    if not Path(CORPUS).exists():
        res.notes.append(f"No speech corpus at {CORPUS} (set EMOTIVE_SPEECH_CORPUS; build with `emotive corpus speech`).")
        return res
    rows = _rows()
    ser = _ser()
    _bench_codec(ctx, res, rows, ser)
    _bench_tts(ctx, res, rows, ser)
    return res
