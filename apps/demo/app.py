"""Build and launch the demo page: the shared emotion panel above one tab per available generator.

``build_app()`` returns the ``gr.Blocks`` (nothing loaded yet, start-up stays
fast); ``launch()`` starts the server; the text resolver and each tab's
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

import gradio as gr

from . import ux
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
    with gr.Blocks(title="emotive demo", analytics_enabled=False) as blocks:
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


def launch(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, block: bool = True, warm: bool = True) -> DemoApp:
    """Serve the demo on ``http://host:port`` (offline, analytics off); blocks unless ``block=False``."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    check_port(host, port)
    t0 = time.perf_counter()
    app = build_app()
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
    )
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
            app.blocks.block_thread()
        finally:
            app.blocks.close()
    return app
