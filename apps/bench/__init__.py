"""`emotive bench`: one report with every figure the issues name.

Benchmarks live one per module in ``emotive.apps.bench.benchmarks`` and
register themselves with :func:`register`; the runner discovers them.
"""

from emotive.apps.bench.runner import BenchContext, BenchResult, Target, register, run

__all__ = ["BenchContext", "BenchResult", "Target", "register", "run"]
