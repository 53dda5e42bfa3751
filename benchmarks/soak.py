"""Soak: a long run at 240 BPM — resident memory, drift of the last bar line, stuck notes.

    python -m benchmarks.soak                 # 30 minutes (1800 bars at 240 BPM)
    python -m benchmarks.soak --minutes 2     # the CI version (tests/ports/test_soak.py)

Targets: resident memory grows ≤ 5 MB (measured from 10 s in, after warm-up), the last bar line
within 2 ms of where it belongs, stuck notes 0.
"""

from __future__ import annotations

import sys

from benchmarks.timing import finish, parser, run_live, with_jack

TEMPO = 240.0


def bars_for(minutes: float, tempo: float = TEMPO) -> int:
    return max(1, round(minutes * 60 / (4 * 60 / tempo)))


def soak(minutes: float, tempo: float = TEMPO, extra: tuple = (), workdir=None, with_stats: bool = False) -> dict:
    """Without --stats by default: srlive keeps every sent event for that file, which grows with
    the run by design (about 0.4 KB an event) and would swamp the memory figure."""
    return run_live(tempo, bars_for(minutes, tempo), extra=extra, rss=True, workdir=workdir, label="soak",
                    with_stats=with_stats)


def main(argv=None) -> int:
    ap = parser("srlive soak through JACK", 0, TEMPO)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--with-stats", action="store_true", help="run srlive with --stats too")
    args = ap.parse_args(argv)
    extra = tuple(a for a in args.srlive_args if a != "--")
    return with_jack(lambda: finish(soak(args.minutes, args.tempo, extra, args.keep, args.with_stats), args),
                     args.rt_server)


if __name__ == "__main__":
    sys.exit(main())
