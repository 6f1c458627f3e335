"""Import gradio without its import-time type-stub generation (the largest single cost of ``emotive demo``'s start).

Every time gradio 6 is imported, each of its ~40 component classes regenerates its own
``.pyi`` type stub: ``ComponentMeta.__new__`` calls ``create_or_modify_pyi``, which reads the
component's source file, parses it with ``ast``, renders a Jinja template and compares the
result with ``site-packages/gradio/components/<name>.pyi`` (rewriting it when they differ).
The stubs serve type checkers and gradio's own development; a running server never reads
them. Measured on the 2-core reference machine: ``python -c "import gradio"`` takes 3.3-3.8 s
of CPU, 1.85 s with the stubs skipped (best of six runs each).

:func:`skip_stub_generation` installs an import hook that, right after
``gradio.component_meta`` has executed, replaces its module-level
``create_or_modify_pyi`` with a no-op (``ComponentMeta.__new__`` looks the name up at
call time). Nothing else in gradio changes. If gradio is already imported, or a
future gradio renames the function, the hook does nothing and gradio behaves as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

TARGET = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"


def _no_stub(*_args: Any, **_kwargs: Any) -> None:
    """Stand-in for gradio's stub writer: the demo never needs ``.pyi`` files."""


class _SkipStubs(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` the normal way and patches it once it has executed."""

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> Any:
        if fullname != TARGET:
            return None
        _remove_hook()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original(module)
            if callable(getattr(module, FUNCTION, None)):
                setattr(module, FUNCTION, _no_stub)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _remove_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _SkipStubs)]


def skip_stub_generation() -> bool:
    """Install the hook before gradio is imported; returns False (and does nothing) if gradio already is."""
    if TARGET in sys.modules or "gradio" in sys.modules:
        return False
    if not any(isinstance(f, _SkipStubs) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipStubs())
    return True
