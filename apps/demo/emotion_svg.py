"""The emotion panel's picture as SVG: label distribution bars + the point on the valence-arousal plane.

The panel redraws on every slider move and draws once before the page is usable,
so its picture is plain SVG text built here (about a millisecond) instead of a
matplotlib figure (importing matplotlib and drawing the first figure took about
1.1 s of CPU at start-up and 0.3 s per redraw on the 2-core reference machine).
The browser renders it; the evaluator verdicts, drawn once per generation, stay
matplotlib figures (``charts.py``). The colours, quadrant names and centroid
labels are shared with ``charts.py`` so both look alike.

:func:`emotion_html` is what the panel shows: an ``<img>`` holding the SVG as a
data URI, with the same information in its ``alt`` text.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from emotive.conditioning import LABELS, VAD_CENTROIDS, Emotion

# One colour per label everywhere in the demo (colour-blind-safe Okabe-Ito palette + greys).
LABEL_COLORS: dict[str, str] = {
    "neutral": "#9e9e9e",
    "calm": "#56b4e9",
    "happy": "#e69f00",
    "sad": "#0072b2",
    "angry": "#d55e00",
    "fearful": "#cc79a7",
    "disgusted": "#009e73",
    "surprised": "#f0e442",
}
QUADRANTS = (
    (1.04, 1.04, "pleasant, active", "right", "top"),
    (-1.04, 1.04, "unpleasant, active", "left", "top"),
    (-1.04, -1.04, "unpleasant, quiet", "left", "bottom"),
    (1.04, -1.04, "pleasant, quiet", "right", "bottom"),
)
"""(valence, arousal, name, horizontal alignment, vertical alignment) of each quadrant's name."""
NAME_OFFSETS = {
    "calm": (4, -9),
    "happy": (4, 3),
    "sad": (4, -9),
    "angry": (4, 3),
    "fearful": (-34, 3),
    "disgusted": (-14, -11),
    "surprised": (-20, 5),
}
"""Where each centroid's name goes (points right/up of the centroid), so that the crowded
unpleasant-active corner (angry, fearful, disgusted) stays readable."""

WIDTH, HEIGHT = 840, 340
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
# left: bars
BAR_X0, BAR_W, ROW_Y0, ROW_H, BAR_H = 78, 330, 42, 31, 20
# right: the valence-arousal plane, a square of PLANE px for [-LIM, LIM]^2
PLANE_X0, PLANE_Y0, PLANE, LIM = 528, 36, 262, 1.08


def _text(x: float, y: float, s: str, size: float = 11, anchor: str = "start", color: str = "#222222",
          weight: str = "normal", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}" '
            f'font-weight="{weight}"{extra}>{html.escape(s)}</text>')


def plane_xy(valence: float, arousal: float) -> tuple[float, float]:
    """Pixel position of a (valence, arousal) point on the plane (y grows downwards)."""
    scale = PLANE / (2 * LIM)
    return PLANE_X0 + (valence + LIM) * scale, PLANE_Y0 + (LIM - arousal) * scale


def _bars(probs: Sequence[float], highlight: str) -> list[str]:
    out = [_text(BAR_X0 + BAR_W / 2, 20, f"label distribution (top: {highlight})", 12, "middle")]
    for pct in (0, 25, 50, 75, 100):
        x = BAR_X0 + BAR_W * pct / 100
        out.append(f'<line x1="{x:.1f}" y1="{ROW_Y0 - 6}" x2="{x:.1f}" y2="{ROW_Y0 + 8 * ROW_H}" stroke="#eeeeee"/>')
        out.append(_text(x, ROW_Y0 + 8 * ROW_H + 14, f"{pct}%", 10, "middle", "#555555"))
    for i, (name, p) in enumerate(zip(LABELS, probs)):
        y = ROW_Y0 + i * ROW_H
        w = max(0.0, min(1.0, float(p))) * BAR_W
        edge = ' stroke="#333333" stroke-width="1.5"' if name == highlight else ""
        out.append(f'<rect class="prob" data-label="{name}" data-p="{float(p):.4f}" x="{BAR_X0}" y="{y}" '
                   f'width="{w:.2f}" height="{BAR_H}" fill="{LABEL_COLORS[name]}"{edge}/>')
        out.append(_text(BAR_X0 - 6, y + BAR_H / 2 + 4, name, 11, "end", weight="bold" if name == highlight else "normal"))
        if p >= 0.005:
            out.append(_text(BAR_X0 + w + 5, y + BAR_H / 2 + 4, f"{p:.0%}", 10))
    return out


