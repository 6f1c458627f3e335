"""Subtitles burned into video frames: white text with a dark outline on a translucent dark box near the bottom,
wrapped to the frame's width.

    frames = burn_captions(renderer.render(motion), cues, fps=25)   # cues: .start, .end (s) and .text each

Frame ``i`` shows the cue that covers its time ``i / fps`` (``start <= t < end``); a frame no cue covers is passed
through unchanged (the same array). Each cue is drawn once into an overlay of the frame's lower part, then blended
into every frame it covers, so burning costs a blend of that band per frame.

The font is DejaVu Sans Bold (Debian's ``fonts-dejavu-core``, else the copy matplotlib ships), else PIL's bundled
default font: all offline.
"""

from __future__ import annotations

import bisect
import importlib.util
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

FONT_FILE = "DejaVuSans-Bold.ttf"
TEXT_HEIGHT = 0.055
"""Font size as a fraction of the frame height (14 px at 256 px, 28 px at 512 px): a 42-character cue (the longest
``speech.subtitles`` makes) fits in two lines and stays readable at 256 px."""
SIDE_MARGIN = 0.05
"""Space kept free on each side, as a fraction of the frame width."""
BOTTOM_MARGIN = 0.04
"""Space below the box, as a fraction of the frame height."""
BOX_OPACITY = 0.6
"""Opacity of the dark box behind the text (the outline alone gets lost on busy backgrounds)."""
LINE_SPACING = 1.2


class Caption(Protocol):
    """What a cue needs to be drawn (``emotive.generators.speech.subtitles.Cue`` is one)."""

    start: float
    end: float
    text: str


def load_font(size: int) -> Any:
    """DejaVu Sans Bold at ``size`` px: the system's, else matplotlib's copy, else PIL's bundled default font."""
    from PIL import ImageFont

    candidates = [FONT_FILE]   # PIL looks in the system's font folders for a bare name
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        candidates.append(str(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / FONT_FILE))
    for name in candidates:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def wrap(text: str, font: Any, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` px (greedy, between words; a word wider than a line is cut)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while font.getlength(word) > width and len(word) > 1:   # cut a word too wide for any line
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        trial = f"{line} {word}" if line else word
        if line and font.getlength(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def balanced_wrap(text: str, font: Any, width: float) -> list[str]:
    """:func:`wrap` in as few lines, of lengths as even as narrowing the width allows (no lone last word)."""
    lines = wrap(text, font, width)
    for frac in np.arange(0.95, 0.45, -0.05):
        narrower = wrap(text, font, width * frac)
        if len(narrower) > len(lines):
            break
        lines = narrower
    return lines


def caption_overlay(text: str, width: int, height: int) -> tuple[int, np.ndarray, np.ndarray]:
    """A cue drawn for ``width`` x ``height`` frames: (top row y0, RGB [h, W, 3] float32, alpha [h, W, 1] in 0-1)
    of the band ``y0:y0 + h`` it covers."""
    from PIL import Image, ImageDraw

    size = max(10, round(TEXT_HEIGHT * height))
    font = load_font(size)
    lines = balanced_wrap(text, font, width * (1 - 2 * SIDE_MARGIN))
    line_h = round(size * LINE_SPACING)
    pad = max(2, size // 3)
    stroke = max(1, round(size / 10))
    box_h = len(lines) * line_h + 2 * pad
    y0 = max(0, height - round(BOTTOM_MARGIN * height) - box_h)
    band = Image.new("RGBA", (width, min(box_h, height - y0)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(band)
    widest = max((font.getlength(line) for line in lines), default=0.0)
    x_left = max(0, round((width - widest) / 2) - pad)
    draw.rounded_rectangle((x_left, 0, min(width - 1, width - x_left), box_h - 1), radius=pad,
                           fill=(0, 0, 0, round(255 * BOX_OPACITY)))
    for k, line in enumerate(lines):
        x = (width - font.getlength(line)) / 2
        draw.text((x, pad + k * line_h), line, font=font, fill=(255, 255, 255, 255), stroke_width=stroke,
                  stroke_fill=(0, 0, 0, 255))
    rgba = np.asarray(band, dtype=np.float32)
    return y0, rgba[..., :3], rgba[..., 3:] / 255.0


def burn_captions(frames: Iterable[np.ndarray], cues: Sequence[Caption], fps: float) -> Iterator[np.ndarray]:
    """Frames (RGB uint8 [H, W, 3]) with the cue covering each frame's time ``i / fps`` drawn on; lazily."""
    cues = sorted((c for c in cues if c.text.strip() and c.end > c.start), key=lambda c: c.start)
    starts = [c.start for c in cues]
    drawn: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
    for i, frame in enumerate(frames):
        t = i / fps
        k = bisect.bisect_right(starts, t) - 1   # the latest cue started by t
        if k < 0 or t >= cues[k].end:
            yield frame
            continue
        if k not in drawn:
            drawn = {k: caption_overlay(cues[k].text, frame.shape[1], frame.shape[0])}   # one cue at a time
        y0, rgb, alpha = drawn[k]
        out = frame.copy()
        region = out[y0:y0 + rgb.shape[0]].astype(np.float32)
        out[y0:y0 + rgb.shape[0]] = np.round(rgb * alpha + region * (1 - alpha)).astype(np.uint8)
        yield out
