"""How far the MIDI clock followers place bar lines from the DAW's, on a simulated clock.

For each condition, a DAW clock (benchmarks.simulated_clock) is fed to the counting follower
(srlive.clocks.counting_follower.CountingClockFollower, the engine's for input stamped once a coarse cycle) and
to the model-based one (srlive.clocks.model_follower.ModelClockFollower, the engine's otherwise), each told the input's
stamping cycle as the engine tells it; 1 ms before each true downbeat each is asked where that bar
begins. Printed: p50/p99/max of |time_at(bar, 0) − true downbeat| in ms,
and how many bars bar_at(downbeat + 1 ms) got wrong.
Pure simulation: no ports, no sleeps.

    python benchmarks/clock_follower.py [--bars 100] [--seed 0]
    python benchmarks/clock_follower.py --lost-grid     # 10 % lost clocks across tempos and JACK periods
"""

from __future__ import annotations

import argparse
import functools
import sys

import numpy as np

from srlive.clocks.counting_follower import CountingClockFollower as CountingFollower
from srlive.clocks.model_follower import ModelClockFollower as ModelFollower
from benchmarks.simulated_clock import ClockScenario, follow

FOLLOWERS = (("counting (srlive.clocks.counting_follower)", CountingFollower), ("model (srlive.clocks.model_follower)", ModelFollower))


def conditions(bars: int, seed: int) -> list[tuple[str, ClockScenario]]:
    base = dict(bars=bars, seed=seed)
    return [
        ("jitter 5 % at 150 BPM", ClockScenario(tempo=150, **base)),
        ("+ 10 % lost", ClockScenario(tempo=150, drop=0.10, **base)),
        ("+ 50 ms stalls every 4 bars", ClockScenario(tempo=150, drop=0.10, stall=0.05, stall_every=4, **base)),
        ("tempo 120→132 mid-bar", ClockScenario(tempo=120, change_to=132, change_at=bars // 2 + 0.5, **base)),
        ("tempo 150→120 mid-bar, 10 % lost", ClockScenario(tempo=150, change_to=120, change_at=bars // 2 + 0.5,
                                                          drop=0.10, **base)),
        ("stamps per 5.3 ms JACK cycle, 300 BPM", ClockScenario(tempo=300, jitter=0.0, cycle=256 / 48000, **base)),
        ("stamps per 5.3 ms cycle, jitter, 150→162", ClockScenario(tempo=150, change_to=162, change_at=bars // 2 + 0.5,
                                                                   cycle=256 / 48000, **base)),
        ("stamps per 1.3 ms JACK cycle, 10 % lost", ClockScenario(tempo=150, cycle=64 / 48000, drop=0.10, **base)),
        ("stamps per 5.3 ms cycle, 120 BPM, 10 % lost", ClockScenario(tempo=120, cycle=256 / 48000, drop=0.10, **base)),
        ("stamps per 5.3 ms cycle, 150 BPM, 10 % lost", ClockScenario(tempo=150, cycle=256 / 48000, drop=0.10, **base)),
        ("stamps per 2.7 ms cycle, 150→120, 10 % lost", ClockScenario(tempo=150, change_to=120, change_at=bars // 2 + 0.5,
                                                                      cycle=128 / 48000, drop=0.10, **base)),
        ("stamps per 5.3 ms cycle, stalls, 5 % lost", ClockScenario(tempo=150, cycle=256 / 48000, drop=0.05, stall=0.05,
                                                                    stall_every=4, **base)),
        ("ramp 100→125 over 9 bars", ClockScenario(tempo=100, change_to=125, change_at=bars // 4, ramp_bars=9, **base)),
    ]


GRID_TEMPOS = range(60, 301, 20)
GRID_FRAMES = (0, 128, 256)  # input stamped on arrival, or once a JACK period of this many frames at 48 kHz
GRID_SEEDS = 3


def lost_grid(bars: int) -> None:
    """Bars wrong (of GRID_SEEDS runs of `bars` bars) with 10 % of the clocks lost at a steady
    tempo, for every tempo and stamping cycle, per follower."""
    print(f"10 % of the clocks lost, steady tempo: bars wrong of {GRID_SEEDS} x {bars - 1} per tempo (BPM)")
    print(f"{'follower':24s} {'frames':>6s} " + " ".join(f"{t:>4d}" for t in GRID_TEMPOS))
    for name, make in FOLLOWERS:
        for frames in GRID_FRAMES:
            wrong = []
            for tempo in GRID_TEMPOS:
                n = 0
                for seed in range(GRID_SEEDS):
                    s = ClockScenario(tempo=tempo, drop=0.10, cycle=frames / 48000, bars=bars, seed=seed)
                    n += follow(functools.partial(make, cycle=s.cycle), s).bar_wrong.size
                wrong.append(n)
            print(f"{name:24s} {frames or '-':>6} " + " ".join(f"{n:4d}" for n in wrong))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=None,
                        help="bars a condition plays (default 100; 40 with --lost-grid)")
    parser.add_argument("--seed", type=int, default=0, help="the simulation's random seed")
    parser.add_argument("--lost-grid", action="store_true",
                        help="instead: bars wrong with 10 %% lost clocks at every tempo 60-300 BPM and JACK period")
    args = parser.parse_args(argv)
    if args.bars is None:
        args.bars = 40 if args.lost_grid else 100
    if args.bars < 8:
        print("clock_follower: --bars must be 8 or more", file=sys.stderr)
        return 2
    if args.lost_grid:
        lost_grid(args.bars)
        return 0
    print(f"{'condition':46s} {'follower':24s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>9s} {'bars wrong':>10s}")
    for label, scenario in conditions(args.bars, args.seed):
        for name, make in FOLLOWERS:
            r = follow(functools.partial(make, cycle=scenario.cycle), scenario)  # told the cycle, as the engine does
            e = np.abs(r.errors) * 1000
            print(f"{label:46s} {name:24s} {np.median(e):8.2f} {np.percentile(e, 99):8.2f} {e.max():9.2f} "
                  f"{r.bar_wrong.size:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