def _plane(emotion: Emotion) -> list[str]:
    v, a, d = emotion.vad
    x0, y0 = plane_xy(-LIM, LIM)
    cx, cy = plane_xy(0, 0)
    r = PLANE / (2 * LIM)
    out = [
        _text(PLANE_X0 + PLANE / 2, 20, f"V {v:+.2f}  A {a:+.2f}  D {d:+.2f}  (intensity {emotion.intensity:.2f})", 12,
              "middle"),
        f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{PLANE}" height="{PLANE}" fill="white" stroke="#999999"/>',
        f'<line x1="{x0:.1f}" y1="{cy:.1f}" x2="{x0 + PLANE:.1f}" y2="{cy:.1f}" stroke="#cccccc"/>',
        f'<line x1="{cx:.1f}" y1="{y0:.1f}" x2="{cx:.1f}" y2="{y0 + PLANE:.1f}" stroke="#cccccc"/>',
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="none" stroke="#e0e0e0"/>',
    ]
    for qv, qa, name, ha, va in QUADRANTS:
        qx, qy = plane_xy(qv, qa)
        anchor = "end" if ha == "right" else "start"
        out.append(_text(qx, qy + (8 if va == "top" else -2), name, 8.5, anchor, "#b0b0b0"))
    for name, (cv, ca, _cd) in VAD_CENTROIDS.items():
        if name == "neutral":
            continue
        px, py = plane_xy(cv, ca)
        dx, dy = NAME_OFFSETS[name]
        out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{LABEL_COLORS[name]}" fill-opacity="0.55"/>')
        out.append(_text(px + dx * 1.33, py - dy * 1.33, name, 9, color="#777777"))
    for t in (-1, 0, 1):
        tx, _ = plane_xy(t, -LIM)
        _, ty = plane_xy(-LIM, t)
        out.append(_text(tx, y0 + PLANE + 13, str(t), 9, "middle", "#555555"))
        out.append(_text(x0 - 4, ty + 3, str(t), 9, "end", "#555555"))
    out.append(_text(PLANE_X0 + PLANE / 2, y0 + PLANE + 28, "valence (unpleasant → pleasant)", 10, "middle"))
    lx, ly = PLANE_X0 - 26, PLANE_Y0 + PLANE / 2
    out.append(_text(lx, ly, "arousal (calm → excited)", 10, "middle", extra=f' transform="rotate(-90 {lx} {ly})"'))
    px, py = plane_xy(max(-LIM, min(LIM, v)), max(-LIM, min(LIM, a)))
    out.append(f'<circle id="emotion-point" cx="{px:.2f}" cy="{py:.2f}" r="8" fill="{LABEL_COLORS[emotion.label]}" '
               'stroke="black" stroke-width="1.4"/>')
    return out


def emotion_svg(emotion: Emotion) -> str:
    """The panel's picture of ``emotion`` as an SVG document (840 x 340 px)."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'font-family="{FONT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        *_bars(emotion.probs, emotion.label),
        *_plane(emotion),
        "</svg>",
    ]
    return "\n".join(parts)


def alt_text(emotion: Emotion) -> str:
    """The picture in words (the ``alt`` of the image)."""
    ranked = sorted(zip(LABELS, emotion.probs), key=lambda t: -t[1])
    mix = ", ".join(f"{n} {p:.0%}" for n, p in ranked if p >= 0.05)
    v, a, d = emotion.vad
    return (f"Label distribution: {mix}. Valence {v:+.2f}, arousal {a:+.2f}, dominance {d:+.2f}, "
            f"intensity {emotion.intensity:.2f}.")


def emotion_html(emotion: Emotion) -> str:
    """An ``<img>`` of :func:`emotion_svg` (data URI, nothing fetched) for the panel's ``gr.HTML``."""
    data = base64.b64encode(emotion_svg(emotion).encode("utf-8")).decode("ascii")
    return (f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt_text(emotion))}" '
            f'width="{WIDTH}" height="{HEIGHT}" style="max-width:100%;height:auto;display:block">')
