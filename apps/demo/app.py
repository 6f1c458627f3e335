"""Build and launch the demo page: the shared emotion panel above one tab per available generator.

``build_app()`` returns the ``gr.Blocks`` (nothing loaded yet, start-up stays
fast); ``launch()`` starts the server, with ``emotive serve``'s speech API
(``/v1/...``, :func:`speech_api`) in front of the page; the text resolver and each tab's
models then load in a background thread, started when the first page has
loaded (or after :data:`WARM_UP_DELAY_S`), so loading them does not compete
with serving the first page.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from emotive.apps.server.app import ApiInFront

from . import rundir, ux
from .panel import build_panel
from .ports import check_port
from .tabs import TabInfo, discover

log = logging.getLogger("emotive.demo")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
WARM_UP_DELAY_S = 12.0
"""Start the warm-up after this long even if no page was opened (API-only use)."""
HEADER = (
    "# emotive\n"
    "One emotion request drives speech, talking portraits and music; recognisers check what came out. "
    "**1.** Set the emotion below (a label, a point in valence-arousal space, or words). "
    "**2.** Pick a tab and press its button; each result comes with the evaluator's verdict."
)
CSS = """
#emotion-panel {padding: 4px;}
footer {visibility: visible;}
"""


@dataclass
class DemoApp:
    """The built page and what went into it."""

    blocks: gr.Blocks
    tabs: list[TabInfo] = field(default_factory=list)
    warm_up_started: threading.Event = field(default_factory=threading.Event)
    warm_up_enabled: bool = False

    @property
    def shown(self) -> list[TabInfo]:
        return [t for t in self.tabs if t.available]

    @property
    def hidden(self) -> list[TabInfo]:
        return [t for t in self.tabs if not t.available]


def _footer(app_tabs: list[TabInfo]) -> str:
    lines = [ux.limits_note("audio", "image") + " One heavy job runs at a time; others wait in the queue."]
    hidden = [t for t in app_tabs if not t.available]
    if hidden:
        lines.append("Not shown yet: " + "; ".join(f"**{t.title}** ({t.reason})" for t in hidden) + ".")
    lines.append(f"Results stay downloadable for {ux.RESULT_TTL_S // 60} minutes; the server keeps nothing after "
                 "it stops.")
    lines.append("Offline: nothing here contacts the internet. API: see “Use via API” at the bottom of the page.")
    return "\n\n".join(lines)


def build_app(tabs: list[TabInfo] | None = None) -> DemoApp:
    """Discover the tabs and build the page (call :func:`launch` or ``.blocks.launch`` to serve it)."""
    tabs = discover() if tabs is None else tabs
    built: list[DemoApp] = []

    def page_drawn() -> None:
        if built:
            start_warm_up(built[0])  # a page is up (it arrives complete: the panel's default is part of it)

    # One `with` block: gradio rebuilds its whole FastAPI app on every exit (and on queue()).
    # Gradio's own sweep of its cache (results handed to pages, uploads): files older than RESULT_TTL_S go, and all
    # of them when the server stops. Chosen over tracking sessions: gradio gives no hook that knows when the last
    # page (or API client) that could fetch a file is gone, and it names its copies by content hash.
    with gr.Blocks(title="emotive demo", analytics_enabled=False,
                   delete_cache=(ux.CACHE_SWEEP_S, ux.RESULT_TTL_S)) as blocks:
        gr.Markdown(HEADER, elem_id="header")
        panel = build_panel()
        with gr.Tabs(elem_id="tabs"):
            for tab in tabs:
                if not tab.available:
                    continue
                with gr.Tab(tab.title, id=tab.name, elem_id=f"tab-{tab.name}"):
                    tab.module.build(panel)
        gr.Markdown(_footer(tabs), elem_id="footer-notes")
        blocks.load(page_drawn, None, None, api_visibility="private", queue=False, show_progress="hidden")
    app = DemoApp(blocks, tabs)
    built.append(app)
    blocks.queue(default_concurrency_limit=ux.LIGHT_LIMIT, max_size=ux.QUEUE_MAX_SIZE)
    return app


def speech_api() -> Any | None:
    """``emotive serve``'s OpenAI-compatible speech API (``/v1/audio/speech``, ``/v1/models``, ``/v1/voices``) for
    the demo's own port, speaking with the Speech tab's pipeline (one Kokoro in memory); None without the TTS."""
    from .tabs import speech

    if not speech.tts_ready():
        return None
    from emotive.apps.server.app import Limits, create_app

    return create_app(load_pipeline=speech._pipe, limits=Limits(), warm=False)


def start_warm_up(app: DemoApp) -> None:
    """Start :func:`warm_up` in a background thread, once, if the app was launched with warm-up."""
    if not app.warm_up_enabled or app.warm_up_started.is_set():
        return
    with _WARM_LOCK:
        if app.warm_up_started.is_set():
            return
        app.warm_up_started.set()
    threading.Thread(target=warm_up, args=(app,), name="emotive-warm-up", daemon=True).start()


_WARM_LOCK = threading.Lock()


def warm_up(app: DemoApp) -> None:
    """Load the text resolver and every shown tab's models (runs in a background thread)."""
    t0 = time.perf_counter()
    from emotive.conditioning.text import default_resolver

    try:
        default_resolver().warm_up()
    except Exception:  # the page still works for labels and VAD; text requests will report the problem
        log.exception("warming up the text resolver failed")
    try:
        _preload_charts()
    except Exception:
        log.exception("preloading matplotlib failed")
    for tab in app.shown:
        fn = getattr(tab.module, "warm_up", None)
        if fn is None:
            continue
        try:
            fn()
        except Exception:
            log.exception("warming up tab %s failed", tab.name)
    log.info("demo warm-up done in %.1f s", time.perf_counter() - t0)
    print(f"emotive demo: models warmed up in {time.perf_counter() - t0:.1f} s", flush=True)


