"""``emotive bench``: run the benchmarks and write bench/report.{json,md}."""

from __future__ import annotations

import argparse
import sys

from emotive.apps.seeds import add_seed_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run benchmarks and write bench/report.json + report.md")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks (others keep their last result)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--out", default="bench", help="report folder (default: bench)")
    p.add_argument("--quick", action="store_true", help="smaller samples (for smoke tests; figures are not final)")
    add_seed_argument(p, "seed of every benchmark")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from emotive.apps.bench import runner

    if args.list:
        for b in sorted(runner.discover().values(), key=lambda b: (b.order, b.name)):
            print(f"{b.name:<24} {b.modality:<12} {b.title}")
        return 0
    torch.set_num_threads(1)
    report = runner.run(args.only, args.out, args.quick, args.seed, progress=lambda m: print(m, file=sys.stderr))
    targets = [t for s in report["sections"].values() for t in s.get("targets", [])]
    failed = [s["name"] for s in report["sections"].values() if s.get("error")]
    met = sum(t["passed"] for t in targets)
    print(f"wrote {args.out}/report.json and {args.out}/report.md: targets met {met}/{len(targets)}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
