"""Safe output files: nothing half-written, nothing overwritten without asking.

Every command that writes a file goes through :func:`atomic_output`: the data
is written to a temporary file beside the target and renamed into place only
when complete; an existing target is refused unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from emotive.conditioning.errors import EmotiveError


class OutputExistsError(EmotiveError, FileExistsError):
    """The output file exists and overwriting was not allowed."""


def check_output(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Validate an output path before doing expensive work; returns it as a Path."""
    p = Path(path)
    if p.exists() and p.is_dir():
        raise EmotiveError(f"The output path '{p}' is a directory; give a file name.")
    if p.exists() and not overwrite:
        raise OutputExistsError(f"'{p}' already exists; pass --force (overwrite=True) to replace it.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise EmotiveError(f"The folder '{parent}' does not exist.")
    return p


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` only if the block succeeds.

    >>> with atomic_output("out.wav") as tmp:   # doctest: +SKIP
    ...     soundfile.write(tmp, audio, 16000)
    """
    p = check_output(path, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=p.parent if str(p.parent) else ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise EmotiveError(f"Nothing was written for '{p}'.")
        if p.exists() and not overwrite:  # appeared meanwhile
            raise OutputExistsError(f"'{p}' appeared while writing; not overwriting it.")
        os.replace(tmp_path, p)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
