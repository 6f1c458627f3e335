"""Debian's Chromium (headless, through Playwright) drives the running demo like a user.

Opens the page, uses the emotion panel, runs each tab's first example
(``BROWSER_CASE`` in the tab module), checks that the outputs have content,
sends bad input, and saves screenshots to test-artifacts/. Never runs
``playwright install``: the browser is the system's ``chromium``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from emotive.apps.demo.tabs import discover

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000
TARGET_S = 10.0  # issue 7: page interactive <= 10 s after start, on an idle 2-core machine


def interactive_limit_s() -> float:
    """The target scaled by how oversubscribed the CPUs are right now (x1.5 at least: chromium shares them)."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return TARGET_S * max(1.5, load)

# Content check for an output element: a loaded image, a media source, a filled table or a file link.
HAS_CONTENT = """(id) => {
  const el = document.getElementById(id);
  if (!el) return "";
  const img = el.querySelector("img");
  if (img && img.complete && img.naturalWidth > 0) return "image";
  const media = el.querySelector("audio, video");
  if (media && (media.currentSrc || media.src)) return "media";
  const cells = Array.from(el.querySelectorAll("td, [role=gridcell]")).filter(c => c.innerText.trim());
  if (cells.length) return "table";
  const link = el.querySelector("a[href]");
  if (link && link.getAttribute("href")) return "link";
  return "";
}"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser, demo_server):
    """One page for the module, with every non-local request recorded (the demo must work offline)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((demo_server.url, "data:", "blob:")) else outside.append(r.url))
    t0 = time.perf_counter()
    page.goto(demo_server.url)
    page.wait_for_selector("#emotion-plot img")
    page.locator("#emotion-label input").first.wait_for(state="visible")
    load_s = time.perf_counter() - t0
    yield page, outside, load_s
    page.close()


def shot(page, artifacts_dir: Path, name: str) -> Path:
    path = artifacts_dir / f"demo-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def no_traceback(page) -> None:
    text = page.inner_text("body")
    assert "Traceback" not in text and 'File "' not in text, text[:2000]


def test_page_interactive_and_offline(session, demo_server, artifacts_dir):
    page, outside, load_s = session
    total = demo_server.serving_after_s + load_s
    limit = interactive_limit_s()
    (artifacts_dir / "demo-timing.json").write_text(json.dumps(
        {"spawn_to_http_s": round(demo_server.serving_after_s, 2), "page_load_to_interactive_s": round(load_s, 2),
         "total_s": round(total, 2), "limit_s": round(limit, 1), "load_avg_1min": os.getloadavg()[0]}, indent=2))
    assert total <= limit, f"page interactive after {total:.1f} s (limit {limit:.1f} s at the current load)"
    assert page.locator("#emotion-request textarea, #emotion-request input").first.input_value() == "happy:0.8"
    assert "happy" in page.inner_text("#emotion-summary")
    shot(page, artifacts_dir, "start")
    assert not outside, f"the page requested outside resources: {outside[:5]}"


def test_panel_follows_text_and_vad(session, artifacts_dir):
    page, outside, _ = session
    request = page.locator("#emotion-request textarea, #emotion-request input").first
    page.locator("#emotion-mode").get_by_text("Text", exact=True).click()
    box = page.locator("#emotion-text textarea, #emotion-text input").first
    box.fill("a trembling, fearful whisper")
    box.press("Enter")
    page.wait_for_function(
        "() => (document.querySelector('#emotion-request textarea, #emotion-request input') || {}).value"
        "?.includes('src=text')"
    )
    assert "fearful" in page.inner_text("#emotion-summary")
    shot(page, artifacts_dir, "panel-text")
    page.locator("#emotion-mode").get_by_text("VAD", exact=True).click()
    page.wait_for_function(
        "() => (document.querySelector('#emotion-request textarea, #emotion-request input') || {}).value"
        "?.startsWith('vad(')"
    )
    assert request.input_value() == "vad(0.6, 0.4, 0.2)"
    assert page.locator("#emotion-valence").is_visible() and not page.locator("#emotion-text").is_visible()
    shot(page, artifacts_dir, "panel-vad")
    page.locator("#emotion-mode").get_by_text("Label", exact=True).click()
    page.wait_for_function(
        "() => (document.querySelector('#emotion-request textarea, #emotion-request input') || {}).value === 'happy:0.8'"
    )
    no_traceback(page)
    assert not outside


def test_every_tab_runs_its_example(session, artifacts_dir):
    page, outside, _ = session
    tabs = [t for t in discover() if t.available]
    assert tabs, "no tab is available"
    for tab in tabs:
        case = getattr(tab.module, "BROWSER_CASE", None)
        assert case, f"tab {tab.name} has no BROWSER_CASE"
        page.locator(f"#tab-{tab.name}-button").click()
        # one-input examples render as buttons (.gallery-item), several inputs as a table (tr.tr-body)
        page.locator(f"#{case['examples']} .gallery-item, #{case['examples']} tr.tr-body").first.click()
        page.locator(f"#{case['run']}").click()
        for out in case["outputs"]:
            page.wait_for_function(HAS_CONTENT, arg=out)
        kinds = {out: page.evaluate(HAS_CONTENT, out) for out in case["outputs"]}
        assert all(kinds.values()), kinds
        no_traceback(page)
        shot(page, artifacts_dir, f"tab-{tab.name}")
    assert not outside