def _preload_charts() -> None:
    """Import matplotlib and draw one verdict chart (font cache, Agg canvas), so the first result is not slower."""
    import io

    from emotive.conditioning import LABELS, Emotion
    from emotive.evaluators.base import Verdict

    from .charts import verdict_chart

    probs = tuple(1.0 / len(LABELS) for _ in LABELS)
    verdict_chart(Verdict("demo", probs, (0.0, 0.0, 0.0), Emotion.from_label("happy"), False, {"x": 1.0})).savefig(
        io.BytesIO(), format="webp")


SESSION_CAPACITY = 64
"""Browser/API sessions whose state gradio keeps in memory (gradio's default, 10,000, let memory grow with every
new session: each holds a copy of the page's component configuration). The oldest beyond this are forgotten."""
SWEEP_EVERY_S = 30.0
"""How often the handlers' own copies of results are swept (:func:`emotive.apps.demo.ux.sweep_results`)."""
STOP_TIMEOUT_S = 2.0
"""On Ctrl-C, how long the server may take to close connections before the process exits anyway (a running job is
abandoned; queued ones are cancelled). Well under the 5 s a user waits."""


MALLOC_ARENAS = 2
"""glibc malloc arenas (default 8 per core). Every request runs in one of gradio's worker threads, and each thread's
arena kept the memory its numpy/torch buffers had freed: idle RSS rose with every request. Two arenas and a
periodic ``malloc_trim`` let it level off."""


def _glibc():
    """glibc, or None elsewhere (musl, macOS): the memory settings are then skipped."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at :data:`MALLOC_ARENAS` (M_ARENA_MAX) for this process."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-8, MALLOC_ARENAS)  # M_ARENA_MAX


def release_free_memory() -> None:
    """Give memory that Python, numpy and torch have freed back to the system (glibc ``malloc_trim``)."""
    import gc

    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _sweep_loop(stop: threading.Event) -> None:
    while not stop.wait(SWEEP_EVERY_S):
        try:
            ux.sweep_results()
            release_free_memory()
        except Exception:  # the sweep must never take the server down
            log.exception("sweeping results failed")


def launch(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, block: bool = True, warm: bool = True) -> DemoApp:
    """Serve the demo on ``http://host:port`` (offline, analytics off); blocks unless ``block=False``.

    With ``block=True`` (``emotive demo``), Ctrl-C or SIGTERM stops it within :data:`STOP_TIMEOUT_S` seconds and
    everything it wrote (results, gradio's cache and uploads: :func:`emotive.apps.demo.ux.run_dir`) is removed.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    check_port(host, port)
    t0 = time.perf_counter()
    for gone in rundir.sweep_abandoned_runs():
        log.info("removed the folder of a demo that was killed: %s", gone)
    rundir.adopt_as_temp_dir()  # `emotive demo` did so before importing gradio; again for Python callers
    limit_malloc_arenas()
    app = build_app()
    api = speech_api()
    app.blocks.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        show_error=True,  # messages of input-processing errors (never tracebacks) reach API callers
        max_file_size=ux.LIMITS.gradio_max_file_size,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        allowed_paths=[str(ux.output_dir())],
        css=CSS,
        quiet=True,
        state_session_capacity=SESSION_CAPACITY,
        app_kwargs={"middleware": [Middleware(ApiInFront, api=api)]} if api is not None else None,
    )
    sweeping = threading.Event()
    threading.Thread(target=_sweep_loop, args=(sweeping,), name="emotive-sweep", daemon=True).start()
    shown = ", ".join(t.title for t in app.shown) or "none"
    print(f"emotive demo: serving http://{host}:{port} (tabs: {shown}; built in {time.perf_counter() - t0:.1f} s)",
          flush=True)
    if warm:
        app.warm_up_enabled = True
        timer = threading.Timer(WARM_UP_DELAY_S, start_warm_up, args=(app,))
        timer.daemon = True
        timer.start()
    if block:
        try:
            _serve_until_stopped(app)
        finally:
            sweeping.set()
            ux.remove_run_dir()
    return app


def _serve_until_stopped(app: DemoApp) -> None:
    """Wait for Ctrl-C / SIGTERM (or the server stopping), then close the server within :data:`STOP_TIMEOUT_S`.

    Gradio's own ``block_thread`` closes the server only after every connection has ended, so a running job (or a
    browser's open event stream) kept the process alive after Ctrl-C.
    """
    import signal

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.2) and app.blocks.is_running:
            pass
        print("emotive demo: stopping (queued requests are cancelled)", flush=True)
        server = getattr(app.blocks, "server", None)
        if server is not None:  # uvicorn: do not wait for open connections (event streams, running jobs) to end
            server.force_exit = True
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # the connections it cancels are expected:
            logging.getLogger(name).setLevel(logging.CRITICAL)  # no tracebacks for them on the console
        closing = threading.Thread(target=app.blocks.close, kwargs={"verbose": False}, name="emotive-close",
                                   daemon=True)
        closing.start()
        closing.join(STOP_TIMEOUT_S)
        if closing.is_alive():
            log.warning("the server did not close within %.0f s; exiting anyway", STOP_TIMEOUT_S)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    ux.remove_run_dir()
    print("emotive demo: stopped", flush=True)
