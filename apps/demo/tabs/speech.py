"""Speech: text + voice + the emotion -> emotional speech (codec LM + codec) and the recogniser's verdict.

:class:`emotive.generators.speech.tts.EmotionalSpeechPipeline` turns the text into phonemes,
the emotion-conditioned codec language model samples codec tokens (``candidates`` takes per
sentence, the one with the lowest WER + (1 - P(emotion)) kept) and the codec decodes them to
audio. The verdict is the speech emotion recogniser's
(:mod:`emotive.evaluators.speech.ser`), with the word error rate of a Whisper transcript
against the text.

The tab is shown only when the TTS weights exist: by default the embedded
``generators/speech/pretrained/{codec,lm}``; ``emotive demo --tts DIR`` (or the environment
variable :data:`TTS_ENV`) points it at another pipeline folder (``codec/`` + ``lm/``, as
written by ``EmotionalSpeechPipeline.save_pretrained``), e.g. a training checkpoint. The
check reads file names only (no torch import). The talking-portrait tab uses
:func:`synthesise` for its "text -> speech" input when :func:`available` is True.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import gradio as gr

from .. import ux
from ..panel import EmotionPanel, request_to_emotion

TITLE = "Speech"
ORDER = 10
API_NAMES = ("speak",)
TTS_ENV = "EMOTIVE_DEMO_TTS"
"""Environment variable: a TTS pipeline folder (``codec/`` + ``lm/``) used instead of the embedded weights."""
REQUIRES = ("the codec language model's weights generators/speech/pretrained/lm (emotive train speech-lm; "
            "or point the demo at a pipeline folder with --tts DIR)")

MAX_TEXT_CHARS = 300
"""Characters per request in the demo (about three sentences; ``emotive speak`` takes long texts)."""
MAX_CANDIDATES = 4
DEFAULT_VOICE = "slt"
EXAMPLE_TEXTS = ("The train leaves at nine from platform two.", "I can't believe you did that! Who told you?")


def _speech_package() -> Path | None:
    """``generators/speech`` (located without importing the TTS module or torch), or None."""
    try:
        spec = importlib.util.find_spec("emotive.generators.speech.tts")
    except ModuleNotFoundError:
        return None
    return None if spec is None or spec.origin is None else Path(spec.origin).parent


def tts_dir() -> Path | None:
    """The pipeline folder the tab uses: ``$EMOTIVE_DEMO_TTS`` if set, else the embedded ``pretrained/``."""
    env = os.environ.get(TTS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    pkg = _speech_package()
    return None if pkg is None else pkg / "pretrained"


def _codec_ready(folder: Path) -> bool:
    """A codec folder: config.json plus its weights (spectral: model.safetensors; EnCodec: the same name)."""
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def tts_ready() -> bool:
    """The TTS module exists and its folder holds both the codec and the LM weights (file checks only)."""
    root = tts_dir()
    if root is None or _speech_package() is None:
        return False
    lm = root / "lm"
    return _codec_ready(root / "codec") and (lm / "config.json").is_file() and (lm / "model.safetensors").is_file()


def recogniser_ready() -> bool:
    """The speech emotion recogniser's shipped weights exist (evaluators/speech/pretrained/ser)."""
    try:
        spec = importlib.util.find_spec("emotive.evaluators.speech.ser")
    except ModuleNotFoundError:
        return False
    return spec is not None and spec.origin is not None and (
        Path(spec.origin).parent / "pretrained" / "ser" / "model.safetensors").is_file()


def available() -> bool:
    """The TTS weights exist and so does the recogniser that judges the result (no model is loaded)."""
    return tts_ready() and recogniser_ready()


def voices() -> list[str]:
    """The LM's voices, read from its config.json (no model load); empty if unreadable."""
    root = tts_dir()
    try:
        found = json.loads((root / "lm" / "config.json").read_text())["voices"]  # type: ignore[operator]
    except (OSError, KeyError, TypeError, ValueError):
        return []
    return [str(v) for v in found] if isinstance(found, list) else []


def default_voice() -> str | None:
    vs = voices()
    return DEFAULT_VOICE if DEFAULT_VOICE in vs else (vs[0] if vs else None)


_PIPES: dict[str, Any] = {}
_SER = None
_LOCK = threading.Lock()


