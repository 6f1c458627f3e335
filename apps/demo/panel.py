"""The shared emotion panel: one emotion request for every tab.

How the inputs combine (the **mode** radio decides which inputs count):

* **Label** -- the dropdown's label at the intensity slider's value
  (``Emotion.from_label(label, intensity)``). The VAD sliders and the text are ignored.
* **VAD** -- the point (valence, arousal, dominance) from the three sliders
  (``Emotion.from_vad``). Its distance from neutral *is* the intensity, so the
  intensity slider is ignored (and greyed out).
* **Text** -- the prompt goes through ``Emotion.parse``: free text ("a trembling,
  fearful whisper") or any written form ("0.7 sad + 0.3 angry", "vad(0.5,0.3,0)").
  The intensity slider scales what the text says (1 = as written).

The panel shows the resolved emotion as it changes (distribution bars + the VAD
point) and keeps its canonical string in :attr:`EmotionPanel.request`, which
parses back to the same :class:`Emotion` (``Emotion.parse(request)``). Generator
tabs take that string as their emotion input, so their API endpoints accept any
emotion request string ("happy:0.7", "vad(...)", free text) too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from emotive.conditioning import LABELS, Emotion, EmotionError
from emotive.conditioning.emotion import MAX_PROMPT_CHARS, finite_number
from emotive.conditioning.errors import unknown_label_error
from emotive.conditioning.labels import LABEL_ALIASES

from . import ux
from .emotion_svg import emotion_html

MODES = ("Label", "VAD", "Text")
DEFAULT_MODE = "Label"
DEFAULT_LABEL = "happy"
DEFAULT_INTENSITY = 0.8
DEFAULT_VAD = (0.6, 0.4, 0.2)


_number = finite_number


def resolve_emotion(
    mode: str,
    label: str | None,
    valence: Any,
    arousal: Any,
    dominance: Any,
    text: str | None,
    intensity: Any,
) -> Emotion:
    """Combine the panel's inputs into one Emotion (rules in the module docstring).

    Raises :class:`EmotionError` with a user-facing message for any bad value
    (unknown mode or label, NaN or out-of-range numbers, empty or over-long text).
    """
    if mode not in MODES:
        raise EmotionError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
    if mode == "VAD":
        v = _number("valence", valence)
        a = _number("arousal", arousal)
        d = _number("dominance", dominance)
        return Emotion.from_vad(v, a, d)
    strength = _number("intensity", intensity)
    if not 0.0 <= strength <= 1.0:
        raise EmotionError(f"intensity must be in [0, 1], got {strength:g}.")
    if mode == "Label":
        key = (label or "").strip().lower()
        if not key:
            raise EmotionError(f"Choose an emotion label ({', '.join(LABELS)}).")
        if key not in LABEL_ALIASES:
            raise unknown_label_error(str(label))
        return Emotion.from_label(key, strength)
    prompt = (text or "").strip()
    if not prompt:
        raise EmotionError("The text prompt is empty: describe the emotion, e.g. 'a trembling, fearful whisper'.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise EmotionError(f"The text prompt is {len(prompt)} characters long; the limit is {MAX_PROMPT_CHARS}.")
    e = Emotion.parse(prompt)
    return e.with_intensity(e.intensity * strength)


def describe_markdown(e: Emotion) -> str:
    """A short Markdown summary of a resolved emotion for the panel."""
    ranked = sorted(zip(LABELS, e.probs), key=lambda t: -t[1])
    mix = ", ".join(f"{n} {p:.0%}" for n, p in ranked[:3] if p >= 0.05)
    v, a, d = e.vad
    return (
        f"**{e.label}** · {mix}  \n"
        f"valence {v:+.2f} · arousal {a:+.2f} · dominance {d:+.2f} · intensity {e.intensity:.2f} · "
        f"confidence {e.confidence:.2f} · from {e.source}"
    )


def panel_outputs(e: Emotion) -> tuple[str, str, str]:
    """(request string, summary Markdown, picture as an ``<img>`` of SVG) for a resolved emotion."""
    return str(e), describe_markdown(e), emotion_html(e)


@ux.user_errors
def resolve_for_panel(
    mode: str, label: str, valence: float, arousal: float, dominance: float, text: str, intensity: float
) -> tuple[str, str, Any]:
    """Resolve the panel's inputs; returns (canonical request string, summary Markdown, picture)."""
    return panel_outputs(resolve_emotion(mode, label, valence, arousal, dominance, text, intensity))


