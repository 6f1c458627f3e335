"""Mixed requests against a running ``emotive demo`` on loopback, each from a fresh session (the worst case for
memory), printing the server's idle RSS and the files it holds after given request counts (issue 18).

    emotive demo --port 7913 &
    python scripts/demo_memory.py --port 7913 --pid $! --requests 200 --marks 50,100,200

Every 20th request animates the example WAV (seconds each); of the rest a third each convert the example WAV,
explore two prompts and resolve one panel prompt. Loopback only; one request at a time.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from gradio_client import Client, handle_file

WAV = Path(__file__).resolve().parents[1] / "apps" / "demo" / "examples" / "neutral-slt.wav"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def files_in(root: Path) -> tuple[int, int]:
    n = size = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                size += os.path.getsize(os.path.join(folder, name))
                n += 1
            except OSError:
                pass
    return n, size


def request(client: Client, i: int) -> None:
    k = i % 20
    if k == 0:
        client.predict(None, handle_file(str(WAV)), "", None, "256", False, i, "sad:0.7", api_name="/animate")
    elif k % 3 == 0:
        client.predict(handle_file(str(WAV)), "", i, "angry:0.8", api_name="/convert")
    elif k % 3 == 1:
        client.predict("quietly hopeful\nfurious", api_name="/explore")
    else:
        client.predict("Text", "happy", 0.0, 0.0, 0.0, f"very happy {i}", 0.8, api_name="/resolve_emotion")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=7860)
    ap.add_argument("--pid", type=int, required=True, help="the demo's process id (for its RSS)")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--marks", default="50,100,200", help="request counts after which to report")
    ap.add_argument("--tmp", default="/tmp", help="the temporary folder the demo's run folder is in")
    args = ap.parse_args()
    marks = {int(x) for x in args.marks.split(",")}
    url = f"http://127.0.0.1:{args.port}"
    run = next(Path(args.tmp).glob(f"emotive-demo-*-{args.pid}-*"), None)
    t0 = time.time()
    for i in range(1, args.requests + 1):
        client = Client(url, verbose=False)
        try:
            request(client, i)
        except Exception as exc:  # a refused or failed request is reported, the run goes on
            print(f"request {i}: {type(exc).__name__}: {str(exc)[:100]}", flush=True)
        if i in marks:
            time.sleep(3)
            held = files_in(run) if run else (0, 0)
            print(f"after {i} requests ({time.time() - t0:.0f} s): idle RSS {rss_mb(args.pid):.0f} MB; "
                  f"the demo's folder holds {held[0]} files, {held[1] / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
