"""How close a take's tempo map is to the DAW's clock, with srlive following MIDI clock on real JACK ports.

Each take: srlive --sync --record, solo, following a clock at TEMPO that changes to --to at bar
--change-bar (the case tests/ports/test_takes_jack.py checks); the take's tempo at every bar
against the clock's. Printed: each take's error per bar (%), then the worst bar over all takes.
Runs on the real-port tests' JACK server (256-frame periods: input stamped once a 5.3 ms cycle),
started if it is not running.

    python -m benchmarks.take_tempo [--takes 12] [--tempo 150] [--to 162]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import mido

from benchmarks.session import DENSE, LiveSession

TPB = 480  # the take's ticks a quarter note


def tempo_map(mid: mido.MidiFile) -> list[tuple[int, float]]:
    """A MIDI file's tempo map: [(tick, bpm)] in tick order, from every track."""
    tempi = []
    for track in mid.tracks:
        t = 0
        for msg in track:
            t += msg.time
            if msg.type == "set_tempo":
                tempi.append((t, mido.tempo2bpm(msg.tempo)))
    return sorted(tempi)


def tempo_at(tempi: list[tuple[int, float]], tick: int) -> float:
    """The tempo in force at `tick` by a tempo map."""
    return [bpm for t, bpm in tempi if t <= tick][-1]


def bar_tempi(path: Path, bars: int, beats: int = 4) -> list[float]:
    """The tempo in force at each bar's downbeat, as the take's tempo map says."""
    tempi = tempo_map(mido.MidiFile(path))
    return [tempo_at(tempi, bar * beats * TPB) for bar in range(bars)]


def one_take(tempo: float, to: float, bars: int, change_bar: int) -> list[float]:
    """Each bar's tempo error in percent; raises if srlive did not exit cleanly."""
    with tempfile.TemporaryDirectory() as d:
        take = Path(d) / "take.mid"
        with LiveSession(tempo=120, bars=bars, sync=True, workdir=Path(d),
                         extra=[*DENSE, "--mode", "solo", "--record", str(take)]) as run:
            run.wait_ready()
            run.clock.start(tempo, lead=0.3, changes=[(change_bar * 96, to)])
            code = run.wait(60)
            run.clock.stop()
        if code != 0:
            raise RuntimeError(f"srlive exited {code}: {run.stderr.strip()[-300:]}")
        got = bar_tempi(take, bars)
    return [100 * (g / (tempo if b < change_bar else to) - 1) for b, g in enumerate(got)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--takes", type=int, default=12)
    ap.add_argument("--tempo", type=float, default=150.0, help="the clock's tempo at the start")
    ap.add_argument("--to", type=float, default=162.0, help="the clock's tempo from --change-bar on")
    ap.add_argument("--bars", type=int, default=6)
    ap.add_argument("--change-bar", type=int, default=3, help="0-based bar where the tempo changes")
    args = ap.parse_args(argv)
    from benchmarks.jackserver import server_or_say, use_test_server

    server = server_or_say("take_tempo", use_test_server)
    if server is None:
        return 2
    worst = []
    try:
        for k in range(args.takes):
            errs = one_take(args.tempo, args.to, args.bars, args.change_bar)
            worst.append(max(abs(e) for e in errs))
            print(f"take {k + 1:2d}: bar tempo error % " + " ".join(f"{e:+.2f}" for e in errs), flush=True)
    except RuntimeError as err:
        print(f"take_tempo: {err}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    worst.sort()
    print(f"worst bar over {len(worst)} takes: {worst[-1]:.2f} %; median take's worst {worst[len(worst) // 2]:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
