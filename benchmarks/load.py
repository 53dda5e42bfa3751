"""Timing while both CPU cores are saturated by other processes.

    python -m benchmarks.load                 # 60 bars at 180 BPM (80 s), 2 busy loops
    python -m benchmarks.load --bars 200 --busy 2

Starts ``--busy`` processes spinning ``while True: pass`` (each bounded by the run's length plus a
margin, so none outlives the benchmark), then runs the same measurement as ``timing``: lateness
against the deadlines (srlive's --stats), onset deviation at the recorder, dropped note-ons,
skipped bars, stuck notes (must stay 0).
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.session import step_seconds
from benchmarks.timing import finish, parser, run_live, with_jack

BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def busy_loops(n: int, seconds: float) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=seconds)]) for _ in range(n)]


def main(argv=None) -> int:
    ap = parser("srlive timing through JACK with the CPU saturated", 60, 180.0)
    ap.add_argument("--busy", type=int, default=2, help="busy-loop processes (default 2: both cores here)")
    args = ap.parse_args(argv)
    extra = tuple(a for a in args.srlive_args if a != "--")
    seconds = args.bars * 16 * step_seconds(args.tempo) + 20
    loops: list[subprocess.Popen] = []

    def saturate(_run):
        loops.extend(busy_loops(args.busy, seconds))

    def measure():
        try:
            result = run_live(args.tempo, args.bars, extra=extra, during=saturate, workdir=args.keep, label="load")
        finally:
            for p in loops:
                p.kill()
                p.wait()
        result["load"] = f"{args.busy} busy-loop processes ('while True: pass') for the whole run"
        return finish(result, args)

    return with_jack(measure, args.rt_server)


if __name__ == "__main__":
    sys.exit(main())
