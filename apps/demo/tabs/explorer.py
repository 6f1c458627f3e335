"""Emotion explorer: how free-text prompts resolve to a label distribution and a VAD point.

One prompt per line (up to :data:`MAX_PROMPTS`); each goes through ``Emotion.parse``
(the lexicon + sentence-embedding text resolver for prose, the exact parser for
written forms like ``happy:0.6``). Shows a figure, a table and a JSON download,
and can copy a prompt into the shared emotion panel.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from emotive.conditioning import LABELS, Emotion, EmotionError
from emotive.conditioning.emotion import MAX_PROMPT_CHARS

from .. import ux
from ..panel import EmotionPanel, panel_outputs

TITLE = "Emotion explorer"
ORDER = 90
API_NAMES = ("explore",)
MAX_PROMPTS = 8
WEAK_CONFIDENCE = 0.4
"""Below this resolver confidence a prompt gets a warning: its emotional cues are weak."""

EXAMPLES = [
    ["a trembling, fearful whisper\nquietly hopeful\nfurious about the delay\nnot happy at all"],
    ["my dog died yesterday"],
    ["what a wonderful surprise!!\nugh, this smells rotten"],
    ["0.7 sad + 0.3 angry\nvad(0.5, -0.4, 0.1)\ncalm:0.5"],
]
COLUMNS = ["#", "prompt", "label", "p", "V", "A", "D", "int.", "conf."]

API_CASES = {
    "explore": {
        "ok": [("a trembling, fearful whisper\nquietly hopeful",), ("happy:0.6",)],
        "bad": [("",), ("   \n  ",), ("x" * (MAX_PROMPT_CHARS + 1),), ("\n".join(["calm"] * (MAX_PROMPTS + 1)),),
                ("suprised:0.4",), ("vad(nan, 0, 0)",)],
    }
}
BROWSER_CASE = {"examples": "explorer-examples", "run": "explorer-run", "outputs": ["explorer-plot", "explorer-table", "explorer-download"]}


def available() -> bool:
    """The explorer needs only the conditioning layer, which is always installed."""
    return True


def warm_up() -> None:
    """Load the text resolver's lexicons and sentence-embedding model."""
    from emotive.conditioning.text import default_resolver

    default_resolver().warm_up()


def split_prompts(prompts: str | None) -> list[str]:
    """Non-empty lines of the input; raises a user-facing error for none or too many."""
    lines = [line.strip() for line in (prompts or "").splitlines() if line.strip()]
    if not lines:
        raise EmotionError("Type at least one prompt (one per line), e.g. 'a trembling, fearful whisper'.")
    if len(lines) > MAX_PROMPTS:
        raise EmotionError(f"{len(lines)} prompts given; the explorer takes up to {MAX_PROMPTS} at a time.")
    return lines


def resolve_prompts(lines: list[str], progress: Any = None) -> list[Emotion]:
    """``Emotion.parse`` for each line; errors name the line."""
    out = []
    for i, line in enumerate(lines):
        if progress is not None:
            progress((i, len(lines)), desc=f"resolving prompt {i + 1}/{len(lines)}")
        try:
            out.append(Emotion.parse(line))
        except EmotionError as exc:
            raise EmotionError(f"Prompt {i + 1}: {exc}" if len(lines) > 1 else str(exc)) from None
    return out


def explore(prompts: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, list[list[Any]], str]:  # noqa: B008
    """Resolve one prompt per line; returns (figure, table rows, JSON download with every resolved emotion)."""
    from ..charts import prompts_figure

    lines = split_prompts(prompts)
    emotions = resolve_prompts(lines, progress)
    weak = [str(i + 1) for i, e in enumerate(emotions) if e.source == "text" and e.confidence < WEAK_CONFIDENCE]
    if weak:
        gr.Warning(f"Prompt {', '.join(weak)}: few emotional cues, so the result is uncertain "
                   f"(confidence below {WEAK_CONFIDENCE}).")
    rows = []
    for i, (line, e) in enumerate(zip(lines, emotions)):
        v, a, d = e.vad
        rows.append([i + 1, line, e.label, round(max(e.probs), 2), round(v, 2), round(a, 2), round(d, 2),
                     round(e.intensity, 2), round(e.confidence, 2)])
    payload = [{"prompt": line, "request": str(e), **e.to_dict()} for line, e in zip(lines, emotions)]
    path = ux.write_text_output("emotion-explorer.json", json.dumps(payload, indent=2, ensure_ascii=False))
    return prompts_figure(lines, emotions), rows, str(path)


def use_in_panel(prompts: str) -> tuple[Any, ...]:
    """Put the first prompt into the shared panel (Text mode) and resolve it there."""
    lines = split_prompts(prompts)
    e = Emotion.parse(lines[0])
    return (gr.update(value="Text"), gr.update(value=lines[0]), gr.update(value=1.0), *panel_outputs(e))


def build(panel: EmotionPanel) -> None:
    """Prompt box + examples on the left; figure, table and download on the right."""
    gr.Markdown(
        "See how a description of a feeling becomes an emotion request: a distribution over the labels "
        f"({', '.join(LABELS)}) and a point in valence-arousal-dominance space. One prompt per line, up to "
        f"{MAX_PROMPTS}, each up to {MAX_PROMPT_CHARS} characters. Written forms work too: `happy:0.6`, "
        "`0.7 sad + 0.3 angry`, `vad(0.5, 0.3, 0.1)`."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            prompts = gr.Textbox(
                label="Prompts (one per line)",
                lines=5,
                max_lines=MAX_PROMPTS + 2,
                placeholder="a trembling, fearful whisper\nquietly hopeful",
                elem_id="explorer-prompts",
            )
            with gr.Row():
                run = gr.Button("Resolve", variant="primary", elem_id="explorer-run")
                use = gr.Button("Use first prompt in the emotion panel", elem_id="explorer-use")
            gr.Examples(EXAMPLES, inputs=[prompts], label="Examples (click one, then Resolve)",
                        elem_id="explorer-examples")
        with gr.Column(scale=6, min_width=360):
            plot = gr.Plot(label="Distribution and valence-arousal plane", show_label=False, elem_id="explorer-plot")
            table = gr.Dataframe(headers=COLUMNS, label="Resolved prompts (V/A/D = valence/arousal/dominance, int. = intensity, "
                                 "conf. = confidence)",
                                 interactive=False, wrap=True, elem_id="explorer-table",
                                 column_widths=["5%", "35%", "13%", "8%", "8%", "8%", "8%", "8%", "7%"])
            download = gr.File(label="Download: every resolved emotion as JSON", interactive=False,
                               height=90, elem_id="explorer-download")
    run.click(ux.user_errors(explore), [prompts], [plot, table, download], api_name="explore",
              api_description="Resolve one emotion prompt per line (up to 8) into label distributions and VAD.",
              concurrency_limit=ux.LIGHT_LIMIT, concurrency_id="explorer")
    use.click(ux.user_errors(use_in_panel), [prompts],
              [panel.mode, panel.text, panel.intensity, *panel.outputs], api_visibility="private")
