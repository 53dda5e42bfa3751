"""A scripted Ableton Link peer's beat grid on perf_counter, for ``benchmarks.timing --link``.

``PeerGrid`` starts the peer (benchmarks/link_peer.py) at a tempo and asks it for its timeline
every ``every`` seconds while srlive plays: each answer is the peer's beat at a perf_counter
instant (read between two perf_counter readings in the peer's process). A stamp is put on the
peer's timeline from the snapshot nearest it (benchmarks.analysis.peer_beats), so the rate
difference between Link's clock (CLOCK_MONOTONIC_RAW on Linux) and perf_counter (CLOCK_MONOTONIC,
slewed by NTP) never adds up over a run.

Link peers run only inside a private network namespace: ``inside()`` says whether this process is
in one, ``rerun_inside()`` runs a command in a new one (benchmarks/link_netns.py).
"""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np

from benchmarks import link_netns
from benchmarks.analysis import peer_beats

QUANTUM = 4  # beats a bar (4/4)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def inside() -> bool:
    return link_netns.only_loopback()


def rerun_inside(argv: list[str], timeout: float) -> int:
    """Run ``python argv...`` (this repo's benchmarks and srlive first on the path) in a new
    private network namespace; its exit code."""
    problem = link_netns.unshare_problem()
    if problem:
        print(f"benchmark: --link {problem}; run it as root on Linux", file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    return link_netns.run([sys.executable, *argv], timeout=timeout, env=env).returncode


class PeerGrid:
    """The peer and its timeline; a context manager (the peer stops on exit)."""

    def __init__(self, tempo: float, every: float = 0.25):
        link_netns.refuse_unless_private()
        from benchmarks.link_timing import Peer

        self.tempo = tempo
        self.peer = Peer(tempo)
        self.snaps: list[tuple[float, float, float]] = []
        self.peers_seen = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._snap()
        self._thread = threading.Thread(target=self._run, args=(every,), name="peer-grid", daemon=True)
        self._thread.start()

    name = "the Link peer's beat grid (sixteenths of its beats; bar lines at beats ≡ 0 mod 4)"

    def _snap(self) -> None:
        with self._lock:
            s = self.peer.ask("snap")
            self.snaps.append((s["perf"], s["beat"], s["tempo"]))
            self.peers_seen = max(self.peers_seen, int(s["peers"]))

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self._snap()

    def beats(self, times) -> np.ndarray:
        with self._lock:
            snaps = list(self.snaps)
        return peer_beats(times, snaps)

    def seconds(self, times) -> np.ndarray:
        """Each perf_counter time as seconds on the peer's timeline (its beat · 60 / tempo)."""
        return self.beats(times) * 60.0 / self.tempo

    def bar_line_after(self, t: float) -> float:
        """perf_counter time of the peer's first bar line at or after ``t`` (perf_counter)."""
        beat = float(self.beats([t])[0])
        return float(t + (QUANTUM * np.ceil(beat / QUANTUM) - beat) * 60.0 / self.tempo)

    def bar_line_after_join(self, lead: float = 1.0, timeout: float = 15.0) -> float:
        """The peer's first bar line at least ``lead`` s after another peer (srlive) joined it:
        srlive's bar 1 is set within half a second of joining (srlive.clocks.link: join_settle + lead)."""
        deadline = time.monotonic() + timeout
        while self.peers_seen == 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no peer joined the Link peer within {timeout:.0f} s")
            time.sleep(0.05)
            self._snap()
        return self.bar_line_after(time.perf_counter() + lead)

    def clock_rate_ppm(self) -> float:
        """How much faster the peer's timeline runs than perf_counter at its tempo (ppm)."""
        with self._lock:
            s = np.asarray(self.snaps, dtype=np.float64)
        if len(s) < 2:
            return float("nan")
        slope = np.polyfit(s[:, 0] - s[0, 0], s[:, 1], 1)[0]
        return float((slope / (self.tempo / 60.0) - 1.0) * 1e6)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.peer.close()

    def __enter__(self) -> "PeerGrid":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