@ux.user_errors
def _live_update(
    mode: str, label: str, valence: float, arousal: float, dominance: float, text: str, intensity: float
) -> tuple[Any, str, Any]:
    """Like :func:`resolve_for_panel`, but Text mode with no text yet is a hint, not an error."""
    if mode == "Text" and not (text or "").strip():
        return gr.update(), "_Type a description of the emotion and press Enter._", gr.update()
    return panel_outputs(resolve_emotion(mode, label, valence, arousal, dominance, text, intensity))


@ux.user_errors
def _sync_request(
    mode: str, label: str, valence: float, arousal: float, dominance: float, text: str, intensity: float
) -> str:
    return str(resolve_emotion(mode, label, valence, arousal, dominance, text, intensity))


def _show_for_mode(mode: str) -> tuple[Any, Any, Any, Any]:
    return (
        gr.update(visible=mode == "Label"),
        gr.update(visible=mode == "VAD"),
        gr.update(visible=mode == "Text"),
        gr.update(
            interactive=mode != "VAD",
            info="ignored in VAD mode: the point's distance from neutral is the intensity"
            if mode == "VAD"
            else ("scales what the text says (1 = as written)" if mode == "Text" else "0 = neutral delivery, 1 = full"),
        ),
    )


def request_to_emotion(request: str | None) -> Emotion:
    """What a generator handler calls on the panel's request string (or an API caller's string)."""
    if request is None or not str(request).strip():
        raise EmotionError("No emotion was given: choose one in the emotion panel (or pass e.g. 'happy').")
    return Emotion.parse(str(request))


