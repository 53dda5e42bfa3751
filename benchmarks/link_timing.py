"""How close srlive's LinkClock puts its bar lines to a Link peer's, in a private network namespace.

A scripted peer (benchmarks/link_peer.py) starts the session at --tempo; srlive's LinkClock joins
it in another process in the same namespace. For each of --bars bars, LinkClock's bar line
``time_at(b, 0)`` is taken (asked a few ms before, as the engine's scheduler does), and the peer's
beat at that instant is read from the peer's own timeline: its distance to the nearest multiple of
4 beats, in ms, is the error. Halfway, the peer changes the tempo to --change mid-bar: how long
LinkClock takes to see it is reported, and the bars after it are measured at the new tempo.

    python benchmarks/link_timing.py --bars 32 [--json]

Run as root: it re-runs itself under ``unshare -n`` (benchmarks/link_netns.py); no Link peer ever
starts on the machine's real interfaces.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import link_netns  # noqa: E402


class Peer:
    """The scripted Link peer, spoken to over its stdin/stdout."""

    def __init__(self, tempo: float):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "link_peer.py"), "--tempo", str(tempo)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        first = self._read()
        if not first.get("ready"):
            raise RuntimeError(f"the Link peer did not start: {first}")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the Link peer exited")
        return json.loads(line)

    def ask(self, cmd: str) -> dict:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._read()

    def bar_error_ms(self, t: float) -> float:
        """How far time t (perf_counter) is from the peer's nearest bar line, in ms."""
        s = self.ask("snap")
        beat = s["beat"] + (t - s["perf"]) * s["tempo"] / 60.0
        return (beat - 4.0 * round(beat / 4.0)) * 60.0 / s["tempo"] * 1000.0

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def sleep_until(t: float) -> None:
    while True:
        gap = t - time.perf_counter()
        if gap <= 0:
            return
        time.sleep(min(gap, 0.002) if gap < 0.02 else gap - 0.015)


def measure(bars: int, tempo: float, change: float | None, proposed: float) -> dict:
    """Inside the namespace: the peer, LinkClock, the bar lines compared."""
    link_netns.refuse_unless_private()
    from srlive.clocks.link import make_link_clock

    peer = Peer(tempo)
    clock = make_link_clock(proposed, join=False)
    try:
        t0 = time.perf_counter()
        clock.join()
        while not clock.ready:
            if time.perf_counter() - t0 > 10:
                raise RuntimeError("LinkClock never joined the peer's session")
            time.sleep(0.005)
        joined_s = time.perf_counter() - t0
        tempo_agreed = abs(clock.tempo - peer.ask("snap")["tempo"]) < 0.01
        errors, after, follow_ms = [], [], None
        b = clock.current_bar() + 1
        for i in range(bars):
            if change is not None and i == bars // 2:
                sleep_until(clock.time_at(b - 1, 8))  # mid-bar
                t_change = peer.ask(f"tempo {change}")["perf"]
                while abs(clock.tempo - change) > 0.01:
                    time.sleep(0.0002)
                follow_ms = (time.perf_counter() - t_change) * 1000.0
            sleep_until(clock.time_at(b) - 0.005)
            t = clock.time_at(b)
            sleep_until(t)
            err = peer.bar_error_ms(t)
            (after if change is not None and i >= bars // 2 else errors).append(err)
            b += 1
        snap = peer.ask("snap")
        return {"bars": bars, "tempo": tempo, "proposed": proposed, "joined_s": round(joined_s, 3),
                "tempo_agreed": tempo_agreed, "change": change, "follow_ms": follow_ms,
                "final_tempo": clock.tempo, "peer_tempo": snap["tempo"], "peers": snap["peers"],
                "offset_s": clock.offset, "errors_ms": errors + after, "before_ms": errors, "after_ms": after}
    finally:
        clock.close()
        peer.close()


def summary(errors_ms) -> dict:
    a = np.abs(np.asarray(errors_ms, float))
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="LinkClock's bar lines against a Link peer's, in a private netns")
    p.add_argument("--bars", type=int, default=32)
    p.add_argument("--tempo", type=float, default=133.0, help="the peer's tempo (default 133)")
    p.add_argument("--change", type=float, default=140.0, help="the peer's tempo halfway (0: no change)")
    p.add_argument("--propose", type=float, default=120.0, help="srlive's --tempo (the session's must win)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.inside:
        problem = link_netns.unshare_problem()
        if problem:
            print(f"link_timing: {problem}; run it as root on Linux", file=sys.stderr)
            return 2
        argv_inside = [sys.executable, os.path.abspath(__file__), "--inside", *(argv if argv is not None else sys.argv[1:])]
        return link_netns.run(argv_inside, timeout=60 + 4 * args.bars).returncode
    res = measure(args.bars, args.tempo, args.change or None, args.propose)
    res["all"] = summary(res["errors_ms"])
    res["interfaces"] = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.strip()
    if args.json:
        print(json.dumps(res))
    else:
        s = res["all"]
        print(f"{args.bars} bars at {args.tempo:g} BPM (→ {args.change:g} halfway): bar-line error "
              f"p50 {s['p50_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms, max {s['max_ms']:.3f} ms; tempo change "
              f"seen after {res['follow_ms']:.1f} ms; joined in {res['joined_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
