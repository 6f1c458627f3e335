"""One folder per demo process for everything it writes, removed when it stops (free of gradio: it is set up
before gradio, torch and mediapipe are imported, so that their temporary files land in it too).

``<tmp>/emotive-demo-HOST-PID-RANDOM/`` holds ``results/`` (what the tabs write), ``gradio/`` (gradio's cache
and uploads) and ``tmp/`` (the process's temporary folder: ``TMPDIR`` and :mod:`tempfile` point there, so the
libraries' own files -- torch's compile cache, mediapipe's session file -- go too). :func:`remove_run_dir` deletes
it when the demo stops and at interpreter exit; the folder of a demo that was killed (``kill -9``) is removed by
the next demo's :func:`sweep_abandoned_runs`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from emotive.conditioning import files

RUN_PREFIX = "emotive-demo-"

_RUN_DIR: Path | None = None
_ROOT: Path | None = None
_LOCK = threading.Lock()


def temp_root() -> Path:
    """The system's temporary folder the run folders live in (not the one :func:`adopt_as_temp_dir` sets)."""
    return _ROOT if _ROOT is not None else Path(tempfile.gettempdir())


def run_dir() -> Path:
    """This process's folder (created on first use)."""
    global _RUN_DIR, _ROOT
    with _LOCK:
        if _RUN_DIR is None or not _RUN_DIR.is_dir():
            _ROOT = temp_root()
            _RUN_DIR = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{files.host_tag()}-{os.getpid()}-", dir=_ROOT))
            atexit.register(remove_run_dir)
        return _RUN_DIR


def current() -> Path | None:
    """This process's folder if it was made, else None."""
    return _RUN_DIR


def adopt_as_temp_dir() -> Path:
    """Make the run folder this process's temporary folder (``TMPDIR``, :mod:`tempfile`, ``GRADIO_TEMP_DIR``).

    Call before importing gradio: it reads its folder at import. Returns the run folder."""
    root = run_dir()
    tmp, cache = root / "tmp", root / "gradio"
    tmp.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    tempfile.tempdir = str(tmp)
    return root


def remove_run_dir() -> None:
    """Delete everything this process's demo wrote."""
    global _RUN_DIR
    with _LOCK:
        folder, _RUN_DIR = _RUN_DIR, None
    if folder is None:
        return
    if tempfile.tempdir is not None and Path(tempfile.tempdir).is_relative_to(folder):
        tempfile.tempdir = str(temp_root())
        os.environ["TMPDIR"] = str(temp_root())
    for _ in range(3):  # a job still finishing may add a file while the tree is removed
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            break


def sweep_abandoned_runs(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove the folders of demos that were killed: made on this machine by a process that has ended, or --
    folders of earlier versions, ``emotive-demo-XXXXXXXX`` -- untouched for a day."""
    root = temp_root() if root is None else Path(root)
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(root) if e.name.startswith(RUN_PREFIX) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return removed
    for entry in entries:
        rest = entry.name[len(RUN_PREFIX):].split("-", 2)
        if len(rest) == 3 and len(rest[0]) == 4 and rest[1].isdigit():
            abandoned = rest[0] == files.host_tag() and not files.pid_running(int(rest[1]))
        else:
            try:
                abandoned = time.time() - entry.stat(follow_symlinks=False).st_mtime > files.STALE_AGE_S
            except OSError:
                continue
        if abandoned and Path(entry.path) != _RUN_DIR:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed
