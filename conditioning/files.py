"""Safe output files: nothing half-written, nothing overwritten without asking, nothing left behind.

Every command that writes a file goes through :func:`atomic_output` (one file) or
:func:`atomic_outputs` (a set of files written together): the data is written to
temporary files beside the targets and renamed into place only when every one is
complete; an existing target is refused unless ``overwrite=True``.

* **All or none.** If writing any file of a set fails, none of the set is kept.
* **A full disk is one clear error** (:class:`DiskFullError`, an :class:`EmotiveError`):
  ``ENOSPC``/``EDQUOT``, or any write failure while the folder's file system has less
  than :data:`LOW_SPACE_BYTES` free (libsndfile reports a full disk as "System error.").
* **Leftovers are swept.** Temporary files are named ``.NAME.emotive-HOST-PID-RANDOM.EXT``;
  a process killed with ``kill -9`` leaves one behind. Before writing in a folder, a later
  run removes those it can prove abandoned: made on this machine by a process that is no
  longer running, or older than :data:`STALE_AGE_S` (any machine). Files of earlier
  versions (``.NAME.XXXXXXXX.EXT``, no pid) go by age alone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from emotive.conditioning.errors import EmotiveError

LOW_SPACE_BYTES = 1024 * 1024
"""A write that fails while less than this is free is reported as a full disk."""
STALE_AGE_S = 24 * 3600.0
"""A temporary file this old is abandoned whoever made it: no command writes one file for a day."""
_NAME_KEEP = 96
"""Characters of the target's name kept in a temporary file's name (names are limited to 255 bytes)."""


class OutputExistsError(EmotiveError, FileExistsError):
    """The output file exists and overwriting was not allowed."""


class DiskFullError(EmotiveError, OSError):
    """The disk (or quota) ran out while writing; nothing was kept."""


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


# ------------------------------------------------------------------ temporary files and their sweep
def host_tag() -> str:
    """Four hex digits naming this machine in temporary file names (a pid means something only on its host)."""
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:4]


_TEMP_RE = re.compile(r"^\..+\.emotive-(?P<host>[0-9a-f]{4})-(?P<pid>\d{1,10})-[0-9a-f]{8}(\.[^.]*)?$")
_LEGACY_RE = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]+)$")
"""``tempfile.mkstemp(prefix=".NAME.", suffix=SUFFIX)``: what versions before 2026-12 left after a kill."""


def temp_name(target: Path, pid: int | None = None) -> str:
    """The name of a temporary file for ``target``: ``.NAME.emotive-HOST-PID-RANDOM.EXT``."""
    name = target.name[:_NAME_KEEP]
    return f".{name}.emotive-{host_tag()}-{os.getpid() if pid is None else pid}-{secrets.token_hex(4)}{target.suffix}"


def pid_running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (True when it cannot be told)."""
    if pid <= 0:
        return True  # not a pid we wrote: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # someone else's process (or no pid at all: keep the file)
        return True
    return True


def is_abandoned(path: Path, now: float | None = None) -> bool:
    """True if ``path`` is a temporary file of :func:`atomic_output` that no running process will finish."""
    name = path.name
    try:
        st = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    age = (time.time() if now is None else now) - st.st_mtime
    m = _TEMP_RE.match(name)
    if m:
        if age > STALE_AGE_S:
            return True
        return m.group("host") == host_tag() and not pid_running(int(m.group("pid")))
    legacy = _LEGACY_RE.match(name)
    if legacy and legacy.group("name").endswith(legacy.group("suffix")):
        return age > STALE_AGE_S
    return False