@dataclass
class EmotionPanel:
    """The panel's components; passed to every tab's ``build(panel)``."""

    mode: gr.Radio
    label: gr.Dropdown
    valence: gr.Slider
    arousal: gr.Slider
    dominance: gr.Slider
    text: gr.Textbox
    intensity: gr.Slider
    request: gr.Textbox
    """Canonical string of the resolved emotion: the emotion input of every generator event."""
    summary: gr.Markdown
    plot: gr.HTML
    """The distribution and the VAD point (an SVG image, :mod:`.emotion_svg`)."""

    @property
    def inputs(self) -> list[gr.components.Component]:
        """The seven raw inputs in :func:`resolve_emotion`'s argument order."""
        return [self.mode, self.label, self.valence, self.arousal, self.dominance, self.text, self.intensity]

    @property
    def outputs(self) -> list[gr.components.Component]:
        """What :func:`resolve_for_panel` fills: request string, summary, picture."""
        return [self.request, self.summary, self.plot]

    def bind(
        self,
        trigger: Callable[..., Any],
        fn: Callable[..., Any],
        inputs: Sequence[gr.components.Component],
        outputs: Sequence[gr.components.Component],
        *,
        api_name: str,
        heavy: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Wire a generator event so it always sees the panel's current emotion.

        ``trigger`` is an event method such as ``button.click``. First the panel
        is re-resolved into :attr:`request` (a private step, so a slider moved a
        moment ago counts), then -- only if that succeeded -- ``fn(*inputs, request)``
        runs with errors mapped to ``gr.Error`` (:func:`ux.user_errors`). The
        public API endpoint ``/<api_name>`` takes ``(*inputs, emotion_request)``.
        ``heavy=True`` puts the event in the shared one-at-a-time queue slot.
        """
        if heavy:
            kwargs.setdefault("concurrency_id", ux.HEAVY)
            kwargs.setdefault("concurrency_limit", ux.HEAVY_LIMIT)
        sync = trigger(_sync_request, self.inputs, self.request, api_visibility="private", queue=False,
                       show_progress="hidden")
        return sync.success(ux.user_errors(fn), [*inputs, self.request], list(outputs), api_name=api_name, **kwargs)


def build_panel() -> EmotionPanel:
    """Create the panel's components (call inside ``gr.Blocks``) and wire its live updates.

    The default state is resolved here (a label: no text model needed; the picture is SVG text),
    so the first page arrives complete, without a round trip after it loads.
    """
    first_request, first_summary, first_picture = panel_outputs(
        resolve_emotion(DEFAULT_MODE, DEFAULT_LABEL, DEFAULT_VAD[0], DEFAULT_VAD[1], DEFAULT_VAD[2], "",
                        DEFAULT_INTENSITY))
    with gr.Row(equal_height=False, variant="panel", elem_id="emotion-panel"):
        with gr.Column(scale=4, min_width=300):
            gr.Markdown("### Emotion\nShared by every tab.")
            mode = gr.Radio(
                list(MODES),
                value=DEFAULT_MODE,
                label="Emotion from",
                info="Label: pick one · VAD: place a point · Text: describe it in words",
                elem_id="emotion-mode",
            )
            with gr.Group(visible=DEFAULT_MODE == "Label") as label_group:
                label = gr.Dropdown(
                    list(LABELS),
                    value=DEFAULT_LABEL,
                    allow_custom_value=True,
                    label="Label",
                    elem_id="emotion-label",
                )
            with gr.Group(visible=DEFAULT_MODE == "VAD") as vad_group:
                valence = gr.Slider(-1, 1, value=DEFAULT_VAD[0], step=0.01, label="Valence (unpleasant → pleasant)",
                                    elem_id="emotion-valence")
                arousal = gr.Slider(-1, 1, value=DEFAULT_VAD[1], step=0.01, label="Arousal (calm → excited)",
                                    elem_id="emotion-arousal")
                dominance = gr.Slider(-1, 1, value=DEFAULT_VAD[2], step=0.01, label="Dominance (submissive → in control)",
                                      elem_id="emotion-dominance")
            with gr.Group(visible=DEFAULT_MODE == "Text") as text_group:
                text = gr.Textbox(
                    value="",
                    label="Describe the emotion (press Enter)",
                    placeholder="a trembling, fearful whisper · quietly hopeful · 0.7 sad + 0.3 angry",
                    max_lines=3,
                    elem_id="emotion-text",
                )
            intensity = gr.Slider(0, 1, value=DEFAULT_INTENSITY, step=0.05, label="Intensity",
                                  info="0 = neutral delivery, 1 = full", elem_id="emotion-intensity")
        with gr.Column(scale=6, min_width=360):
            summary = gr.Markdown(first_summary, elem_id="emotion-summary")
            plot = gr.HTML(first_picture, label="Resolved emotion", show_label=False, elem_id="emotion-plot",
                           min_height=200, padding=False)
            request = gr.Textbox(
                first_request,
                label="Emotion request sent to the generators",
                info="Canonical form; the API endpoints accept this or any emotion request string.",
                interactive=False,
                buttons=["copy"],
                elem_id="emotion-request",
            )
    panel = EmotionPanel(mode, label, valence, arousal, dominance, text, intensity, request, summary, plot)
    mode.change(_show_for_mode, mode, [label_group, vad_group, text_group, intensity], api_visibility="private",
                queue=False, show_progress="hidden")
    live = {
        "fn": _live_update,
        "inputs": panel.inputs,
        "outputs": panel.outputs,
        "show_progress": "minimal",
        "concurrency_limit": ux.LIGHT_LIMIT,
        "concurrency_id": "emotion-panel",
    }
    # Moving a control re-resolves at once; switching to Text with an empty box only asks for text.
    gr.on([mode.change, label.change, valence.change, arousal.change, dominance.change, text.blur,
           intensity.change], trigger_mode="always_last", api_visibility="private", **live)
    # Enter in the text box is the public endpoint: strict, an empty prompt is an error.
    text.submit(
        resolve_for_panel,
        panel.inputs,
        panel.outputs,
        api_name="resolve_emotion",
        api_description="Resolve the emotion panel's inputs (mode, label, valence, arousal, dominance, text, "
        "intensity) into the canonical emotion request, a summary and a picture (an <img> of SVG).",
        show_progress="minimal",
        concurrency_limit=ux.LIGHT_LIMIT,
        concurrency_id="emotion-panel",
    )
    return panel
