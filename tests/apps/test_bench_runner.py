import json

import pytest

from emotive.apps.bench import runner
from emotive.apps.bench.runner import BenchResult
from emotive.conditioning import EmotiveError


@pytest.fixture
def tiny_registry(monkeypatch):
    reg: dict = {}
    monkeypatch.setattr(runner, "REGISTRY", reg)
    monkeypatch.setattr(runner, "discover", lambda: reg)

    @runner.register("tiny", "A tiny benchmark", "test", order=1)
    def tiny(ctx):
        r = BenchResult(figures={"accuracy": 0.9, "ms": 12.0})
        r.target("accuracy", ">=", 0.85)
        r.target("ms", "<=", 10.0)
        r.table("rows", ["a", "b"], [[1, 2.5]])
        return r

    @runner.register("broken", "Fails on purpose", "test", order=2)
    def broken(ctx):
        raise RuntimeError("boom")

    return reg


def test_runner_writes_report(tmp_path, tiny_registry):
    rep = runner.run(out_dir=tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data == json.loads(json.dumps(rep, default=str))
    tiny = data["sections"]["tiny"]
    assert [t["passed"] for t in tiny["targets"]] == [True, False]
    assert "boom" in data["sections"]["broken"]["error"]
    md = (tmp_path / "report.md").read_text()
    assert "Targets met: 1 / 2" in md and "A tiny benchmark" in md and "**no**" in md


def test_only_keeps_other_sections(tmp_path, tiny_registry):
    runner.run(out_dir=tmp_path)
    first = json.loads((tmp_path / "report.json").read_text())["sections"]["broken"]["written"]
    runner.run(["tiny"], out_dir=tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data["sections"]) == {"tiny", "broken"}
    assert data["sections"]["broken"]["written"] == first


def test_unknown_benchmark(tmp_path, tiny_registry):
    with pytest.raises(EmotiveError, match="Unknown benchmark"):
        runner.run(["nope"], out_dir=tmp_path)


def test_text_prompt_benchmark_is_registered():
    reg = runner.discover()
    assert "text-prompts" in reg


def test_text_prompt_scoring_counts_correctly():
    from emotive.apps.bench.benchmarks.text_prompts import score, sign_ok
    from emotive.conditioning import Emotion

    rows = [
        {"text": "a", "label": "happy", "valence": 1, "arousal": 1, "category": "x"},
        {"text": "b", "label": "sad", "valence": -1, "arousal": None, "category": "x"},
    ]
    res = score(rows, lambda t: Emotion.parse("happy"))
    assert res["accuracy"] == 0.5 and res["valence_sign"] == 0.5 and res["arousal_sign"] == 1.0
    assert sign_ok(0.01, 0) and not sign_ok(0.3, 0) and sign_ok(-0.01, -1) and not sign_ok(0.0, 1)


def test_sections_written_meanwhile_are_kept(tmp_path, monkeypatch):
    """A long run must not drop a section another run wrote while it was running."""
    import json

    from emotive.apps.bench import runner

    def slow(ctx):
        # another process finishes its own section while this one runs
        (tmp_path / "report.json").write_text(json.dumps({"meta": {}, "sections": {"other": {
            "name": "other", "title": "Other", "modality": "x", "order": 1, "figures": {"a": 1}, "targets": [],
            "tables": [], "plots": [], "notes": [], "seconds": 0.1, "quick": False, "written": "now"}}}))
        r = runner.BenchResult()
        r.figures["b"] = 2.0
        return r

    monkeypatch.setattr(runner, "discover", lambda: {"slow": runner.Benchmark("slow", "Slow", "x", slow, 2),
                                                     "other": runner.Benchmark("other", "Other", "x", slow, 1)})
    rep = runner.run(["slow"], out_dir=tmp_path)
    assert set(rep["sections"]) == {"other", "slow"}
    assert set(json.loads((tmp_path / "report.json").read_text())["sections"]) == {"other", "slow"}


def test_sections_of_retired_benchmarks_are_dropped(tmp_path, tiny_registry):
    runner.run(out_dir=tmp_path)
    del tiny_registry["broken"]  # its code was retired
    runner.run(["tiny"], out_dir=tmp_path)
    assert set(json.loads((tmp_path / "report.json").read_text())["sections"]) == {"tiny"}
    assert "Fails on purpose" not in (tmp_path / "report.md").read_text()


def test_each_section_records_the_machine_load(tmp_path, monkeypatch):
    """A timing missed under load can be told from a regression: load before/during/after and own CPU time."""
    loads = iter([3.0, 3.5, 3.2, 3.4, 3.1] + [3.1] * 50)
    monkeypatch.setattr(runner.os, "getloadavg", lambda: (next(loads), 0.0, 0.0))
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 2)

    def busy(ctx):
        t0 = runner.time.process_time()
        while runner.time.process_time() - t0 < 0.3:  # about 0.3 CPU-s of this process's own work
            pass
        return runner.BenchResult(figures={"ms": 1.0})

    monkeypatch.setattr(runner, "LOAD_SAMPLE_S", 0.05)
    monkeypatch.setattr(runner, "discover", lambda: {"busy": runner.Benchmark("busy", "Busy", "x", busy, 1)})
    rep = runner.run(["busy"], out_dir=tmp_path)
    load = rep["sections"]["busy"]["load"]
    assert load["loadavg_1min_before"] == 3.0 and load["cores"] == 2
    assert 3.0 <= load["loadavg_1min_mean"] <= 3.5 and load["loadavg_1min_max"] >= load["loadavg_1min_mean"]
    assert load["cpu_seconds"] >= 0.25 and 0 < load["own_cpu_share"] <= 1.5
    assert load["others"] >= 1.0  # other processes kept the 2 cores busy
    md = (tmp_path / "report.md").read_text()
    assert "Machine load" in md and "Busy machine" in md