def sweep_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove abandoned temporary files of :func:`atomic_output` in ``folder`` (not below it); returns them.

    Best effort: a folder that cannot be listed, or a file that cannot be removed, is left alone.
    """
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".")]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        p = Path(entry.path)
        if is_abandoned(p, now):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _make_temp(target: Path) -> Path:
    folder = target.parent if str(target.parent) else Path(".")
    for _ in range(100):
        tmp = folder / temp_name(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(_disk_full_message(target)) from None
            raise EmotiveError(f"Cannot write in the folder '{folder}': {exc.strerror}.") from None
        os.close(fd)
        return tmp
    raise EmotiveError(f"Cannot create a temporary file in the folder '{folder}'.")


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Bytes available to this user on the file system holding ``folder`` (None if unknown)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def _disk_full_message(*targets: Path) -> str:
    folders = sorted({str(t.parent) if str(t.parent) else "." for t in targets})
    names = ", ".join(t.name for t in targets)
    return (f"No space left on the disk to write {names} in {', '.join(repr(f) for f in folders)}; nothing was "
            "written. Free some space or choose another folder.")


def looks_like_disk_full(exc: BaseException, folder: str | os.PathLike) -> bool:
    """``exc`` (raised while writing into ``folder``) means the disk or quota is full."""
    if isinstance(exc, DiskFullError):
        return True
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, EmotiveError | KeyboardInterrupt | SystemExit | GeneratorExit):
        return False
    free = free_bytes(folder)
    return free is not None and free < LOW_SPACE_BYTES


# ------------------------------------------------------------------ atomic writes
@contextlib.contextmanager
def atomic_outputs(
    paths: Sequence[str | os.PathLike],
    overwrite: bool = False,
    suffixes: Sequence[tuple[str, ...] | None] | None = None,
) -> Iterator[list[Path]]:
    """Yield one temporary path per output; all replace their targets only if the block succeeds, else none does.

    Args:
        paths: the files written together (e.g. a MIDI, its WAV preview and its piano roll).
        overwrite: allow replacing existing files.
        suffixes: per path, the endings its format takes (see :func:`check_output`); None accepts any.

    Raises:
        DiskFullError: the disk ran out while writing (every temporary file is removed).

    >>> with atomic_outputs(["song.mid", "song.wav"]) as (mid, wav):   # doctest: +SKIP
    ...     write_midi(mid); write_wav(wav)
    """
    sfx = list(suffixes) if suffixes is not None else [None] * len(paths)
    if len(sfx) != len(paths):
        raise ValueError("suffixes needs one entry per path")
    targets = [check_output(p, overwrite, s) for p, s in zip(paths, sfx)]
    resolved = [t.resolve() for t in targets]
    for i, r in enumerate(resolved):
        if r in resolved[:i]:
            raise EmotiveError(f"'{targets[i]}' is named twice among the outputs; give each output its own name.")
    for folder in {t.parent if str(t.parent) else Path(".") for t in targets}:
        sweep_stale_temps(folder)
    temps: list[Path] = []
    try:
        for t in targets:
            temps.append(_make_temp(t))
        try:
            yield list(temps)
        except BaseException as exc:
            if any(looks_like_disk_full(exc, t.parent if str(t.parent) else ".") for t in targets):
                raise DiskFullError(_disk_full_message(*targets)) from None
            raise
        _commit(targets, temps, overwrite)
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _commit(targets: list[Path], temps: list[Path], overwrite: bool) -> None:
    """Rename every temporary file onto its target, after checking them all; undo the new ones if a rename fails."""
    for t, tmp in zip(targets, temps):
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise EmotiveError(f"Nothing was written for '{t}'.")
        if t.exists() and not overwrite:  # appeared meanwhile
            raise OutputExistsError(f"'{t}' appeared while writing; not overwriting it.")
        if t.exists() and not t.is_file():  # became a device, pipe or socket meanwhile
            raise EmotiveError(f"'{t}' is not a regular file; not replacing it.")
    created: list[Path] = []
    try:
        for t, tmp in zip(targets, temps):
            existed = t.exists()
            os.chmod(tmp, (t.stat().st_mode & 0o7777) if existed else _new_file_mode())
            os.replace(tmp, t)
            if not existed:
                created.append(t)
    except OSError as exc:
        for t in created:  # all or none: what this call created goes again
            with contextlib.suppress(OSError):
                t.unlink()
        if looks_like_disk_full(exc, targets[0].parent if str(targets[0].parent) else "."):
            raise DiskFullError(_disk_full_message(*targets)) from None
        raise


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike, overwrite: bool = False, suffixes: tuple[str, ...] | None = None
) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` only if the block succeeds.

    The new file gets the permissions of the file it replaces, or those of a newly created file.
    A full disk raises :class:`DiskFullError`; see :func:`atomic_outputs` for a set of files.

    >>> with atomic_output("out.wav") as tmp:   # doctest: +SKIP
    ...     soundfile.write(tmp, audio, 16000)
    """
    with atomic_outputs([path], overwrite, [suffixes]) as (tmp,):
        yield tmp
