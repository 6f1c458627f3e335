"""Start ``emotive serve`` as a child process on a free loopback port and wait until it answers (the bench's
server section and the server tests use it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


class ServerStartError(RuntimeError):
    """The child server exited or did not answer ``/health`` in time."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(*args: str, timeout: float = 90.0, threads: int | None = 1, capture: bool = True
          ) -> Iterator[tuple[subprocess.Popen, str]]:
    """``emotive serve --port <free> *args`` with ``OMP_NUM_THREADS=threads`` (None: unset, so the server uses its
    own default, every core up to 4, as a user's would); yields (process, base URL) once
    ``GET /health`` answers 200, and stops the process on exit. Raises :class:`ServerStartError` (with the end of
    its stderr) if it exits first or ``timeout`` seconds pass. ``capture=False`` sends its output to /dev/null."""
    import httpx

    port = free_port()
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.Popen([sys.executable, "-m", "emotive.apps.cli", "serve", "--port", str(port), *args],
                            env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-2000:] if capture else ""
                raise ServerStartError(f"the server exited with code {proc.returncode}: {err}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"the server did not answer /health within {timeout:.0f} s")
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
