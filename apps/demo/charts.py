"""Figures the demo shows: a set of prompts and an evaluator's verdict.

All functions return a ``matplotlib.figure.Figure`` built without pyplot (no
global state, safe from worker threads), which ``gr.Plot`` renders. (The shared
emotion panel's picture is SVG, drawn by ``emotion_svg.py`` with the same colours.)

* :func:`prompts_figure` -- several resolved prompts: a prompt x label heat map and
  their points on the valence-arousal plane (the emotion explorer).
* :func:`verdict_chart` (+ :func:`verdict_markdown`, one line of text) -- an evaluator's :class:`Verdict`: per-label probabilities with
  the requested label marked, matched or not, predicted vs requested VAD, and the
  modality's quality figures (WER, lip-sync correlation, attribute values, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from emotive.conditioning import LABELS, VAD_CENTROIDS, Emotion
from emotive.evaluators.base import Verdict

from .emotion_svg import LABEL_COLORS, NAME_OFFSETS, QUADRANTS

MATCH_COLOR = "#1b7f3b"
MISS_COLOR = "#b3261e"


def _va_plane(ax: Any, title: str = "valence-arousal plane") -> None:
    """Axes in [-1, 1]^2 with quadrant names and the label centroids (Russell & Mehrabian 1977)."""
    ax.set_xlim(-1.08, 1.08)
    ax.set_ylim(-1.08, 1.08)
    ax.set_aspect("equal")
    ax.axhline(0, color="#cccccc", lw=0.8, zorder=0)
    ax.axvline(0, color="#cccccc", lw=0.8, zorder=0)
    theta = [2 * math.pi * i / 120 for i in range(121)]
    ax.plot([math.cos(t) for t in theta], [math.sin(t) for t in theta], color="#e0e0e0", lw=0.8, zorder=0)
    for x, y, name, ha, va in QUADRANTS:
        ax.text(x, y, name, ha=ha, va=va, fontsize=6.5, color="#b0b0b0", zorder=0)
    for name, (v, a, _d) in VAD_CENTROIDS.items():
        if name == "neutral":
            continue
        ax.scatter([v], [a], s=14, color=LABEL_COLORS[name], alpha=0.55, zorder=1)
        ax.annotate(name, (v, a), xytext=NAME_OFFSETS[name], textcoords="offset points", fontsize=7,
                    color="#777777")
    ax.set_xlabel("valence (unpleasant → pleasant)", fontsize=8)
    ax.set_ylabel("arousal (calm → excited)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)


def _prob_bars(ax: Any, probs: Sequence[float], highlight: str | None = None) -> list[Any]:
    """Horizontal bars of per-label probabilities, canonical order top to bottom."""
    ys = list(range(len(LABELS)))[::-1]
    bars = ax.barh(
        ys,
        list(probs),
        color=[LABEL_COLORS[n] for n in LABELS],
        edgecolor=["#333333" if n == highlight else "none" for n in LABELS],
        linewidth=[1.5 if n == highlight else 0 for n in LABELS],
    )
    ax.set_yticks(ys, list(LABELS), fontsize=8)
    ax.set_xlim(0, 1.18)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"], fontsize=7)
    for y, p in zip(ys, probs):
        if p >= 0.005:
            ax.text(p + 0.02, y, f"{p:.0%}", va="center", fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return list(bars)


def prompts_figure(prompts: Sequence[str], emotions: Sequence[Emotion]) -> Figure:
    """Several resolved prompts: probabilities per prompt (bars for one, heat map for more) + VA points."""
    if not emotions or len(prompts) != len(emotions):
        raise ValueError("prompts_figure needs one emotion per prompt and at least one prompt")
    n = len(emotions)
    fig = Figure(figsize=(9.0, max(3.4, 1.1 + 0.45 * n)), dpi=100, layout="constrained")
    ax_p, ax_va = fig.subplots(1, 2, width_ratios=[1.35, 1])
    short = [f"{i + 1}. " + (p if len(p) <= 28 else p[:26] + "…") for i, p in enumerate(prompts)]
    if n == 1:
        _prob_bars(ax_p, emotions[0].probs, highlight=emotions[0].label)
        ax_p.set_title(f"label distribution: {short[0]}", fontsize=9)
    else:
        grid = [list(e.probs) for e in emotions]
        ax_p.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        ax_p.set_xticks(range(len(LABELS)), list(LABELS), rotation=35, ha="right", fontsize=8)
        ax_p.set_yticks(range(n), short, fontsize=8)
        for i, e in enumerate(emotions):
            for j, p in enumerate(e.probs):
                if p >= 0.05:
                    ax_p.text(j, i, f"{p:.0%}", ha="center", va="center", fontsize=7,
                              color="white" if p > 0.55 else "#222222")
        ax_p.set_title("label distribution per prompt", fontsize=9)
    _va_plane(ax_va)
    for i, e in enumerate(emotions):
        v, a, _d = e.vad
        ax_va.scatter([v], [a], s=70, color=LABEL_COLORS[e.label], edgecolor="black", lw=1.0, zorder=3)
        ax_va.annotate(str(i + 1), (v, a), xytext=(6, 4), textcoords="offset points", fontsize=9,
                       weight="bold", zorder=4)
    return fig


# ------------------------------------------------------------------ verdicts
def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        return f"{value:.3g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        text = ", ".join(_fmt(v) for v in value[:6]) + (", …" if len(value) > 6 else "")
        return f"[{text}]"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def verdict_rows(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The quality figures as (name, formatted value) rows; nested dicts become ``parent.child``."""
    rows: list[tuple[str, str]] = []
    for key, value in figures.items():
        if isinstance(value, Mapping):
            rows.extend((f"{key}.{k}", v) for k, v in verdict_rows(value))
        else:
            rows.append((str(key), _fmt(value)))
    return rows


