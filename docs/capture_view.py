"""Capture the live view of a real run into docs/view.txt (the picture in the README).

    flock /tmp/jack-tests.lock python docs/capture_view.py [--out docs/view.txt] [--bar 7]

srlive runs in a tmux pane (100×30) on a private JACK server (dummy driver), with ``--view``;
a JACK client plays the shipped example take (srlive/data/example_take.mid) into its input, and
``tmux capture-pane -p`` takes the pane as text once the view shows bar ``--bar``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import jackserver
from srlive.benchmarks.clients import Performer, Recorder
from srlive.takes.filemode import example_take, read_take

SOCKET = "srlive-view-capture"
WIDTH, HEIGHT = 100, 30


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], check=True, capture_output=True, text=True).stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/view.txt")
    ap.add_argument("--bar", type=int, default=7, help="capture once the view shows this bar heard")
    args = ap.parse_args(argv)
    server = jackserver.use_server("srlive-view", ["jackd", "-n", "srlive-view", "--no-realtime", "-d", "dummy",
                                                   "-r", "48000", "-p", "256"])
    take = read_take(example_take())
    performer, recorder = Performer(), Recorder()
    cmd = [sys.executable, "-m", "srlive", "--in", performer.query, "--out", recorder.query, "--backend", "jack",
           "--tempo", f"{take.tempo:g}", "--bars", str(args.bar + 3), "--view", "--seed", "3"]
    shell = f"JACK_DEFAULT_SERVER=srlive-view {shlex.join(cmd)}; sleep 60"
    try:
        tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), shell)
        deadline = time.monotonic() + 30
        while performer.connections() == 0 or recorder.connections() == 0:
            if time.monotonic() > deadline:
                raise SystemExit("srlive did not connect: " + tmux("capture-pane", "-p"))
            time.sleep(0.05)
        time.sleep(0.2)
        events = [(m.time, [0x90 | m.channel, m.pitch, m.velocity] if m.velocity else [0x80 | m.channel, m.pitch, 0])
                  for m in take.notes]
        origin = time.perf_counter() + 0.2
        threading.Thread(target=performer.play, args=(events, origin), daemon=True).start()
        want = f"heard · bar {args.bar}"
        deadline = time.monotonic() + 120
        while want not in (text := tmux("capture-pane", "-p")):
            if time.monotonic() > deadline:
                raise SystemExit("the view never showed " + want + ":\n" + text)
            time.sleep(0.02)
        Path(args.out).write_text("\n".join(line.rstrip() for line in text.rstrip("\n").splitlines()) + "\n")
        print(text)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        for client in (performer, recorder):
            getattr(client, "shutdown", client.close)()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