def _pipe() -> Any:
    """The pipeline for the current :func:`tts_dir` (loaded once per folder)."""
    root = tts_dir()
    key = str(root)
    with _LOCK:
        if key not in _PIPES:
            import torch

            from emotive.generators.speech.tts import EmotionalSpeechPipeline

            torch.set_num_threads(1)
            _PIPES[key] = EmotionalSpeechPipeline.from_pretrained(root)
    return _PIPES[key]


def _recogniser() -> Any:
    global _SER
    with _LOCK:
        if _SER is None:
            from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

            _SER = SpeechEmotionRecognizer.from_pretrained()
    return _SER


def warm_up() -> None:
    """Load the codec, the LM and the recogniser."""
    _pipe()
    _recogniser()


def check_text(text: Any) -> str:
    """The text to speak, stripped; a user-facing error when empty or too long."""
    t = str(text or "").strip()
    if not t:
        raise ux.DemoInputError("Type a sentence to speak.")
    if len(t) > MAX_TEXT_CHARS:
        raise ux.DemoInputError(f"The text is {len(t)} characters long; the demo speaks up to {MAX_TEXT_CHARS} "
                                "(use `emotive speak` for longer texts).")
    return t


def check_candidates(candidates: Any) -> int:
    """Takes per sentence as an int in [1, MAX_CANDIDATES]; a user-facing error otherwise."""
    message = f"Candidates must be a whole number from 1 to {MAX_CANDIDATES}, got {candidates!r}."
    try:
        x = float(candidates)
    except (TypeError, ValueError):
        raise ux.DemoInputError(message) from None
    if not math.isfinite(x) or x != int(x) or not 1 <= x <= MAX_CANDIDATES:
        raise ux.DemoInputError(message)
    return int(x)


def check_voice(voice: Any) -> str:
    """A voice the LM knows (checked against its config, before any model loads)."""
    known = voices()
    if voice not in known:
        raise ux.DemoInputError(f"Unknown voice {voice!r}; choose one of {', '.join(known) or '(none found)'}.")
    return str(voice)


def synthesise(text: Any, voice: Any, emotion: Any, seed: Any, candidates: Any = 1,
               progress: Any = None) -> tuple[Path, Any]:
    """Speak ``text`` into a fresh download WAV; returns (path, SpeechOutput). Also used by the portrait tab."""
    import soundfile as sf

    from emotive.conditioning.files import atomic_output

    words = check_text(text)
    name = check_voice(voice)
    n = check_candidates(candidates)
    generator = ux.generator_for(seed)
    if not tts_ready():
        raise ux.DemoInputError("Text to speech is not available: " + REQUIRES + ".")
    if progress is not None:
        progress(0.05, desc="loading the speech model")
    pipe = _pipe()
    if progress is not None:
        progress(0.1, desc=f"speaking ({n} take{'s' if n > 1 else ''} per sentence)")
    out = pipe(words, emotion=emotion, voice=name, generator=generator, num_candidates=n,
               progress=progress is not None)
    wav = ux.output_file("emotive-speech.wav")
    with atomic_output(wav) as tmp:
        sf.write(str(tmp), out.waveform, out.sample_rate, subtype="PCM_16", format="WAV")
    return wav, out


def _takes_note(out: Any, n: int) -> str:
    if n == 1 or not out.scores:
        return ""
    kept = []
    for sc in out.scores:
        scored = [s for s in sc if isinstance(s, dict) and "score" in s]
        if not scored:
            continue
        best = min(scored, key=lambda s: s["score"])
        kept.append(", ".join(f"{name} {best[key]:.2f}" for key, name in (("wer", "WER"), ("p_emotion", "P(emotion)"))
                              if isinstance(best.get(key), int | float)))
    if not kept:
        return f" Best of {n} takes per chunk."
    return f" Best of {n} takes per chunk (lowest WER + (1 - P(emotion))): " + "; ".join(kept) + "."


