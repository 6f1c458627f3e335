"""The benchmark runner: executes registered benchmarks, writes report.json/.md (+ plots).

Running a subset (``--only``) updates those sections and keeps the others from
the previous report, each with its own timestamp, so ``bench/report.md`` always
shows where the whole project stands; sections of benchmarks that no longer exist
are dropped.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import pkgutil
import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emotive.conditioning import EmotiveError


@dataclass
class Target:
    """One numeric target of an issue: ``measured <op> threshold``."""

    key: str
    op: str  # ">=" or "<="
    threshold: float
    measured: float | None
    description: str = ""

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        return self.measured >= self.threshold if self.op == ">=" else self.measured <= self.threshold


@dataclass
class BenchResult:
    """What one benchmark produces."""

    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)  # {"title", "header", "rows"}
    plots: list[str] = field(default_factory=list)  # file names inside the report folder
    notes: list[str] = field(default_factory=list)

    def table(self, title: str, header: list[str], rows: list[list[Any]]) -> None:
        self.tables.append({"title": title, "header": header, "rows": rows})

    def target(self, key: str, op: str, threshold: float, description: str = "") -> Target:
        """Add a target for ``figures[key]``."""
        t = Target(key, op, threshold, self.figures.get(key), description)
        self.targets.append(t)
        return t


@dataclass
class BenchContext:
    out_dir: Path
    quick: bool = False
    seed: int = 0

    def plot_path(self, name: str) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir / name


@dataclass
class Benchmark:
    name: str
    title: str
    modality: str
    func: Callable[[BenchContext], BenchResult]
    order: int = 100


REGISTRY: dict[str, Benchmark] = {}


def register(name: str, title: str, modality: str, order: int = 100):
    """Decorator: ``@register("text-prompts", "Text prompts -> Emotion", "conditioning")``."""

    def deco(func: Callable[[BenchContext], BenchResult]):
        REGISTRY[name] = Benchmark(name, title, modality, func, order)
        return func

    return deco


def discover() -> dict[str, Benchmark]:
    """Import every module in ``emotive.apps.bench.benchmarks`` (they self-register)."""
    from emotive.apps.bench import benchmarks

    for mod in pkgutil.iter_modules(benchmarks.__path__):
        importlib.import_module(f"{benchmarks.__name__}.{mod.name}")
    return REGISTRY


LOAD_SAMPLE_S = 2.0
"""How often the machine's load is sampled while a section runs."""


class LoadRecorder:
    """The machine's load while a section runs, so that a timing missed on a busy machine can be told from a
    regression: the 1-minute load average before, during (mean, max of samples every :data:`LOAD_SAMPLE_S`) and
    after, and the CPU time this process (and its children) used. ``others`` estimates the cores other processes
    kept busy: mean load minus this process's own CPU share."""

    def __init__(self, interval_s: float | None = None) -> None:
        import threading

        self.interval_s = LOAD_SAMPLE_S if interval_s is None else interval_s
        self._stop = threading.Event()
        self._samples: list[float] = []
        self._thread = threading.Thread(target=self._sample, name="bench-load", daemon=True)

    @staticmethod
    def _load() -> float | None:
        try:
            return os.getloadavg()[0]
        except OSError:  # not available on this platform
            return None

    @staticmethod
    def _cpu() -> float:
        import resource

        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            value = self._load()
            if value is not None:
                self._samples.append(value)

    def __enter__(self) -> LoadRecorder:
        self.before = self._load()
        self._cpu0, self._t0 = self._cpu(), time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 1)
        self.after = self._load()
        self.wall_s = time.perf_counter() - self._t0
        self.cpu_s = self._cpu() - self._cpu0

    def summary(self) -> dict[str, Any]:
        """The figures stored with the section (``section["load"]``)."""
        during = self._samples or [x for x in (self.before, self.after) if x is not None]
        mean = sum(during) / len(during) if during else None
        share = self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0
        return {
            "cores": os.cpu_count(),
            "loadavg_1min_before": self.before,
            "loadavg_1min_mean": None if mean is None else round(mean, 2),
            "loadavg_1min_max": max(during) if during else None,
            "loadavg_1min_after": self.after,
            "cpu_seconds": round(self.cpu_s, 1),
            "own_cpu_share": round(share, 2),
            "others": None if mean is None else round(max(0.0, mean - share), 2),
        }


def load_note(load: dict[str, Any] | None) -> str:
    """One sentence on the machine's load during a section (empty when it was not recorded)."""
    if not load or load.get("loadavg_1min_mean") is None:
        return ""
    note = (f" Machine load (1-min average) {_fmt(load['loadavg_1min_before'])} before, mean "
            f"{_fmt(load['loadavg_1min_mean'])} / max {_fmt(load['loadavg_1min_max'])} during, on {load['cores']} "
            f"cores; this run used {_fmt(load['own_cpu_share'])} CPU-s per second.")
    if load["others"] is not None and load["cores"] and load["others"] >= 0.5 * load["cores"]:
        note += (f" **Busy machine**: other processes kept about {_fmt(load['others'])} cores busy, so timings may "
                 "be slower than on an idle machine.")
    return note


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if v is None:
        return "—"
    return str(v)


