"""Speech: corpus prosody vs literature, conversion WER, recogniser on converted speech, convert speed/RAM.

Data: the corpus at ``$EMOTIVE_SPEECH_CORPUS`` (default ``/work/cache/speech/corpus_small``), built by
``emotive corpus speech --size small``. Conversion experiments render the corpus *test* sentences with
each voice (neutral), convert them to every label at intensity 1 and judge them with recognisers that
never trained on that voice (leave-one-speaker-out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from emotive.apps.bench.runner import BenchContext, BenchResult, register
from emotive.conditioning import LABELS, Emotion, EmotiveError

CORPUS = Path(os.environ.get("EMOTIVE_SPEECH_CORPUS", "/work/cache/speech/corpus_small"))
CACHE = Path(os.environ.get("EMOTIVE_SPEECH_CACHE", "/work/cache/speech/feature_cache"))

# Expected direction of each cue vs the same speaker's neutral utterances, from the literature
# (Murray & Arnott 1993 Table I; Juslin & Laukka 2003 Table 7). +1 higher, -1 lower.
EXPECTED: dict[str, dict[str, int]] = {
    "angry": {"f0_mean": +1, "level_mean": +1, "hf_ratio_1k": +1},
    "happy": {"f0_mean": +1, "level_mean": +1, "f0_span": +1},
    "fearful": {"f0_mean": +1, "rate": +1},
    "surprised": {"f0_mean": +1, "level_mean": +1, "f0_span": +1},
    "sad": {"f0_mean": -1, "f0_span": -1, "rate": -1, "level_mean": -1},
    "calm": {"rate": -1, "level_mean": -1},
    "disgusted": {"f0_mean": -1, "rate": -1},
}
# "F0 range" is scored as the span around the declination line (features.f0_span: 20-80 percentile range of
# the detrended semitone contour, eGeMAPS-style; see its docstring for the literature). The raw p95-p5 range of
# the whole contour, which also grows with declination and final falls, is shown next to it but not scored.
CUE_NAMES = {"f0_mean": "F0 mean (st)", "f0_span": "F0 range (span, st)", "level_mean": "level (dB)",
             "hf_ratio_1k": "energy >1 kHz (share)", "rate": "phones/s"}


def _phone_rate(row: dict) -> float:
    speech = [p for p in row["phones"] if p["phone"] != "pau"]
    t = sum(p["end"] - p["start"] for p in speech)
    return len(speech) / max(t, 1e-3)


def _prosody_table(res: BenchResult, rows: list[dict], data) -> None:
    import soundfile as sf

    from emotive.evaluators.speech.features import FEATURE_NAMES, f0_span

    fi = {n: FEATURE_NAMES.index(n) for n in ("f0_mean", "f0_range", "level_mean", "hf_ratio_1k")}
    idx = {r["id"]: i for i, r in enumerate(rows)}
    span: dict[str, float] = {}
    for r in rows:
        if r["emotion"]["source"] == "label" and r["emotion"]["label"] in ("neutral", "happy", "surprised", "sad"):
            x, sr = sf.read(r["wav"], dtype="float32", always_2d=True)
            span[r["id"]] = f0_span(x.mean(axis=1), sr)
    table, ok, total = [], 0, 0
    speakers = sorted({r["speaker"] for r in rows})
    for spk in speakers:
        mine = [r for r in rows if r["speaker"] == spk and r["emotion"]["source"] == "label"]

        def cue(rs: list[dict], name: str) -> float:
            if name == "rate":
                return float(np.mean([_phone_rate(r) for r in rs]))
            if name == "f0_span":
                return float(np.nanmean([span[r["id"]] for r in rs]))
            return float(np.mean([data.feats[idx[r["id"]], fi[name]] for r in rs]))

        neu = [r for r in mine if r["emotion"]["label"] == "neutral"]
        if not neu:
            continue
        for lab, cues in EXPECTED.items():
            rs = [r for r in mine if r["emotion"]["label"] == lab]
            if not rs:
                continue
            cells = []
            for name, sign in cues.items():
                d = cue(rs, name) - cue(neu, name)
                good = np.sign(d) == sign
                ok += int(good)
                total += 1
                cells.append(f"{CUE_NAMES[name]} {d:+.2f} {'ok' if good else 'WRONG'}")
            info = f"{cue(rs, 'f0_range') - cue(neu, 'f0_range'):+.2f}" if "f0_span" in cues else ""
            table.append([spk, lab, len(rs), "; ".join(cells), info])
    res.figures["prosody_direction_agreement"] = ok / max(1, total)
    res.figures["prosody_direction_checks"] = total
    res.table("Corpus prosody vs neutral, per speaker and label (expected directions from Murray & Arnott 1993, "
              "Juslin & Laukka 2003)", ["speaker", "label", "n", "cue change vs neutral",
                                        "global F0 range p95-p5 incl. declination (not scored)"], table)
    res.target("prosody_direction_agreement", ">=", 1.0, "every cue moves the way the literature says, every speaker")


def _measure_convert(seconds: float = 30.0) -> dict:
    """RTF and peak RSS of converting a 30 s 22.05 kHz speech file, in a fresh one-thread process."""
    code = f"""
