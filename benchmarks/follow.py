"""srlive following a performer (``--follow``) through real JACK ports, beside a fixed ``--tempo``.

A performer client plays a real melody (the shipped example take, or ``--tune FILE.mid``) into
srlive on a tempo curve (benchmarks.performer: steady, drifting, ritardando and a tempo, human
timing, a two-bar pause); srlive accompanies with ``--follow --record``. Each note srlive plays is
judged against the performer's own beat grid at the bar and step the take gives it (bar 1 = the
performer's first note): the time the listening client heard it, less the performer's time for
that position (their first note as sent, plus the curve's time for the position). The same
performance is then played to srlive at a fixed ``--tempo`` (the performer's opening tempo) and
judged the same way, beside it.

Printed per row: p50 / p95 / p99 / max of |error| (ms), the notes half a beat or more off, and
the row's own check (steady: the drift of the errors over the run; ritardando: the worst error
from two bars after each a tempo; pause: the clock's tempo over the silent bars from ``--stats``).

    python -m benchmarks.follow                      # every row (about half an hour)
    python -m benchmarks.follow --quick              # 8 bars a row, one seed
    python -m benchmarks.follow --rows human --seeds 3 --plot docs/follow.png
    python -m benchmarks.follow --replot a.json b.json --plot docs/follow.png   # rows run apart, drawn together

Runs on a private JACK dummy server (``srlive-bench``, 64-frame periods, realtime where allowed;
the test server when not). Run it under the JACK lock (HELPERS: ``flock /tmp/srlive-jack.lock``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import mido
import numpy as np

from benchmarks.analysis import pair_notes
from benchmarks.performer import PHRASE, perform
from benchmarks.session import LiveSession
from benchmarks.take_tempo import bar_tempi

ROWS = {  # name: (tempo curve, bars)
    "steady": ("steady", 64),
    "drift": ("drift", 64),
    "ritardando": ("ritardando", 32),
    "human": ("human", 32),
    "pause": ("pause", 32),
}
TEMPO = 120.0
TPB = 480


def performer_events(perf) -> list[tuple[float, list[int]]]:
    """(seconds from the first note, bytes): each note on at its onset, off at 90 % of its length."""
    events = []
    ends = perf.grid(perf.positions + perf.lengths)
    for on, end, pitch in zip(perf.onsets, ends, perf.pitches):
        off = on + 0.9 * max(end - on, 0.02)
        events += [(float(on), [0x90, int(pitch), 90]), (float(off), [0x80, int(pitch), 0])]
    events.sort(key=lambda e: (e[0], e[1][0] == 0x90))
    return events


def take_notes(path: Path, track: str = "srlive") -> list[tuple[float, int]]:
    """(position in steps, pitch) of each note-on on a take's track, in order."""
    mid = mido.MidiFile(path)
    out = []
    for tr in mid.tracks:
        if tr.name != track:
            continue
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                out.append((tick * 4 / mid.ticks_per_beat, msg.note))
    return out


