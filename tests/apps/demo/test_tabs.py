"""Tab discovery: available tabs are built, the rest are listed with a reason, nothing breaks the page."""

from __future__ import annotations

from emotive.apps.demo.app import build_app
from emotive.apps.demo.tabs import REQUIRED, discover


def test_discover_sorts_and_explains(fake_tabs):
    tabs = {t.name: t for t in discover(fake_tabs)}
    assert "_helpers" not in tabs
    assert set(tabs) == {"alpha", "beta", "broken", "raising", "incomplete"}
    assert [t.name for t in discover(fake_tabs) if t.available] == ["alpha"]
    assert tabs["alpha"].api_names == ("alpha_run",) and tabs["alpha"].title == "Alpha"
    assert tabs["beta"].reason == "the beta weights (run emotive train beta)"
    assert "failed to import" in tabs["broken"].reason and "does_not_exist" in tabs["broken"].reason
    assert "weights corrupt" in tabs["raising"].reason
    assert "lacks available, build" in tabs["incomplete"].reason
    ordered = [t.name for t in discover(fake_tabs)]
    assert ordered.index("raising") < ordered.index("beta") < ordered.index("alpha")


def test_build_app_shows_available_tabs_and_lists_the_rest(fake_tabs):
    app = build_app(discover(fake_tabs))
    assert [t.name for t in app.shown] == ["alpha"]
    config = app.blocks.get_config_file()
    labels = [c.get("props", {}).get("label") for c in config["components"]]
    assert "Alpha" in labels and "Beta" not in labels
    footer = next(c["props"]["value"] for c in config["components"] if c.get("props", {}).get("elem_id") == "footer-notes")
    assert "**Beta** (the beta weights (run emotive train beta))" in footer
    api_names = {d.get("api_name") for d in config["dependencies"] if d.get("api_visibility", "public") == "public"}
    assert {"resolve_emotion", "alpha_run"} <= api_names


def test_real_tabs_follow_the_protocol():
    tabs = discover()
    names = [t.name for t in tabs]
    assert "explorer" in names
    for tab in tabs:
        assert tab.module is not None, tab.reason
        for attr in REQUIRED:
            assert hasattr(tab.module, attr), (tab.name, attr)
        if tab.available:
            assert tab.api_names, f"{tab.name} declares no API_NAMES"
            assert set(getattr(tab.module, "API_CASES", {})) == set(tab.api_names), tab.name
            if hasattr(tab.module, "api_cases"):
                assert set(tab.module.api_cases()) == set(tab.api_names), tab.name
            case = getattr(tab.module, "BROWSER_CASE", None)
            assert case and {"examples", "run", "outputs"} <= set(case), tab.name


def test_panel_bind_resyncs_the_emotion_then_runs_in_the_heavy_slot(fake_tabs):
    from emotive.apps.demo import ux

    app = build_app(discover(fake_tabs))
    deps = {d["api_name"]: d for d in app.blocks.get_config_file()["dependencies"]}
    run, sync = deps["alpha_run"], deps["_sync_request"]
    assert sync["api_visibility"] == "private" and len(sync["inputs"]) == 7
    request_id = sync["outputs"][0]
    assert run["trigger_after"] == sync["id"] and run["trigger_only_on_success"]
    assert run["inputs"][-1] == request_id  # the handler gets the freshly resolved request last
    fn = app.blocks.fns[run["id"]]
    assert fn.concurrency_id == ux.HEAVY and fn.concurrency_limit == ux.HEAVY_LIMIT
    assert fn.fn("text", "happy:0.5") == "text|happy:0.5"
