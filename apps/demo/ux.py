"""UX rules shared by every demo tab, as code: error mapping, limits, seeds, output files.

* :func:`user_errors` wraps an event handler: an :class:`EmotiveError` becomes a
  ``gr.Error`` carrying its message; anything else becomes a short ``gr.Error``
  naming the exception type, with the traceback going to the server log only.
  The page never shows a traceback and the worker survives.
* :data:`LIMITS` holds the upload limits; :func:`limits_note` states them in the UI
  and :func:`check_audio_upload` / :func:`check_image_upload` enforce them.
* :func:`seed_input` + :func:`generator_for` give every generator tab the same seed control.
* :data:`HEAVY` is the ``concurrency_id`` every generator event shares, so only
  :data:`HEAVY_LIMIT` heavy job runs at a time on a small machine.
* :func:`output_file` gives a fresh path for a downloadable result, written via
  ``atomic_output`` (never half-written). Everything the demo writes lives in one folder per
  process (:func:`run_dir`), swept while serving and removed when the demo stops.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from emotive.apps import seeds
from emotive.apps.demo import rundir
from emotive.conditioning import EmotiveError
from emotive.conditioning.files import atomic_output

log = logging.getLogger("emotive.demo")

HEAVY = "emotive-heavy"
"""``concurrency_id`` shared by all generator/evaluator events (model inference)."""
HEAVY_LIMIT = 1
"""Heavy jobs at a time: one, because the reference machine has 2 CPU cores."""
LIGHT_LIMIT = 4
"""Default concurrency for light events (emotion resolution, plots)."""
QUEUE_MAX_SIZE = 32
"""Requests waiting in the queue before new ones are refused with a message."""
MAX_SEED = seeds.MAX_SEED
"""The one seed rule of every command (:mod:`emotive.apps.seeds`)."""


class DemoInputError(EmotiveError, ValueError):
    """Bad input to a demo tab (empty fields, out-of-range numbers, bad uploads)."""


@dataclass(frozen=True)
class UploadLimits:
    """Limits on user uploads, enforced by the server and stated in the UI."""

    max_megabytes: float = 20.0
    """Any upload; gradio itself refuses bigger files (``launch(max_file_size=...)``)."""
    max_audio_seconds: float = 30.0
    """Longest audio clip a tab accepts (speech/voice conversion/portrait work scales with it)."""
    max_image_pixels: int = 2048 * 2048
    """Largest portrait (4.2 megapixels); the face pipeline downsizes anyway."""

    @property
    def max_bytes(self) -> int:
        return int(self.max_megabytes * 1024 * 1024)

    @property
    def gradio_max_file_size(self) -> str:
        return f"{self.max_megabytes:g}mb"


LIMITS = UploadLimits()


def limits_note(*kinds: str) -> str:
    """One Markdown line stating the upload limits for ``kinds`` ("audio", "image", "file")."""
    parts = [f"files up to {LIMITS.max_megabytes:g} MB"]
    if "audio" in kinds:
        parts.append(f"audio up to {LIMITS.max_audio_seconds:g} s (WAV, FLAC, OGG, MP3)")
    if "image" in kinds:
        side = int(math.sqrt(LIMITS.max_image_pixels))
        parts.append(f"images up to {LIMITS.max_image_pixels / 1e6:.1f} megapixels (e.g. {side}x{side}; PNG, JPEG, "
                     "WEBP)")
    return "**Upload limits:** " + "; ".join(parts) + "."


def _check_size(path: str | Path | None, what: str) -> Path:
    if path is None or str(path) == "":
        raise DemoInputError(f"No {what} was given: upload or record one first.")
    p = Path(path)
    if not p.is_file():
        raise DemoInputError(f"The uploaded {what} could not be found on the server; upload it again.")
    size = p.stat().st_size
    if size == 0:
        raise DemoInputError(f"The uploaded {what} is empty.")
    if size > LIMITS.max_bytes:
        raise DemoInputError(
            f"The uploaded {what} is {size / 1024 / 1024:.1f} MB; the limit is {LIMITS.max_megabytes:g} MB."
        )
    return p


def check_audio_upload(path: str | Path | None) -> tuple[float, int]:
    """Validate an uploaded audio file; returns (duration in seconds, sample rate in Hz)."""
    import soundfile as sf

    p = _check_size(path, "audio file")
    try:
        info = sf.info(str(p))
    except Exception as exc:  # libsndfile raises its own error types for non-audio
        raise DemoInputError(
            f"'{p.name}' is not an audio file that can be read (use WAV, FLAC, OGG or MP3)."
        ) from exc
    duration = float(info.frames) / float(info.samplerate) if info.samplerate else 0.0
    if duration <= 0:
        raise DemoInputError(f"'{p.name}' contains no audio.")
    if duration > LIMITS.max_audio_seconds:
        raise DemoInputError(
            f"'{p.name}' is {duration:.1f} s long; the limit is {LIMITS.max_audio_seconds:g} s. Trim it first."
        )
    return duration, int(info.samplerate)


def check_image_upload(path: str | Path | None) -> tuple[int, int]:
    """Validate an uploaded image; returns (width, height) in pixels."""
    from PIL import Image, UnidentifiedImageError

    p = _check_size(path, "image")
    try:
        with Image.open(p) as im:
            width, height = im.size
            im.verify()
    except Image.DecompressionBombError as exc:  # PIL refuses over ~179 megapixels before reading them
        raise DemoInputError(f"'{p.name}' has far more pixels than the limit of "
                             f"{LIMITS.max_image_pixels / 1e6:.1f} megapixels. Downsize it first.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DemoInputError(f"'{p.name}' is not an image that can be read (use PNG, JPEG or WEBP).") from exc
    if width * height > LIMITS.max_image_pixels:
        raise DemoInputError(
            f"'{p.name}' is {width}x{height} ({width * height / 1e6:.1f} megapixels); the limit is "
            f"{LIMITS.max_image_pixels / 1e6:.1f} megapixels. Downsize it first."
        )
    return width, height


# ------------------------------------------------------------------ seeds
def seed_input(value: int = 0, elem_id: str | None = None) -> gr.Number:
    """The seed box every generator tab shows (same seed + same inputs = same output)."""
    return gr.Number(
        value=value,
        precision=0,
        minimum=0,
        maximum=MAX_SEED,
        label="Seed",
        info="Same seed and inputs give the same output; change it for another take.",
        elem_id=elem_id,
    )


def check_seed(seed: Any) -> int:
    """A seed from the UI or the API as an int (the rule of :mod:`emotive.apps.seeds`); raises DemoInputError
    otherwise."""
    try:
        return seeds.check_seed(seed)
    except seeds.SeedError as exc:
        raise DemoInputError(str(exc)) from None


def generator_for(seed: Any):
    """A CPU ``torch.Generator`` seeded from the UI's seed (all randomness goes through it)."""
    import torch

    return torch.Generator().manual_seed(check_seed(seed))


