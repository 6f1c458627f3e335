"""The Gradio demo (``emotive demo``): one page, one shared emotion panel, one tab per generator.

``app.py`` builds and serves the page, ``panel.py`` is the shared emotion panel,
``charts.py`` draws emotions and evaluator verdicts (``verdict_chart``), ``ux.py``
holds the rules every tab follows (errors, limits, seeds, downloads) and
``tabs/`` holds one module per tab, discovered at start-up. README.md explains
how to add a tab. Importing this package loads nothing heavy; it only makes the
later ``import gradio`` skip gradio's type-stub regeneration (``gradio_import.py``,
about half of gradio's import time).
"""

from .gradio_import import skip_stub_generation

skip_stub_generation()
