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


def check_output(
    path: str | os.PathLike, overwrite: bool = False, suffixes: tuple[str, ...] | None = None
) -> Path:
    """Validate an output path before doing expensive work; returns it as a Path.

    Args:
        path: the file to write. A symbolic link is followed (the file it points to is replaced, the link stays).
        overwrite: allow replacing an existing file.
        suffixes: the file-name endings the output's format takes (e.g. ``(".wav",)``); None accepts any.
    """
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise EmotiveError(
            f"'{p.name}' does not name the file type written here; use a name ending in {' or '.join(suffixes)}."
        )
    if p.is_symlink():
        p = p.resolve()
    if p.exists() and p.is_dir():
        raise EmotiveError(f"The output path '{p}' is a directory; give a file name.")
    if p.exists() and not p.is_file():
        raise EmotiveError(f"'{p}' is not a regular file (a device, pipe or socket); give a file name.")
    if p.exists() and not overwrite:
        raise OutputExistsError(f"'{p}' already exists; pass --force (overwrite=True) to replace it.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise EmotiveError(f"The folder '{parent}' does not exist.")
    if not os.access(parent, os.W_OK):
        raise EmotiveError(f"The folder '{parent}' cannot be written to.")
    return p


def _new_file_mode() -> int:
    """The mode a newly created file gets here (0o666 minus the process's umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike, overwrite: bool = False, suffixes: tuple[str, ...] | None = None
) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` only if the block succeeds.

    The new file gets the permissions of the file it replaces, or those of a newly created file.

    >>> with atomic_output("out.wav") as tmp:   # doctest: +SKIP
    ...     soundfile.write(tmp, audio, 16000)
    """
    p = check_output(path, overwrite, suffixes)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=p.parent if str(p.parent) else ".")
    except OSError as exc:
        raise EmotiveError(f"Cannot write in the folder '{p.parent}': {exc.strerror}.") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise EmotiveError(f"Nothing was written for '{p}'.")
        if p.exists() and not overwrite:  # appeared meanwhile
            raise OutputExistsError(f"'{p}' appeared while writing; not overwriting it.")
        if p.exists() and not p.is_file():  # became a device, pipe or socket meanwhile
            raise EmotiveError(f"'{p}' is not a regular file; not replacing it.")
        os.chmod(tmp_path, (p.stat().st_mode & 0o7777) if p.exists() else _new_file_mode())
        os.replace(tmp_path, p)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