# ------------------------------------------------------------------ errors
_INTERNAL = "Something went wrong inside the demo ({name}). The server log has the details; try other input."


def _server_dirs() -> list[str]:
    """Folders whose paths mean nothing to the person at the browser (uploads and results live there)."""
    dirs = {tempfile.gettempdir(), os.environ.get("GRADIO_TEMP_DIR", ""), str(output_dir())}
    return sorted((d.rstrip("/") for d in dirs if d and d != "/"), key=len, reverse=True)


def redact_paths(message: str) -> str:
    """Replace server-side paths under the temp/upload folders by the file name alone.

    ``"'/tmp/gradio/3f2a.../coffee.png': no face found"`` -> ``"'coffee.png': no face found"``.
    """
    for root in _server_dirs():
        message = re.sub(re.escape(root) + r"/(?:[^\s'\"/]+/)*([^\s'\"/]+)", r"\1", message)
    return message


def to_gr_error(exc: BaseException) -> gr.Error:
    """The ``gr.Error`` the page shows for ``exc`` (never a traceback, never a server temp path)."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, EmotiveError):
        return gr.Error(redact_paths(str(exc)), title="Please check the input", print_exception=False)
    return gr.Error(_INTERNAL.format(name=type(exc).__name__), title="Internal error", print_exception=False)


def user_errors(fn: Callable) -> Callable:
    """Decorate an event handler so that every failure reaches the page as a ``gr.Error``.

    Works for plain functions and generator functions (streaming handlers).
    ``functools.wraps`` keeps the signature, so ``progress=gr.Progress()`` still works.
    """

    def convert(exc: Exception) -> gr.Error:
        if not isinstance(exc, gr.Error | EmotiveError):
            log.exception("demo handler %s failed", getattr(fn, "__name__", fn))
        return to_gr_error(exc)

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise convert(exc) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise convert(exc) from None

    return wrapper


# ------------------------------------------------------------------ files
RESULT_TTL_S = 3600
"""A result stays downloadable this long after it was made (gradio's cached copy; handing the same file out
again restarts the clock). Gradio forgets a closed page's state after the same hour, so by then no page can ask
for it. Stated on the page."""
CACHE_SWEEP_S = 300
"""How often gradio's cache is swept for results older than :data:`RESULT_TTL_S` (``gr.Blocks(delete_cache=...)``)."""
ORIGINAL_GRACE_S = 120
"""A handler's own copy of a result is needed only until gradio has copied it into its cache, right after the
handler returns; after this long it is deleted."""


def run_dir() -> Path:
    """This process's folder for everything the demo writes (:mod:`emotive.apps.demo.rundir`)."""
    return rundir.run_dir()


def output_dir() -> Path:
    """This process's folder for downloadable results (``<run_dir>/results``)."""
    folder = rundir.run_dir() / "results"
    folder.mkdir(exist_ok=True)
    return folder


remove_run_dir = rundir.remove_run_dir
sweep_abandoned_runs = rundir.sweep_abandoned_runs


def output_file(name: str) -> Path:
    """A fresh path ``<output_dir>/<unique>/<name>`` for one result; write it with ``atomic_output``."""
    folder = output_dir() / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    return folder / name


def write_text_output(name: str, text: str) -> Path:
    """Write ``text`` to a fresh download file atomically; returns its path."""
    path = output_file(name)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def sweep_results(max_age_s: float = ORIGINAL_GRACE_S, now: float | None = None) -> int:
    """Delete result folders in :func:`output_dir` older than ``max_age_s``; returns how many went."""
    folder = rundir.current()
    if folder is None:
        return 0
    now = time.time() if now is None else now
    gone = 0
    try:
        entries = list(os.scandir(folder / "results"))
    except OSError:
        return 0
    for entry in entries:
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > max_age_s
        except OSError:
            continue
        if old and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            gone += 1
    return gone