def _markdown(report: dict[str, Any]) -> str:
    lines = ["# emotive benchmark report", ""]
    meta = report["meta"]
    lines.append(f"Written {meta['written']} on {meta['machine']} ({meta['cores']} cores, torch threads {meta['torch_threads']}).")
    lines.append("")
    all_targets = [(s, t) for s in report["sections"].values() for t in s.get("targets", [])]
    if all_targets:
        ok = sum(1 for _, t in all_targets if t["passed"])
        lines += [f"**Targets met: {ok} / {len(all_targets)}**", ""]
        lines += ["| benchmark | figure | target | measured | met |", "|---|---|---|---|---|"]
        for s, t in all_targets:
            lines.append(
                f"| {s['name']} | {t['key']} | {t['op']} {_fmt(t['threshold'])} | {_fmt(t['measured'])} | "
                f"{'yes' if t['passed'] else '**no**'} |"
            )
        lines.append("")
    for s in sorted(report["sections"].values(), key=lambda s: (s.get("order", 100), s["name"])):
        lines += [f"## {s['title']} (`{s['name']}`)", ""]
        lines.append(f"Run {s['written']} in {s['seconds']:.1f} s{' (quick mode)' if s.get('quick') else ''}."
                     + load_note(s.get("load")))
        lines.append("")
        if s.get("error"):
            lines += ["**This benchmark failed:**", "", "```", s["error"], "```", ""]
            continue
        if s.get("figures"):
            lines += ["| figure | value |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in s["figures"].items() if not isinstance(v, dict | list)]
            lines.append("")
        for tb in s.get("tables", []):
            lines += [f"**{tb['title']}**", ""]
            lines.append("| " + " | ".join(tb["header"]) + " |")
            lines.append("|" + "---|" * len(tb["header"]))
            lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in tb["rows"]]
            lines.append("")
        for p in s.get("plots", []):
            lines += [f"![{p}]({p})", ""]
        for n in s.get("notes", []):
            lines += [f"- {n}"]
        if s.get("notes"):
            lines.append("")
    return "\n".join(lines) + "\n"


def run(
    names: list[str] | None = None,
    out_dir: str | Path = "bench",
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run benchmarks (all if ``names`` is None) and write ``report.json`` and ``report.md``."""
    import torch

    registry = discover()
    if names:
        unknown = [n for n in names if n not in registry]
        if unknown:
            raise EmotiveError(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(sorted(registry))}.")
        selected = [registry[n] for n in names]
    else:
        selected = sorted(registry.values(), key=lambda b: (b.order, b.name))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "report.json"
    sections: dict[str, Any] = {}      # only the sections this run measures
    ctx = BenchContext(out, quick, seed)
    for b in selected:
        if progress:
            progress(f"bench: {b.name} ...")
        t0 = time.perf_counter()
        section: dict[str, Any] = {"name": b.name, "title": b.title, "modality": b.modality, "order": b.order}
        with LoadRecorder() as load:
            try:
                res = b.func(ctx)
                section.update(
                    figures=res.figures,
                    targets=[{**asdict(t), "passed": t.passed} for t in res.targets],
                    tables=res.tables,
                    plots=res.plots,
                    notes=res.notes,
                )
            except Exception:  # a failing benchmark is reported, the others still run
                section["error"] = traceback.format_exc(limit=8)
        section["load"] = load.summary()
        section["seconds"] = time.perf_counter() - t0
        section["quick"] = quick
        section["written"] = _dt.datetime.now().isoformat(timespec="seconds")
        sections[b.name] = section
        if progress:
            progress(f"bench: {b.name} done in {section['seconds']:.1f} s")
    # Merge into the report as it is *now*, under a lock: runs of other sections may have finished
    # while this one ran (re-reading only at the start lost their sections).
    import fcntl

    with open(out / ".report.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged: dict[str, Any] = {}
        if report_path.is_file():
            try:
                merged = json.loads(report_path.read_text()).get("sections", {})
            except (json.JSONDecodeError, OSError):
                merged = {}
        # a section whose benchmark is gone (retired with the code it measured) leaves the report with it
        merged = {name: sec for name, sec in merged.items() if name in registry}
        merged.update(sections)
        report = {
            "meta": {
                "written": _dt.datetime.now().isoformat(timespec="seconds"),
                "machine": platform.platform(),
                "cores": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
            },
            "sections": merged,
        }
        tmp = report_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(report, indent=2, default=str))
        tmp.replace(report_path)
        (out / "report.md").write_text(_markdown(report))
    return report