def test_portrait_text_box_only_with_the_tts(session):
    """The portrait's "text -> speech" input is shown exactly when the Speech tab's TTS is available."""
    from emotive.apps.demo.tabs import speech

    page, outside, _ = session
    if not any(t.name == "portrait" and t.available for t in discover()):
        pytest.skip("the talking portrait tab is not available")
    page.locator("#tab-portrait-button").click()
    page.locator("#portrait-run").wait_for(state="visible")
    assert page.locator("#portrait-text").is_visible() == speech.available()
    assert page.locator("#portrait-preview img").count() == 1, "the preview shows the default portrait"
    assert not outside


def test_explorer_prompt_goes_to_the_panel(session):
    page, outside, _ = session
    page.locator("#tab-explorer-button").click()
    page.locator("#explorer-prompts textarea").fill("furious about the delay\nquietly hopeful")
    page.locator("#explorer-use").click()
    page.wait_for_function(
        "() => (document.querySelector('#emotion-request textarea, #emotion-request input') || {}).value"
        "?.includes('src=text')"
    )
    assert page.locator("#emotion-text textarea, #emotion-text input").first.input_value() == "furious about the delay"
    assert "angry" in page.inner_text("#emotion-summary")
    assert page.locator("#emotion-mode input[value=Text]").is_checked()
    page.locator("#emotion-mode").get_by_text("Label", exact=True).click()
    assert not outside


def test_bad_input_shows_a_message(session, artifacts_dir, demo_server):
    page, outside, _ = session
    page.locator("#tab-explorer-button").click()
    page.locator("#explorer-prompts textarea").fill("   ")
    page.locator("#explorer-run").click()
    toast = page.get_by_text("Type at least one prompt", exact=False).first
    toast.wait_for(state="visible")
    no_traceback(page)
    shot(page, artifacts_dir, "bad-input")
    # the app keeps serving: the same button works again with good input
    page.locator("#explorer-prompts textarea").fill("furious about the delay")
    page.locator("#explorer-run").click()
    page.wait_for_function("() => document.querySelector('#explorer-table')?.innerText.includes('angry')")
    assert demo_server.alive()
    assert not outside


def test_portrait_upload_refuses_non_images_without_server_paths(session, artifacts_dir, demo_server, tmp_path):
    """A .md file (refused by the file box) and a text file named .png (refused by our check): clear messages."""
    page, outside, _ = session
    if not any(t.name == "portrait" and t.available for t in discover()):
        pytest.skip("the talking portrait tab is not available")
    page.locator("#tab-portrait-button").click()
    clear = page.locator("#portrait-image button[aria-label='Clear']")
    if clear.count():  # an example left a portrait in the box
        clear.first.click()
    for name, words in (("notes.md", "Invalid file type: notes.md"), ("notes.png", "'notes.png' is not an image")):
        path = tmp_path / name
        path.write_text("a text file, not a portrait")
        page.locator("#portrait-image input[type=file]").first.set_input_files(str(path))
        page.get_by_text(words, exact=False).first.wait_for(state="visible")
        body = page.inner_text("body")
        i = body.find("/tmp")
        assert i < 0 and "cannot identify" not in body, body[max(0, i - 300): i + 300]
        no_traceback(page)
    shot(page, artifacts_dir, "bad-portrait")
    page.locator("#portrait-image button[aria-label='Clear']").first.click()  # back to the default portrait
    page.wait_for_function("() => document.querySelector('#portrait-preview img')?.naturalWidth > 0")
    no_traceback(page)
    assert "allowed_paths" not in page.inner_text("body")
    assert demo_server.alive() and not outside


def test_bind_runs_with_the_panel_state_of_the_moment(browser, fake_tabs, artifacts_dir):
    """A throw-away tab wired with ``panel.bind``: the handler sees the intensity typed just before the click."""
    import socket

    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from emotive.apps.demo.app import build_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_app(discover(fake_tabs))
    app.blocks.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                      ssr_mode=False, show_error=True)
    url = f"http://127.0.0.1:{port}"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(url)
        page.wait_for_selector("#emotion-plot img")
        page.get_by_label("alpha in").fill("x")
        page.locator("#emotion-intensity input[type=number]").fill("0.3")
        page.locator("#alpha-go").click()
        page.wait_for_function("() => Array.from(document.querySelectorAll('textarea, input'))"
                               ".some(e => e.value === 'x|happy:0.3')")
        shot(page, artifacts_dir, "bind-chain")
        client = Client(url, verbose=False, analytics_enabled=False)
        assert client.predict("y", "sad:0.5", api_name="/alpha_run") == "y|sad:0.5"
        with pytest.raises(AppError, match="Did you mean 'surprised'"):
            client.predict("y", "suprised:0.4", api_name="/alpha_run")
    finally:
        page.close()
        app.blocks.close()