def speak(text: Any, voice: Any, candidates: Any, seed: Any, request: str,
          progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, Any, str, list[str]]:  # noqa: B008
    """Speak; returns (WAV, verdict chart, verdict text, [WAV, verdict JSON])."""
    from emotive.evaluators.speech.audio import AudioInputError

    from ..charts import verdict_chart, verdict_markdown

    emotion = request_to_emotion(request)
    n = check_candidates(candidates)
    wav, out = synthesise(text, voice, emotion, seed, n, progress=progress)
    progress(0.8, desc="recognising the emotion and transcribing (Whisper)")
    words = check_text(text)
    about = (f"{out.duration:.1f} s of speech at {out.sample_rate} Hz, voice **{out.voice}**, "
             f"{len(out.chunks)} chunk(s).{_takes_note(out, n)}")
    try:  # the waveform in memory: messages then say "speech", not a server path
        verdict = _recogniser().evaluate(out.waveform, emotion, sr=out.sample_rate, text=words)
    except AudioInputError as exc:  # e.g. shorter than the recogniser's minimum: the audio stands, no verdict
        gr.Warning(f"No verdict for this take: {exc}")
        return str(wav), None, f"*No verdict: {exc}*\n\n{about}", [str(wav)]
    verdict_path = ux.write_text_output("speech-verdict.json", verdict.to_json(indent=2))
    return str(wav), verdict_chart(verdict), verdict_markdown(verdict) + "\n\n" + about, [str(wav), str(verdict_path)]


def build(panel: EmotionPanel) -> None:
    """Text, voice and candidates on the left; audio, verdict and downloads on the right."""
    gr.Markdown(
        "Type a sentence and hear it spoken with the emotion chosen above. An emotion-conditioned codec "
        "language model predicts audio tokens from the phonemes, and the codec turns them into speech. "
        "With more than one candidate, each sentence is spoken several times and the take with the fewest "
        "transcription errors and the clearest emotion is kept. The speech emotion recogniser and Whisper "
        "then judge the result."
    )
    vs = voices()
    first = default_voice()
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            text = gr.Textbox(label="Text", lines=3, max_lines=6, placeholder=EXAMPLE_TEXTS[0],
                              info=f"English, up to {MAX_TEXT_CHARS} characters; numbers and dates are read out",
                              elem_id="speech-text")
            voice = gr.Dropdown(vs, value=first, label="Voice", elem_id="speech-voice")
            candidates = gr.Slider(1, MAX_CANDIDATES, value=1, step=1, label="Candidates per sentence",
                                   info="more takes = better odds, proportionally slower", elem_id="speech-candidates")
            seed = ux.seed_input(elem_id="speech-seed")
            run = gr.Button("Speak", variant="primary", elem_id="speech-run")
            other = next((v for v in vs if v != first), first)
            examples = [[EXAMPLE_TEXTS[0], first, 1, 0], [EXAMPLE_TEXTS[1], other, 2, 1]]
            gr.Examples(examples, inputs=[text, voice, candidates, seed],
                        example_labels=[f"{e[0]} ({e[1]}, {e[2]} take{'s' if e[2] > 1 else ''})" for e in examples],
                        label="Examples (click one, then Speak; the emotion comes from the panel above)",
                        elem_id="speech-examples")
        with gr.Column(scale=6, min_width=360):
            audio = gr.Audio(label="Speech", type="filepath", interactive=False, elem_id="speech-audio")
            chart = gr.Plot(label="Verdict of the speech emotion recogniser", show_label=False,
                            elem_id="speech-verdict")
            verdict_text = gr.Markdown(elem_id="speech-verdict-text")
            download = gr.File(label="Downloads: WAV, verdict JSON", file_count="multiple", interactive=False,
                               elem_id="speech-download")
    panel.bind(run.click, speak, [text, voice, candidates, seed], [audio, chart, verdict_text, download],
               api_name="speak", api_description="Speak English text with an emotion in one of the voices.")


def api_cases() -> dict[str, dict[str, list[tuple]]]:
    v = default_voice() or DEFAULT_VOICE
    return {
        "speak": {
            "ok": [(EXAMPLE_TEXTS[0], v, 1, 0, "happy:0.8")],
            "bad": [
                ("", v, 1, 0, "happy"),  # empty text
                ("   ", v, 1, 0, "happy"),
                ("x" * (MAX_TEXT_CHARS + 1), v, 1, 0, "happy"),  # too long
                ("Hello.", "nobody", 1, 0, "happy"),  # unknown voice
                ("Hello.", v, 0, 0, "happy"),  # no candidates
                ("Hello.", v, 1.5, 0, "happy"),  # fractional candidates
                ("Hello.", v, 1, -1, "happy"),  # bad seed
                ("Hello.", v, 1, 0, "suprised:0.4"),  # misspelt emotion
            ],
        }
    }


API_CASES = api_cases()
"""The cases for the TTS folder of import time; the tests call :func:`api_cases`."""
BROWSER_CASE = {"examples": "speech-examples", "run": "speech-run",
                "outputs": ["speech-audio", "speech-verdict", "speech-download"]}