def judge(heard, take: list[tuple[float, int]], perf, origin: float, channel: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(each srlive note's error in s, its step): when it was heard, less the performer's time for
    the step the take gives it. Heard notes and take notes are paired in order, pitch by pitch."""
    by_pitch: dict[int, list[float]] = defaultdict(list)
    for n in sorted(heard.notes, key=lambda n: n.on):
        if n.channel == channel:
            by_pitch[n.pitch].append(n.on)
    placed: dict[int, list[float]] = defaultdict(list)
    for pos, pitch in take:
        placed[pitch].append(pos)
    err, where = [], []
    for pitch, ons in by_pitch.items():
        for t, pos in zip(ons, placed.get(pitch, [])):
            err.append(t - (origin + float(perf.grid(pos))))
            where.append(pos)
    return np.array(err), np.array(where)


def one_run(perf, bars: int, follow: bool, workdir: Path, tempo: float) -> dict:
    """srlive accompanying ``perf`` once; what it played, judged (see the module docstring)."""
    take = workdir / ("follow.mid" if follow else "fixed.mid")
    extra = ["--mode", "accompany", "--seed", "1", "--record", str(take), "--overwrite"]
    if follow:
        extra.append("--follow")
    with LiveSession(tempo=tempo, bars=bars, workdir=str(workdir), extra=extra) as run:
        run.wait_ready()
        run.play(performer_events(perf))
        code = run.wait(timeout=perf.beats[-1] + 60)
        events = run.recorder.snapshot()
        stats = run.stats() if run.stats_path and run.stats_path.exists() else {}
    if code != 0:
        raise RuntimeError(f"srlive exited {code}: {run.stderr.strip()[-300:]}")
    first = next(t for t, d in run.performer.sent if d[0] & 0xF0 == 0x90)
    err, where = judge(pair_notes(events), take_notes(take), perf, first)
    return {"err": err, "where": where, "tempi": bar_tempi(take, bars, perf.steps // 4), "stats": stats}


def figures(err: np.ndarray, beat: float) -> dict:
    a = np.abs(err) * 1000
    if not a.size:
        return {"notes": 0}
    return {"notes": int(a.size), "p50": round(float(np.percentile(a, 50)), 2),
            "p95": round(float(np.percentile(a, 95)), 2), "p99": round(float(np.percentile(a, 99)), 2),
            "max": round(float(a.max()), 2), "half_beat_off": int((a >= 500 * beat).sum())}


def row_check(name: str, perf, result: dict, bars: int) -> str:
    """The row's own figure (module docstring)."""
    err, where = result["err"], result["where"]
    if name == "steady" and err.size > 8:
        late = where >= where.max() / 2
        return f"drift: median error of the second half − the first {1000 * (np.median(err[late]) - np.median(err[~late])):+.2f} ms"
    if name == "ritardando":
        worst = after_a_tempo(err, where, bars)
        return f"worst from two bars after each a tempo: {worst:.1f} ms" if worst is not None else ""
    if name == "pause":
        rows = result["stats"].get("bar_tempo", [])
        mid = bars // 2
        held = [r["bpm"] for r in rows if mid < r["bar"] <= mid + 2]
        return f"clock tempo over the silent bars: {', '.join(f'{b:.2f}' for b in held)} BPM" if held else ""
    return ""


def after_a_tempo(err: np.ndarray, where: np.ndarray, bars: int) -> float | None:
    """The worst |error| (ms) of the notes from two bars after each a tempo to the next ritardando."""
    worst = [0.0]
    for start in range(PHRASE, bars, PHRASE):
        inside = (where >= (start + 2) * 16) & (where < (start + PHRASE - 2) * 16)
        worst += list(np.abs(err[inside]))
    return 1000 * max(worst) if len(worst) > 1 else None


def run_row(name: str, bars: int, seed: int, workdir: Path, tune: str | None) -> dict:
    curve, _ = ROWS[name]
    perf = perform(curve, bars, TEMPO, seed=seed, source=tune)
    opening = 60.0 / (perf.beats[1] - perf.beats[0]) if curve == "human" else TEMPO
    out = {"row": name, "seed": seed, "bars": bars, "performer_tempi": [perf.tempo_of_bar(b) for b in range(bars)]}
    for follow in (True, False):
        r = one_run(perf, bars, follow, workdir, round(opening, 2))
        label = "follow" if follow else "fixed"
        check = row_check(name, perf, r, bars)
        clock = r["stats"].get("clock") or {}
        if "replans" in clock:
            check = f"{check}; the clock bent {clock['replans']} times on {clock['onsets']} onsets".lstrip("; ")
        out[label] = {**figures(r["err"], 60.0 / TEMPO), "take_tempi": r["tempi"], "check": check}
    return out


def plot(results: list[dict], path: str) -> None:
    """Each row's followed tempo (the take's tempo map) against the performer's, bar by bar: one
    panel a row (its first seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    firsts: dict[str, dict] = {}
    for r in results:
        firsts.setdefault(r["row"], r)
    results = list(firsts.values())
    fig, axes = plt.subplots(len(results), 1, figsize=(8, 2.0 * len(results)), squeeze=False)
    for ax, r in zip(axes[:, 0], results):
        bars = np.arange(1, r["bars"] + 1)
        ax.plot(bars, r["performer_tempi"], color="0.3", lw=2, label="performer")
        ax.plot(bars, r["follow"]["take_tempi"], color="tab:orange", marker=".", lw=1, label="srlive --follow (take)")
        ax.axhline(r["fixed"]["take_tempi"][0], color="tab:blue", ls=":", lw=1, label="srlive --tempo")
        lo, hi = ax.get_ylim()
        mid = (lo + hi) / 2
        ax.set_ylim(min(lo, mid - 3), max(hi, mid + 3))  # at least ±3 BPM: a 0.1 % wobble looks like one
        ax.set_title(f"{r['row']} (seed {r['seed']})", fontsize=9, loc="left")
        ax.set_ylabel("BPM")
        ax.legend(fontsize=7, loc="lower left")
    axes[-1, 0].set_xlabel("bar")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(r: dict) -> None:
    name = f"{r['row']} (seed {r['seed']}, {r['bars']} bars)"
    for label in ("follow", "fixed"):
        f = r[label]
        if not f.get("notes"):
            print(f"{name:34s} {label:6s} no notes judged")
            continue
        print(f"{name:34s} {label:6s} {f['notes']:4d} notes  p50 {f['p50']:7.1f}  p95 {f['p95']:7.1f}  "
              f"p99 {f['p99']:7.1f}  max {f['max']:7.1f} ms  half a beat off {f['half_beat_off']:3d}  {f['check']}",
              flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    ap.add_argument("--seeds", type=int, default=3, help="human timing: how many seeds (default 3)")
    ap.add_argument("--quick", action="store_true", help="8 bars a row (16 for the ritardando), one seed")
    ap.add_argument("--bars", type=int, help="bars a row (default: the row's own)")
    ap.add_argument("--tune", help="a .mid melody to play instead of the shipped example take")
    ap.add_argument("--plot", help="draw each row's followed tempo against the performer's to this PNG")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--replot", nargs="+", metavar="JSON", help="no run: report and --plot the rows of these --json files")
    args = ap.parse_args(argv)
    if args.replot:
        results = [r for path in args.replot for r in json.loads(Path(path).read_text())]
        for r in results:
            report(r)
        if args.plot:
            plot(results, args.plot)
        return 0
    from benchmarks.jackserver import server_or_say, use_private_rt_server, use_test_server

    server = server_or_say("follow", use_private_rt_server, use_test_server)
    if server is None:
        return 2
    results = []
    try:
        with tempfile.TemporaryDirectory() as d:
            for name in args.rows:
                bars = args.bars or (2 * PHRASE if args.quick and name == "ritardando" else 8 if args.quick else ROWS[name][1])
                for seed in range(args.seeds if name == "human" and not args.quick else 1):
                    r = run_row(name, bars, seed, Path(d), args.tune)
                    report(r)
                    results.append(r)
    except RuntimeError as err:
        print(f"follow: {err}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    if args.plot:
        plot(results, args.plot)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
