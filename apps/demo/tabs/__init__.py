"""Demo tabs: one module per tab, discovered at start-up (see ../README.md).

A tab module defines:

``TITLE: str``            the tab's name on the page.
``ORDER: int``            position (speech 10, voice conversion 20, portrait 30, music 40, explorer 90).
``API_NAMES: tuple``      the ``api_name`` of every public endpoint it registers.
``available() -> bool``   True once its pipeline imports and its weights exist. Must be cheap
                          (``importlib.util.find_spec``, file checks): it runs at every start.
``build(panel) -> None``  create the components (the app has already opened ``gr.Tab(TITLE)``)
                          and wire the events; ``panel`` is the shared :class:`EmotionPanel`.

Optional:

``REQUIRES: str``         what is missing while unavailable (shown in the page footer).
``warm_up() -> None``     load models; runs in a background thread after the page is up.
``API_CASES: dict``       ``{api_name: {"ok": [args, ...], "bad": [args, ...]}}`` -- the API test
                          calls each endpoint with these (``bad`` must give a message, not a crash).
``api_cases() -> dict``   the same, computed when the tests run; preferred over ``API_CASES`` (use it
                          when the cases depend on what is installed, e.g. which voices exist).
``BROWSER_CASE: dict``    ``{"examples": elem_id, "run": elem_id, "outputs": [elem_id, ...]}`` -- the
                          browser test clicks the first example, presses run and checks the outputs.

Modules whose name starts with ``_`` are skipped. A module that fails to import,
or whose ``available()`` raises or returns False, is listed as unavailable with
the reason; the page is built without it.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType

log = logging.getLogger("emotive.demo")

REQUIRED = ("TITLE", "ORDER", "available", "build")


@dataclass
class TabInfo:
    """One discovered tab module and whether it can be shown."""

    name: str
    module: ModuleType | None
    available: bool
    reason: str = ""
    title: str = ""
    order: int = 1000
    api_names: tuple[str, ...] = field(default_factory=tuple)


def _inspect(name: str, qualname: str) -> TabInfo:
    try:
        module = importlib.import_module(qualname)
    except Exception as exc:  # a tab whose generator is absent or broken must not break the page
        log.warning("demo tab %s not loaded: %s", name, exc)
        return TabInfo(name, None, False, f"its module failed to import ({type(exc).__name__}: {exc})", title=name)
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        return TabInfo(name, module, False, f"the module lacks {', '.join(missing)}", title=name)
    info = TabInfo(
        name,
        module,
        False,
        title=str(module.TITLE),
        order=int(module.ORDER),
        api_names=tuple(getattr(module, "API_NAMES", ())),
    )
    try:
        info.available = bool(module.available())
    except Exception as exc:
        log.warning("demo tab %s: available() raised %s", name, exc)
        info.reason = f"available() raised {type(exc).__name__}: {exc}"
        return info
    if not info.available:
        info.reason = str(getattr(module, "REQUIRES", "its generator or weights are not installed yet"))
    return info


def discover(package: ModuleType | None = None) -> list[TabInfo]:
    """Every tab module in ``package`` (default: this package), sorted by ORDER then name."""
    pkg = package if package is not None else importlib.import_module(__name__)
    found = [
        _inspect(m.name, f"{pkg.__name__}.{m.name}")
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
    ]
    return sorted(found, key=lambda t: (t.order, t.name))
