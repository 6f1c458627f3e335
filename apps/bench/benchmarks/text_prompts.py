"""Text prompts -> Emotion: label accuracy, VAD signs, speed, import time.

The prompt set (``apps/bench/data/text_prompts.jsonl``) was written
independently of the resolver, with a dev/test split: the resolver was tuned on
dev only; test is reported separately and is the headline figure.
"""

from __future__ import annotations

import importlib.resources
import json
import statistics
import subprocess
import sys
import time
from collections import Counter

from emotive.apps.bench.runner import BenchContext, BenchResult, register
from emotive.conditioning import LABELS

DEAD_ZONE = 0.15  # an expected sign of 0 is met when |predicted| < this


def load_prompts() -> list[dict]:
    text = importlib.resources.files("emotive.apps.bench").joinpath("data/text_prompts.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sign_ok(pred: float, expected: int) -> bool:
    if expected == 0:
        return abs(pred) < DEAD_ZONE
    return (pred > 0) if expected > 0 else (pred < 0)


def score(rows: list[dict], resolve) -> dict:
    correct = v_ok = v_n = a_ok = a_n = 0
    per_label: Counter = Counter()
    per_label_ok: Counter = Counter()
    per_cat: Counter = Counter()
    per_cat_ok: Counter = Counter()
    confusion = {a: Counter() for a in LABELS}
    wrong = []
    for r in rows:
        e = resolve(r["text"])
        hit = e.label == r["label"]
        correct += hit
        per_label[r["label"]] += 1
        per_label_ok[r["label"]] += hit
        per_cat[r["category"]] += 1
        per_cat_ok[r["category"]] += hit
        confusion[r["label"]][e.label] += 1
        if not hit:
            wrong.append((r["text"], r["label"], e.label))
        if r.get("valence") is not None:
            v_n += 1
            v_ok += sign_ok(e.valence, r["valence"])
        if r.get("arousal") is not None:
            a_n += 1
            a_ok += sign_ok(e.arousal, r["arousal"])
    return {
        "n": len(rows),
        "accuracy": correct / max(1, len(rows)),
        "valence_sign": v_ok / max(1, v_n),
        "arousal_sign": a_ok / max(1, a_n),
        "per_label": {k: per_label_ok[k] / per_label[k] for k in LABELS if per_label[k]},
        "per_category": {k: per_cat_ok[k] / per_cat[k] for k in sorted(per_cat)},
        "confusion": {a: dict(c) for a, c in confusion.items()},
        "wrong": wrong,
    }


def _confusion_png(conf: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    m = np.array([[conf[a].get(b, 0) for b in LABELS] for a in LABELS], dtype=float)
    norm = m / np.maximum(1, m.sum(1, keepdims=True))
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=45, ha="right")
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("resolved")
    ax.set_ylabel("expected")
    for i in range(len(LABELS)):
        for j in range(len(LABELS)):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8, color="black" if norm[i, j] < 0.6 else "white")
    ax.set_title("Text prompts (test split): expected vs resolved")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@register("text-prompts", "Text prompts → Emotion (conditioning)", "conditioning", order=10)
def bench_text_prompts(ctx: BenchContext) -> BenchResult:
    from emotive.conditioning.text import default_resolver

    rows = load_prompts()
    resolver = default_resolver()
    resolver.warm_up()
    res = BenchResult()
    results = {}
    for split in ("dev", "test"):
        sub = [r for r in rows if r["split"] == split]
        results[split] = score(sub, resolver.resolve)
    allr = score(rows, resolver.resolve)
    t = results["test"]
    res.figures.update(
        {
            "prompts_total": len(rows),
            "prompts_test": t["n"],
            "top1_accuracy_test": t["accuracy"],
            "valence_sign_test": t["valence_sign"],
            "arousal_sign_test": t["arousal_sign"],
            "top1_accuracy_dev": results["dev"]["accuracy"],
            "valence_sign_dev": results["dev"]["valence_sign"],
            "arousal_sign_dev": results["dev"]["arousal_sign"],
            "top1_accuracy_all": allr["accuracy"],
            "valence_sign_all": allr["valence_sign"],
            "arousal_sign_all": allr["arousal_sign"],
        }
    )
    # speed: warm, one core, every prompt once (a few repeats in full mode)
    times = []
    repeats = 1 if ctx.quick else 3
    for _ in range(repeats):
        for r in rows:
            t0 = time.perf_counter()
            resolver.resolve(r["text"])
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    res.figures["resolve_ms_p50"] = statistics.median(times)
    res.figures["resolve_ms_p95"] = times[int(0.95 * (len(times) - 1))]
    # import time in a fresh interpreter
    imp = []
    for _ in range(1 if ctx.quick else 3):
        out = subprocess.run(
            [sys.executable, "-c", "import time; t=time.perf_counter(); import emotive.conditioning; print(time.perf_counter()-t)"],
            capture_output=True, text=True, check=True,
        )
        imp.append(float(out.stdout.strip()))
    res.figures["import_conditioning_s"] = min(imp)

    res.target("top1_accuracy_test", ">=", 0.85, "top-1 label accuracy, held-out test prompts")
    res.target("valence_sign_test", ">=", 0.90, "valence-sign agreement, test prompts")
    res.target("arousal_sign_test", ">=", 0.90, "arousal-sign agreement, test prompts")
    res.target("top1_accuracy_all", ">=", 0.85, "top-1 label accuracy, all prompts")
    res.target("resolve_ms_p95", "<=", 50.0, "p95 resolve time after warm-up, one thread")
    res.target("import_conditioning_s", "<=", 1.0, "import emotive.conditioning")
    res.table(
        "Accuracy by category (test | dev)",
        ["category", "test", "dev"],
        [[c, t["per_category"].get(c), results["dev"]["per_category"].get(c)] for c in sorted(allr["per_category"])],
    )
    res.table(
        "Accuracy by expected label (test | dev)",
        ["label", "test", "dev"],
        [[lab, t["per_label"].get(lab), results["dev"]["per_label"].get(lab)] for lab in LABELS],
    )
    res.table("Misses on the test split", ["prompt", "expected", "resolved"], [list(w) for w in t["wrong"]])
    _confusion_png(t["confusion"], ctx.plot_path("text_prompts_confusion.png"))
    res.plots.append("text_prompts_confusion.png")
    res.notes.append(
        f"Sign agreement: an expected sign of ±1 needs the resolved value on that side of 0; "
        f"an expected 0 needs |value| < {DEAD_ZONE}. Prompts marked ambiguous (null) are not scored."
    )
    return res