def verdict_title(verdict: Verdict) -> str:
    """``MATCH - heard happy 81% (requested happy)`` or ``NO MATCH - ...``; ``predicted ...`` without a target."""
    top = max(verdict.probs)
    if verdict.target is None:
        return f"predicted {verdict.label} {top:.0%} (no emotion requested)"
    head = "MATCH" if verdict.matches else "NO MATCH"
    return f"{head} - recognised {verdict.label} {top:.0%} (requested {verdict.target.label})"


def verdict_chart(verdict: Verdict) -> Figure:
    """Draw an evaluator's verdict: what every tab shows under its output.

    Three panels: per-label probabilities with the requested label marked
    ("◀ requested") and the recognised one outlined; the recognised VAD point
    against the requested one on the valence-arousal plane; the modality's
    quality figures as a table. The title says MATCH (green) or NO MATCH (red).
    """
    fig = Figure(figsize=(10.5, 3.6), dpi=100, layout="constrained")
    ax_p, ax_va, ax_f = fig.subplots(1, 3, width_ratios=[1.3, 1, 0.9])
    ax_p.set_gid("verdict-probs")
    ax_va.set_gid("verdict-va")
    ax_f.set_gid("verdict-figures")
    _prob_bars(ax_p, verdict.probs, highlight=verdict.label)
    ax_p.set_title(f"recognised by the {verdict.modality} evaluator", fontsize=9)
    if verdict.target is not None:
        y = len(LABELS) - 1 - LABELS.index(verdict.target.label)
        p = verdict.probs[LABELS.index(verdict.target.label)]
        ax_p.annotate(
            "◀ requested",
            (p, y),
            xytext=(max(p, 0.0) + 0.2, y),
            textcoords="data",
            va="center",
            fontsize=8,
            weight="bold",
            color=MATCH_COLOR if verdict.matches else MISS_COLOR,
            gid="requested-marker",
        )
    _va_plane(ax_va, "recognised vs requested")
    pv, pa, _pd = verdict.vad
    ax_va.scatter([pv], [pa], s=90, color=LABEL_COLORS[verdict.label], edgecolor="black", lw=1.2, zorder=4,
                  label="recognised")
    if verdict.target is not None:
        tv, ta, _td = verdict.target.vad
        ax_va.scatter([tv], [ta], s=150, marker="*", facecolor="none", edgecolor="black", lw=1.2, zorder=4,
                      label="requested")
        ax_va.annotate("", (pv, pa), xytext=(tv, ta),
                       arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 1.0}, zorder=3)
    ax_va.legend(loc="lower left", fontsize=7, frameon=True, framealpha=0.95, edgecolor="none")
    ax_f.axis("off")
    rows = verdict_rows(verdict.figures)
    if rows:
        table = ax_f.table(cellText=[list(r) for r in rows[:14]], colLabels=["figure", "value"], loc="upper center",
                           cellLoc="left", colLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.25)
        table.set_gid("figures-table")
        if len(rows) > 14:
            ax_f.text(0.5, 0.0, f"+{len(rows) - 14} more in the JSON", ha="center", fontsize=7, transform=ax_f.transAxes)
    else:
        ax_f.text(0.5, 0.5, "no quality figures", ha="center", va="center", fontsize=8, color="#777777")
    ax_f.set_title(f"{verdict.modality} quality figures", fontsize=9)
    color = "#333333" if verdict.target is None else (MATCH_COLOR if verdict.matches else MISS_COLOR)
    fig.suptitle(verdict_title(verdict), fontsize=11, weight="bold", color=color)
    return fig


def verdict_markdown(verdict: Verdict) -> str:
    """The verdict in one Markdown line, to show beside :func:`verdict_chart` (readable without the picture)."""
    figs = " · ".join(f"{k} {v}" for k, v in verdict_rows(verdict.figures))
    ranked = sorted(zip(LABELS, verdict.probs), key=lambda t: -t[1])
    mix = ", ".join(f"{n} {p:.0%}" for n, p in ranked[:3] if p >= 0.05)
    head = verdict_title(verdict).split(" - ", 1)
    text = f"**{head[0]}** - {head[1]}" if len(head) == 2 else verdict_title(verdict)
    return f"{text} · top labels: {mix}" + (f" · {figs}" if figs else "")
