"""verdict_chart / emotion figures, checked on hand-built verdicts and emotions."""

from __future__ import annotations

import io

import pytest

from emotive.apps.demo.charts import (
    MATCH_COLOR,
    MISS_COLOR,
    prompts_figure,
    verdict_chart,
    verdict_markdown,
    verdict_rows,
)
from emotive.conditioning import LABELS, Emotion
from emotive.evaluators.base import Verdict

PROBS = (0.05, 0.05, 0.6, 0.1, 0.05, 0.05, 0.05, 0.05)
FIGURES = {"wer": 0.04, "lipsync_r": float("nan"), "voiced": True, "attributes": {"tempo": 120.0, "mode": "major"}}


def _axes(fig):
    return {ax.get_gid(): ax for ax in fig.axes}


def _row_y(label: str) -> int:
    return len(LABELS) - 1 - LABELS.index(label)  # bars run top (neutral) to bottom (surprised)


def _table_text(ax) -> list[str]:
    return [cell.get_text().get_text() for table in ax.tables for cell in table.get_celld().values()]


def test_verdict_chart_match(artifacts_dir):
    v = Verdict("speech", PROBS, (0.6, 0.3, 0.2), Emotion.from_label("happy"), True, FIGURES)
    fig = verdict_chart(v)
    axes = _axes(fig)
    bars = axes["verdict-probs"].patches
    assert [round(b.get_width(), 6) for b in bars] == list(PROBS)
    assert [round(b.get_y() + b.get_height() / 2) for b in bars] == [_row_y(n) for n in LABELS]
    markers = [t for t in axes["verdict-probs"].texts if t.get_gid() == "requested-marker"]
    assert len(markers) == 1 and markers[0].xy[1] == _row_y("happy")
    assert markers[0].get_color() == MATCH_COLOR
    assert fig._suptitle.get_text().startswith("MATCH") and fig._suptitle.get_color() == MATCH_COLOR
    cells = _table_text(axes["verdict-figures"])
    for expected in ("wer", "0.04", "lipsync_r", "n/a", "voiced", "yes", "attributes.tempo", "120", "major"):
        assert expected in cells, (expected, cells)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert len(buf.getvalue()) > 20_000
    (artifacts_dir / "demo-verdict-chart.png").write_bytes(buf.getvalue())


def test_verdict_chart_no_match_marks_the_requested_label():
    v = Verdict("face", PROBS, (0.6, 0.3, 0.2), Emotion.from_label("sad"), False, {"lipsync_r": 0.71})
    fig = verdict_chart(v)
    axes = _axes(fig)
    marker = next(t for t in axes["verdict-probs"].texts if t.get_gid() == "requested-marker")
    assert marker.xy == (PROBS[LABELS.index("sad")], _row_y("sad"))
    assert marker.get_color() == MISS_COLOR
    title = fig._suptitle.get_text()
    assert title.startswith("NO MATCH") and "recognised happy 60%" in title and "requested sad" in title
    # the recognised label is outlined, the others are not
    widths = [b.get_linewidth() for b in axes["verdict-probs"].patches]
    assert widths[LABELS.index("happy")] > 0 and sum(w > 0 for w in widths) == 1
    # recognised point and requested star on the valence-arousal plane
    offsets = [tuple(c.get_offsets()[0]) for c in axes["verdict-va"].collections[-2:]]
    assert offsets[0] == pytest.approx((0.6, 0.3)) and offsets[1] == pytest.approx(Emotion.from_label("sad").vad[:2])


def test_verdict_chart_without_target_or_figures():
    v = Verdict("music", PROBS, (0.6, 0.3, 0.2), None, False, {})
    fig = verdict_chart(v)
    axes = _axes(fig)
    assert not [t for t in axes["verdict-probs"].texts if t.get_gid() == "requested-marker"]
    assert "no emotion requested" in fig._suptitle.get_text()
    assert any("no quality figures" in t.get_text() for t in axes["verdict-figures"].texts)


def test_verdict_rows_formatting():
    rows = dict(verdict_rows({"a": 1, "b": 0.123456, "c": None, "d": float("inf"), "e": [1, 2], "f": {"g": False}}))
    assert rows == {"a": "1", "b": "0.123", "c": "n/a", "d": "n/a", "e": "[1, 2]", "f.g": "no"}


def test_prompts_figure_one_point_per_prompt():
    es = [Emotion.from_label("happy"), Emotion.from_vad(-0.5, -0.2, 0.0), Emotion.parse("calm:0.5")]
    fig = prompts_figure(["a", "b", "c"], es)
    ax_p, ax_va = fig.axes
    assert ax_p.images and ax_p.images[0].get_array().shape == (3, len(LABELS))
    points = [tuple(c.get_offsets()[0]) for c in ax_va.collections[-3:]]
    assert points == [pytest.approx(e.vad[:2]) for e in es]
    with pytest.raises(ValueError):
        prompts_figure(["a"], [])


def test_verdict_markdown_reads_without_the_picture():
    v = Verdict("speech", PROBS, (0.6, 0.3, 0.2), Emotion.from_label("sad"), False, {"wer": 0.04})
    md = verdict_markdown(v)
    assert md.startswith("**NO MATCH** - recognised happy 60% (requested sad)")
    assert "happy 60%, sad 10%, neutral 5%" in md and md.endswith("wer 0.04")
    none = verdict_markdown(Verdict("music", PROBS, (0.6, 0.3, 0.2), None, False, {}))
    assert none.startswith("predicted happy 60% (no emotion requested)")
