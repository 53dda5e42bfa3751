"""Run srlive as a real process between helper JACK clients: a performer (or a DAW sending notes
and clock) plays into its input, a recorder hears its output.

    with LiveSession(tempo=240, bars=6, extra=["--record", "take.mid"]) as run:
        run.wait_ready()                 # srlive's ports are connected to ours
        run.play(phrase(240, bars=1))    # the first note sets bar 1's downbeat
        code = run.wait()                # srlive's exit code
    heard = pair_notes(run.recorder.snapshot())

Used by the real-port tests (tests/ports) and the benchmarks. The JACK server must be running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from benchmarks.clients import ClockSource, Performer, Recorder

STEPS = 16
# A model bar is only sure to sound at a low threshold (an all-at-once model, trained or untrained,
# puts some cells above 0.05 in every bar; the step decoder's cells are 0 or at least 0.5, so for it
# the threshold changes nothing and the seed fixes the answers): the real-port tests and benchmarks ask for it.
DENSE = ("--threshold", "0.05", "--seed", "1")


def step_seconds(tempo: float) -> float:
    return 60.0 / tempo / 4


def phrase(tempo: float, bars: int = 1, pattern: Sequence[tuple[int, int, int]] = ((0, 60, 2), (4, 64, 2), (8, 67, 2), (12, 72, 2)),
           velocity: int = 90, channel: int = 0, start_bar: int = 0) -> list[tuple[float, list[int]]]:
    """(seconds from bar 1, bytes) for ``bars`` bars of ``pattern`` = (step, pitch, length in steps)."""
    step = step_seconds(tempo)
    events = []
    for b in range(start_bar, start_bar + bars):
        for s, pitch, length in pattern:
            on = (b * STEPS + s) * step
            events.append((on, [0x90 | channel, pitch, velocity]))
            events.append((on + length * step * 0.9, [0x80 | channel, pitch, 0]))
    events.sort(key=lambda e: e[0])
    return events


class LiveSession:
    """srlive --in <performer> --out <recorder> --backend jack --tempo T [--bars N] [extra...]."""

    def __init__(self, tempo: float = 180.0, bars: Optional[int] = 8, extra: Sequence[str] = (),
                 sync: bool = False, workdir: Optional[str] = None, stats: bool = True,
                 command: Optional[Sequence[str]] = None):
        self.tempo = tempo
        self.bars = bars
        self.sync = sync
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="srlive-run-"))
        self.stats_path = self.workdir / "stats.json" if stats else None
        self.performer: Performer = ClockSource() if sync else Performer()
        self.recorder = Recorder()
        if command is None:  # SRLIVE_COMMAND="srlive" measures an installed console script instead
            command = os.environ.get("SRLIVE_COMMAND", "").split() or [sys.executable, "-m", "srlive"]
        args = [*command, "--in", self.performer.query, "--out", self.recorder.query,
                "--backend", "jack", "--tempo", f"{tempo:g}"]
        if bars is not None:
            args += ["--bars", str(bars)]
        if sync:
            args += ["--sync"]
        if self.stats_path is not None:
            args += ["--stats", str(self.stats_path)]
        self.args = args + list(extra)
        self.proc: Optional[subprocess.Popen] = None
        self.stdout = ""
        self.stderr = ""
        self.returncode: Optional[int] = None

    @property
    def clock(self) -> ClockSource:
        assert isinstance(self.performer, ClockSource)
        return self.performer

    def start(self) -> "LiveSession":
        # The srlive these helpers come from (the checkout under test), whatever the cwd.
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, cwd=str(self.workdir))
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Until srlive has connected to the performer's and the recorder's ports."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.wait(None)
                raise RuntimeError(f"srlive exited {self.returncode} before connecting: {self.stderr.strip()}")
            if self.performer.connections() > 0 and self.recorder.connections() > 0:
                time.sleep(0.1)  # a few JACK periods on the new graph before the first message
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"srlive did not connect within {timeout:.0f} s: {self.stderr.strip()}")

    def play(self, events, origin: Optional[float] = None) -> float:
        return self.performer.play(events, origin)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: Optional[float] = 60.0) -> int:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGUSR1)  # srlive prints every thread's stack: where it hangs
            time.sleep(1.0)
            self.kill()
            raise RuntimeError(f"srlive did not finish within {timeout} s: {self.stderr.strip()}") from None
        self.stdout += out or ""
        self.stderr += err or ""
        self.returncode = self.proc.returncode
        time.sleep(0.05)  # the last messages still in flight through JACK
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            out, err = self.proc.communicate()
            self.stdout += out or ""
            self.stderr += err or ""
            self.returncode = self.proc.returncode

    def stats(self) -> dict:
        assert self.stats_path is not None
        return json.loads(self.stats_path.read_text())

    def close(self) -> None:
        self.kill()
        for client in (self.performer, self.recorder):
            try:
                getattr(client, "shutdown", client.close)()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> "LiveSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