import os, time, json, resource
os.environ['OMP_NUM_THREADS'] = '1'
import numpy as np
from emotive.generators.speech.voices import render
from emotive.generators.speech.prosody import ProsodyPipeline
r = render('rms', ['The committee will vote on the proposal next week, and the results will be posted on the board tomorrow.'], sr=22050)[0]
x = np.tile(r.audio, int(np.ceil({seconds} * 22050 / len(r.audio))))[: int({seconds} * 22050)]
pipe = ProsodyPipeline()
pipe(x[:22050], 22050, emotion='angry')  # warm-up (imports)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.process_time(); w = time.time()
out = pipe(x, 22050, emotion='angry')
cpu = time.process_time() - t; wall = time.time() - w
print(json.dumps({{'cpu': cpu, 'wall': wall, 'peak_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'base_kb': base}}))
"""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        raise EmotiveError(f"convert speed probe failed: {r.stderr[-500:]}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return {"rtf_cpu": d["cpu"] / seconds, "rtf_wall": d["wall"] / seconds, "peak_mb": d["peak_kb"] / 1024}


def _bad_inputs(tmp: Path) -> list[list]:
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


@register("speech", "Emotional speech: corpus, prosody engine, recogniser, intelligibility", "speech", order=30)
def bench_speech(ctx: BenchContext) -> BenchResult:
    import torch

    from emotive.evaluators.speech.asr import error_rates, transcribe
    from emotive.evaluators.speech.dataset import loso, manifest_features, read_rows
    from emotive.evaluators.speech.features import utterance_features
    from emotive.evaluators.speech.ser import SERConfig, predict, train_ser
    from emotive.generators.speech.corpus import TARGET_RMS_DB, _normalise
    from emotive.generators.speech.prosody import ProsodyParams, apply_prosody
    from emotive.generators.speech.voices import render

    torch.set_num_threads(1)
    res = BenchResult()
    rows = read_rows(CORPUS)
    data = manifest_features(CORPUS / "manifest.jsonl", CACHE, progress=False)
    res.figures["corpus"] = str(CORPUS)
    res.figures["corpus_utterances"] = len(rows)
    res.figures["corpus_hours"] = round(sum(r["duration"] for r in rows) / 3600, 3)

    # 1. prosody vs literature
    _prosody_table(res, rows, data)

    # 2. recogniser, leave-one-speaker-out on the corpus test sentences
    cfg = SERConfig()
    lo = loso(data, cfg)
    res.figures.update({"ser_loso_accuracy": lo["accuracy"], "ser_loso_arousal_ccc": lo["arousal_ccc"],
                        "ser_loso_valence_ccc": lo["valence_ccc"], "ser_loso_n": lo["n"]})
    res.target("ser_loso_accuracy", ">=", 0.85, "8-class accuracy, held-out voice, test sentences")
    res.target("ser_loso_arousal_ccc", ">=", 0.8, "arousal CCC, LOSO")
    res.target("ser_loso_valence_ccc", ">=", 0.6, "valence CCC, LOSO")
    res.table("Recogniser LOSO per held-out speaker", ["speaker", "n", "accuracy", "arousal CCC", "valence CCC"],
              [[s, m["n"], m["accuracy"], m["arousal_ccc"], m["valence_ccc"]] for s, m in lo["per_speaker"].items()])

    # 3. conversion: WER and recogniser on converted held-out-speaker speech
    n_sent = 2 if ctx.quick else 5
    test_sents = sorted({(r["sentence_id"], r["text"]) for r in rows if r["split"] == "test" and "sentence_id" in r})
    ref_sents = sorted({(r["sentence_id"], r["text"]) for r in rows if r["split"] == "val" and "sentence_id" in r})
    rng = np.random.default_rng(ctx.seed)
    speakers = sorted({r["speaker"] for r in rows})
    spk_arr = np.asarray(data.speakers)
    split_arr = np.asarray(data.splits)
    y_true, y_pred, wer_rows = [], [], []
    refs_neu, hyps_neu, refs_conv, hyps_conv = [], [], [], []
    per_label_hits = {lab: [0, 0] for lab in LABELS}
    for spk in speakers:
        pick = [test_sents[i] for i in rng.choice(len(test_sents), size=min(n_sent, len(test_sents)), replace=False)]
        srcs = render(spk, [t for _, t in pick], 16000)
        tr = data.subset((spk_arr != spk) & (split_arr != "test"))
        model = train_ser(tr.feats, tr.labels, tr.vads, tr.speakers, cfg)
        feats, labs = [], []
        spk_ref, spk_hyp, spk_ref_n, spk_hyp_n = [], [], [], []
        for (_sid, text), src in zip(pick, srcs):
            x = _normalise(src.audio, src.phones, 16000)
            spk_ref_n.append(text)
            spk_hyp_n.append(transcribe(x, 16000))
            pauses = [(p["start"], p["end"]) for p in src.phones if p["phone"] == "pau"]
            for li, lab in enumerate(LABELS):
                params = ProsodyParams.from_emotion(Emotion.from_label(lab, 1.0))
                y, _ = apply_prosody(x, 16000, params, np.random.default_rng(li), pauses_s=pauses, analysis_sr=None,
                                     resynthesize_identity=True)
                feats.append(utterance_features(y, 16000))
                labs.append(li)
                if lab != "neutral":
                    spk_ref.append(text)
                    spk_hyp.append(transcribe(y, 16000))
        # speaker reference: neutral (vocoded) renderings of *other* sentences (val split) by the same voice
        ref_src = render(spk, [t for _, t in ref_sents[:4]], 16000)
        ref_feats = []
        for src in ref_src:
            x = _normalise(src.audio, src.phones, 16000)
            pauses = [(p["start"], p["end"]) for p in src.phones if p["phone"] == "pau"]
            y, _ = apply_prosody(x, 16000, ProsodyParams(), np.random.default_rng(0), pauses_s=pauses, analysis_sr=None,
                                 resynthesize_identity=True)
            ref_feats.append(utterance_features(y, 16000))
        f = np.stack(feats)
        probs, _ = predict(model, f, np.mean(ref_feats, axis=0))
        pred = probs.argmax(1)
        y_true += labs
        y_pred += list(pred)
        for a, b in zip(labs, pred):
            per_label_hits[LABELS[a]][0] += int(a == b)
            per_label_hits[LABELS[a]][1] += 1
        wn, _ = error_rates(spk_ref_n, spk_hyp_n)
        wc, _ = error_rates(spk_ref, spk_hyp)
        wer_rows.append([spk, len(pick), wn, wc, wc - wn, float(np.mean(pred == np.array(labs)))])
        refs_neu += spk_ref_n
        hyps_neu += spk_hyp_n
        refs_conv += spk_ref
        hyps_conv += spk_hyp
    wer_n, cer_n = error_rates(refs_neu, hyps_neu)
    wer_c, cer_c = error_rates(refs_conv, hyps_conv)
    acc_conv = float(np.mean(np.array(y_true) == np.array(y_pred)))
    res.figures.update({"wer_neutral_original": wer_n, "wer_converted_intensity1": wer_c, "wer_increase": wer_c - wer_n,
                        "cer_neutral_original": cer_n, "cer_converted_intensity1": cer_c,
                        "ser_accuracy_converted_heldout": acc_conv, "conversion_sentences_per_speaker": n_sent})
    res.target("wer_increase", "<=", 0.05, "WER(converted, 7 labels, intensity 1) - WER(neutral original), absolute")
    res.target("ser_accuracy_converted_heldout", ">=", 0.85, "recogniser finds the requested label in converted held-out-voice speech")
    res.table("Conversion per speaker (test sentences)", ["speaker", "sentences", "WER neutral", "WER converted", "increase",
                                                          "SER accuracy (8 labels)"], wer_rows)
    res.table("Recogniser on converted speech, per label", ["label", "accuracy", "n"],
              [[lab, h / max(1, n), n] for lab, (h, n) in per_label_hits.items()])
    conf = np.zeros((8, 8), dtype=int)
    for a, b in zip(y_true, y_pred):
        conf[a, b] += 1
    _confusion_png(conf, ctx.plot_path("speech_confusion_converted.png"), "SER on converted held-out-voice speech")
    _confusion_png(np.array(lo["confusion"]), ctx.plot_path("speech_confusion_loso.png"), "SER LOSO on corpus test sentences")
    res.plots += ["speech_confusion_converted.png", "speech_confusion_loso.png"]

    # 4. convert speed and memory
    sp = _measure_convert(30.0)
    res.figures.update({"convert_rtf": sp["rtf_cpu"], "convert_rtf_wall": sp["rtf_wall"], "convert_peak_ram_mb": sp["peak_mb"]})
    res.target("convert_rtf", "<=", 0.3, "CPU seconds per second of audio, one thread, 30 s 22.05 kHz file")
    res.target("convert_peak_ram_mb", "<=", 1024, "peak resident memory of the converting process, 30 s file")

    # 5. phone timings: Piper's duration-predictor timings vs DTW transfer from engines with exact timings
    from emotive.generators.speech.align import timing_check

    tt = [t for _, t in test_sents[: (3 if ctx.quick else 10)]]
    checks = [timing_check(tt, v, r) for v, r in (("awb", "rms"), ("kal", "rms"), ("joe", "rms"), ("joe", "kal"))]
    res.table("Phone timings: a voice's own boundaries vs boundaries carried over by MFCC-DTW from a reference voice",
              ["voice", "reference", "phones", "matched", "MAE ms", "median ms", "<= 20 ms"],
              [[c["voice"], c["reference"], c["phones"], c["matched_share"], c["mae_ms"], c["median_ms"], c["within_20ms"]]
               for c in checks])
    res.figures["timing_piper_vs_flite_mae_ms"] = checks[2]["mae_ms"]
    res.figures["timing_dtw_floor_mae_ms"] = (checks[0]["mae_ms"] + checks[1]["mae_ms"]) / 2
    res.notes.append("Timing check: awb/kal vs rms are engines with exact timings on both sides, so their MAE is the "
                     "error of the DTW transfer itself; Piper (joe) within that range means its timings agree.")

    # 6. bad input
    import tempfile

    with tempfile.TemporaryDirectory() as td:
        bad = _bad_inputs(Path(td))
    ok = sum(1 for r in bad if r[1] == "clear error")
    res.figures["bad_inputs_clear_error"] = ok / len(bad)
    res.target("bad_inputs_clear_error", ">=", 1.0, "silence, clipping, 2-hour, non-audio, 96 kHz, 4 channels")
    res.table("Bad input", ["case", "outcome", "message"], bad)
    res.notes.append(f"Corpus sources are normalised to {TARGET_RMS_DB} dBFS active level before the rules; "
                     "converted 'neutral' is the WORLD resynthesis of the source (as in the corpus).")
    res.notes.append("Recognisers in the conversion test never saw the voice they judge (trained on the other five "
                     "voices' train+val rows); speaker reference = 4 neutral renderings of other (val) sentences by the same voice.")
    res.notes.append(f"RSS includes Python, numpy, scipy, soundfile and pyworld; wall-clock RTF {sp['rtf_wall']:.3f} on a shared machine.")
    return res


def _confusion_png(conf: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = conf / np.maximum(1, conf.sum(1, keepdims=True))
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(8), LABELS, rotation=45, ha="right")
    ax.set_yticks(range(8), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("requested")
    for i in range(8):
        for j in range(8):
            if conf[i, j]:
                ax.text(j, i, str(conf[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


