"""Timing through real JACK ports: how close srlive's output lies to the ideal sixteenth grid.

    python -m benchmarks.timing                    # 200 bars at 180 BPM (267 s)
    python -m benchmarks.timing --bars 40          # shorter
    python -m benchmarks.timing --sync --jitter 0.05   # follow a DAW clock with 5% jitter
    python -m benchmarks.timing --link --tempo 133 --bars 100 --rt-server   # beside a Link peer (root)
    python -m benchmarks.timing --bars 60 --flood 10000 --rt-server --floor  # a broken controller, --record on
    python -m benchmarks.timing --bars 60 --mpe 3000 --rt-server --floor     # an MPE keyboard's stream
    python -m benchmarks.timing --rss-minutes 10 --rt-server                 # memory: 10 quiet, 10 flooded

srlive runs as a real process (``python -m srlive --backend jack --metronome ...``) between two
helper JACK clients: a performer plays a phrase into its input for the whole run (in ``--sync``, a
DAW sends MIDI clock + Start and the phrase on one port), a recorder stamps every message srlive
sends with perf_counter on arrival.

Figures printed (all from what the recorder heard, except where said):

* onset deviation — every note-on heard (srlive's and the metronome's) against the ideal grid
  ``T_0 + k · step``; ``T_0`` is when the performer SENT its first note (internal clock) or the
  clock source's ideal pulse 0 (``--sync``). So "raw" includes both JACK hops (performer → srlive,
  srlive → recorder, about 0.5–1.3 ms together here: the dummy driver's 1.3 ms period). "jitter" is
  the same minus its median: what is left once a constant latency is compensated, as a DAW does.
  With ``--link`` the grid is a scripted Link peer's sixteenths (benchmarks.link_grid: the peer's
  beats on perf_counter, in a private network namespace; the phrase starts on its bar line), so
  "raw" is srlive's Link sync plus the output hop; srlive's bar 1 is reported against the peer's
  nearest bar line (beat ≡ 0 mod 4).
* stuck notes — note-ons the recorder never saw turned off (CC 123 does not count as closing).
* last bar line — the last metronome downbeat against where bar N belongs (raw, and relative to
  the median downbeat offset), and the drift fitted over all downbeats.
* the floor (``--floor``) — a bare Python scheduler (benchmarks.floor, its own process, SCHED_FIFO,
  sleep then spin) sending a note every sixteenth through the same hop to the same recorder, in the
  same run, against its own grid: what this machine allows that minute.
* srlive's own --stats: lateness of each send against its deadline, dropped note-ons, skipped bars,
  inference time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from typing import Optional

import numpy as np

from benchmarks.analysis import (drift, figures_ms, format_figures, grid_deviation, grid_index,
                                 nearest_deviation, pair_notes)
from benchmarks.floor import CHANNEL as FLOOR_CHANNEL
from benchmarks.session import LiveSession, phrase, step_seconds

METRONOME_CHANNEL = 9  # 0-based: MIDI channel 10
DOWNBEAT = 76


def _rss_sampler(pid: int, samples: list, stop: threading.Event, every: float = 1.0) -> threading.Thread:
    import psutil

    proc = psutil.Process(pid)

    def run():  # srlive and its sender process together
        t0 = time.monotonic()
        while not stop.wait(every):
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children())
                samples.append((time.monotonic() - t0, rss))
            except psutil.Error:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _progress(total_s: float, label: str):
    try:
        from tqdm import tqdm

        if not sys.stderr.isatty():
            raise ImportError
    except ImportError:  # the live install has no tqdm: a line every 10 %
        class _Bare:
            def __init__(self):
                self.n, self.next = 0, 0.1

            def update(self, k):
                self.n += k
                if total_s and self.n / total_s >= self.next:
                    print(f"{label}: {100 * self.next:.0f}%", file=sys.stderr, flush=True)
                    self.next += 0.1

            def close(self):
                pass

        return _Bare()
    return tqdm(total=round(total_s), unit="s", desc=label, file=sys.stderr, leave=False)  # noqa


def _start_floor(run, origin: float, step: float, count: int) -> subprocess.Popen:
    """benchmarks.floor in its own process, into the recorder's port beside srlive."""
    return subprocess.Popen([sys.executable, "-m", "benchmarks.floor", "--target", run.recorder.full_name,
                             "--origin", repr(origin), "--step", repr(step), "--count", str(count)])


def run_live(tempo: float = 180.0, bars: int = 200, sync: bool = False, jitter: float = 0.05,
             extra: tuple = (), perform_bars: Optional[int] = None, rss: bool = False, label: str = "timing",
             during=None, workdir: Optional[str] = None, flood_rate: float = 0.0, with_stats: bool = True,
             drop: float = 0.0, stall: Optional[tuple[float, int]] = None, floor: bool = False,
             grid=None, change: Optional[tuple[float, float]] = None, record: bool = False,
             mpe_rate: float = 0.0, flood_delay: float = 0.0) -> dict:
    """Run srlive for ``bars`` bars between the helper clients; return the figures (a dict).

    ``grid`` (benchmarks.link_grid.PeerGrid, with ``--link`` among ``extra``): an outside beat grid
    on perf_counter. The phrase then starts on one of its bar lines, every stamp is read on its
    timeline, and the onsets and srlive's bar 1 are measured against it.

    ``change`` (BPM, bar) with ``sync``: the clock source changes to BPM at that bar (a fraction of a
    bar is mid-bar); onsets are then measured against its ideal sixteenths, and the worst onset of
    each bar from the change on is reported.

    ``record``: srlive records its take (``--record take.mid`` in the run's folder), and the take's
    size and tracks are reported. ``mpe_rate``: an expressive controller's stream (per-note pitch bend
    and channel pressure on channels 2-9, benchmarks.clients.MPE_CYCLE) beside the phrase.
    ``flood_delay``: seconds of the run before the flood starts (the RSS check's quiet part)."""
    bar_len = 16 * step_seconds(tempo)
    step = step_seconds(tempo)
    perform_bars = bars if perform_bars is None else perform_bars
    args = ["--metronome", "--seed", "0", *extra]
    samples: list = []
    if workdir is None and record:
        import tempfile

        workdir = tempfile.mkdtemp(prefix="srlive-timing-")
    take = os.path.join(workdir, "take.mid") if record else None
    if take:
        args += ["--record", take, "--overwrite"]
    with LiveSession(tempo=tempo, bars=bars, extra=args, sync=sync, workdir=workdir, stats=with_stats) as run:
        run.wait_ready()
        stop = threading.Event()
        if rss:
            _rss_sampler(run.proc.pid, samples, stop)
        if during is not None:
            during(run)
        bar = _progress(bars * bar_len, label)
        ticker_stop = threading.Event()

        def tick():
            while not ticker_stop.wait(1.0):
                bar.update(1)

        threading.Thread(target=tick, daemon=True).start()
        flooded: list[int] = []
        if flood_rate:
            from benchmarks.clients import flood

            threading.Thread(target=lambda: flooded.append(
                flood(run.performer, flood_rate, bars * bar_len - flood_delay, delay=flood_delay)), daemon=True).start()
        streamed: list[int] = []
        if mpe_rate:
            from benchmarks.clients import MPE_CYCLE, flood

            threading.Thread(target=lambda: streamed.append(flood(run.performer, mpe_rate, bars * bar_len,
                                                                  cycle=MPE_CYCLE)), daemon=True).start()
        if sync:
            changes = [(round(change[1] * 96), change[0])] if change else ()
            origin = run.clock.start(tempo, jitter=jitter, lead=0.3, drop=drop, stall=stall, changes=changes)
        elif grid is not None:
            origin = grid.bar_line_after_join()
        else:
            origin = time.perf_counter() + 0.3
        floor_proc = _start_floor(run, origin + bar_len, step, (bars - 2) * 16) if floor else None
        run.play(phrase(tempo, perform_bars), origin=origin)
        try:
            code = run.wait(timeout=bars * bar_len + 60)
        finally:
            ticker_stop.set()
            bar.close()
            stop.set()
            if sync:
                run.clock.stop()
            if floor_proc is not None:
                floor_proc.wait(timeout=30)
        events = run.recorder.snapshot()
        ideal_steps = np.asarray(run.clock.pulses[::6]) if sync and change else None
        stats = run.stats() if run.stats_path and run.stats_path.exists() else {}
        # the phrase's first note as sent (a flood's notes, sent from before it, are not it)
        first_sent = next(t for t, d in run.performer.sent if d[0] & 0xF0 == 0x90 and t >= origin - 0.001)
        if flood_rate:
            time.sleep(0.5)
        result = {"tempo": tempo, "bars": bars, "sync": sync, "jitter": jitter if sync else None,
                  "flood": f"{flooded[0] if flooded else '?'} messages at {flood_rate:g}/s" if flood_rate else None,
                  "mpe": f"{streamed[0] if streamed else '?'} messages at {mpe_rate:g}/s" if mpe_rate else None,
                  "exit_code": code, "stderr": run.stderr.strip().splitlines()[-5:], "args": run.args}
    own_origin = stats.get("origin_perf_counter") if stats else None
    heard = pair_notes(events)
    if floor:
        floor_onsets = [n.on for n in heard.notes if n.channel == FLOOR_CHANNEL]
        result["floor_notes"] = len(floor_onsets)
        result["floor_onset_ms"] = figures_ms(grid_deviation(floor_onsets, origin + bar_len, step))
    if grid is not None:  # from here on every time is seconds on the outside grid's timeline
        stamps = grid.seconds([t for t, _ in events])
        events = [(float(w), d) for w, (_, d) in zip(stamps, events)]
        heard = pair_notes(events)
        bar1 = float(grid.seconds([own_origin if own_origin else origin])[0])
        grid_origin, grid_name = bar_len * round(bar1 / bar_len), grid.name
        result["bar1_vs_grid"] = {"from": "srlive's --stats origin" if own_origin else "the phrase's first note",
                                  "grid_beat": round(bar1 * tempo / 60.0, 4),
                                  "ms": round((bar1 - grid_origin) * 1000, 3)}
        result["grid_snapshots"] = len(grid.snaps)
        result["grid_peers_seen"] = grid.peers_seen
        result["grid_clock_rate_ppm"] = round(grid.clock_rate_ppm(), 2)
    elif sync:
        grid_origin, grid_name = origin, "the clock source's ideal grid"
    elif own_origin:
        grid_origin, grid_name = own_origin, "srlive's own bar clock (T_0 = its stamp of the first note)"
    else:
        grid_origin, grid_name = first_sent, "the performer's first note as sent"
    result["grid"] = grid_name
    heard.notes = [n for n in heard.notes if n.channel != FLOOR_CHANNEL]
    onsets = [n.on for n in heard.notes] + [t for t, _, _ in heard.stuck]
    dev = grid_deviation(onsets, grid_origin, step)
    if ideal_steps is not None:
        result["grid"] = grid_name = f"the clock source's ideal sixteenths ({tempo:g} → {change[0]:g} BPM at bar {change[1]:g})"
        dev = nearest_deviation(onsets, ideal_steps)
        bar_of = np.searchsorted(ideal_steps[::16], np.asarray(onsets), side="right") - 1
        first = int(change[1])
        result["worst_by_bar_after_change_ms"] = {
            int(b) + 1: round(float(np.abs(dev[bar_of == b]).max()) * 1000, 3)
            for b in range(first, first + 4) if (bar_of == b).any()}
    result["onset_ms"] = figures_ms(dev)
    result["onset_jitter_ms"] = figures_ms(dev - np.median(dev)) if dev.size else figures_ms([])
    if not sync and grid is None:
        result["onset_vs_performer_send_ms"] = figures_ms(grid_deviation(onsets, first_sent, step))
        if own_origin:
            result["input_hop_ms"] = round((own_origin - first_sent) * 1000, 3)
    srl = [n.on for n in heard.notes if n.channel != METRONOME_CHANNEL]
    result["srlive_notes"] = len(srl)
    result["metronome_notes"] = len(heard.notes) - len(srl)
    result["srlive_onset_ms"] = figures_ms(grid_deviation(srl, grid_origin, step) if ideal_steps is None
                                           else nearest_deviation(srl, ideal_steps))
    if workdir:
        with open(os.path.join(workdir, "heard.json"), "w") as f:
            json.dump({"grid_origin": grid_origin, "step": step, "events": events}, f)
    result["stuck_notes"] = len(heard.stuck)
    # A note-on heard for a pitch already sounding, and a note-off for one not sounding: srlive
    # never sends those (its scheduler closes before it reopens), so these count transport damage.
    result["retriggers_heard"] = heard.retriggers
    result["stray_note_offs_heard"] = heard.stray_offs
    result["all_notes_off_cc123"] = len(heard.all_notes_off)
    downs = heard.onsets(channel=METRONOME_CHANNEL, pitch=DOWNBEAT)
    if downs and ideal_steps is None:  # (bar lines of one length only)
        idx = grid_index(downs, grid_origin, bar_len)
        ddev = grid_deviation(downs, grid_origin, bar_len)
        result["bar_lines"] = {
            "count": len(downs),
            "last_bar": int(idx[-1]) + 1,
            "last_raw_ms": round(float(ddev[-1]) * 1000, 3),
            "last_vs_median_ms": round(float(ddev[-1] - np.median(ddev)) * 1000, 3),
            "fitted_drift_ms": round(drift(downs, grid_origin, bar_len)[1] * 1000, 3),
        }
    if stats:
        result["stats"] = {k: stats.get(k) for k in ("lateness_ms", "inference_ms", "dropped", "skipped", "bars_played")}
        # srlive's own metronome deadlines (s from bar 1): exact multiples of the bar unless it drifts
        result["deadlines"] = [{"note": e["note"], "channel": e["channel"], "deadline": e["deadline"]}
                               for e in stats.get("events", []) if e["kind"] == "note_on" and e["channel"] == 10]
    if take and os.path.exists(take):
        import mido

        mid = mido.MidiFile(take)
        result["take"] = {"bytes": os.path.getsize(take), "tracks": [t.name for t in mid.tracks],
                          "markers": sorted({m.text.split(":")[0] for t in mid.tracks for m in t
                                             if m.type == "marker"})}
    if rss and samples and flood_delay:
        def around(t_end: float) -> float:  # the median over the 30 s before t_end
            window = [r for t, r in samples if t_end - 30 <= t <= t_end] or [samples[-1][1]]
            return float(np.median(window)) / 2**20

        quiet, flooded_mb = around(flood_delay), around(samples[-1][0])
        result["rss_quiet_vs_flood_mb"] = {"after_quiet": round(quiet, 2), "after_flood": round(flooded_mb, 2),
                                           "difference": round(flooded_mb - quiet, 2),
                                           "quiet_s": round(flood_delay), "flood_s": round(samples[-1][0] - flood_delay)}
    if rss and samples:
        warm = [r for t, r in samples if t >= 10] or [r for _, r in samples]
        result["rss_mb"] = {"first": round(warm[0] / 2**20, 2), "last": round(samples[-1][1] / 2**20, 2),
                            "max": round(max(r for _, r in samples) / 2**20, 2),
                            "growth_after_10s": round((samples[-1][1] - warm[0]) / 2**20, 2)}
    return result


def report(result: dict, out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(" ".join(result["args"]))
    p(f"JACK server: {result.get('jack_server', '?')}")
    p(f"tempo {result['tempo']:g} BPM, {result['bars']} bars, sync={result['sync']}"
      + (f" (clock jitter ±{100 * result['jitter']:.0f}% of a pulse)" if result["sync"] else "")
      + (", beside a Link peer" if "bar1_vs_grid" in result else "") + f", exit code {result['exit_code']}")
    p(f"grid: {result['grid']}")
    if "bar1_vs_grid" in result:
        b = result["bar1_vs_grid"]
        p(f"srlive's bar 1 ({b['from']}) at grid beat {b['grid_beat']:.4f}: {b['ms']:+.3f} ms from the grid's "
          f"nearest bar line; {result['grid_snapshots']} grid snapshots, {result['grid_peers_seen']} other peer(s) "
          f"seen, the grid's clock runs {result['grid_clock_rate_ppm']:+.2f} ppm against perf_counter")
    p(format_figures("onset deviation (all note-ons heard)     ", result["onset_ms"]))
    p(format_figures("  minus its median (latency compensated) ", result["onset_jitter_ms"]))
    p(format_figures("  srlive's notes only                    ", result["srlive_onset_ms"]))
    if "onset_vs_performer_send_ms" in result:
        p(format_figures("  vs the performer's first note as sent  ", result["onset_vs_performer_send_ms"]))
    if "input_hop_ms" in result:
        p(f"  (performer -> srlive hop for the first note: {result['input_hop_ms']:.3f} ms)")
    if "floor_onset_ms" in result:
        p(format_figures("the floor (a bare scheduler, same hop)   ", result["floor_onset_ms"]))
    p(f"notes heard: srlive {result['srlive_notes']}, metronome {result['metronome_notes']}; "
      f"stuck notes: {result['stuck_notes']}; CC 123 seen: {result['all_notes_off_cc123']}; "
      f"re-triggers/stray note-offs heard: {result['retriggers_heard']}/{result['stray_note_offs_heard']}")
    if "bar_lines" in result:
        b = result["bar_lines"]
        p(f"last bar line (bar {b['last_bar']}): {b['last_raw_ms']:+.3f} ms raw, {b['last_vs_median_ms']:+.3f} ms "
          f"vs the median bar line; fitted drift over the run {b['fitted_drift_ms']:+.3f} ms ({b['count']} bar lines)")
    if "stats" in result:
        s = result["stats"]
        p(f"srlive --stats: lateness {s['lateness_ms']}, inference {s['inference_ms']}, dropped {s['dropped']}, "
          f"skipped bars {s['skipped']}, bars played {s['bars_played']}")
    if "worst_by_bar_after_change_ms" in result:
        p(f"worst onset of each bar from the tempo change on (bar: ms): {result['worst_by_bar_after_change_ms']}")
    if "rss_mb" in result:
        p(f"resident memory (MB): {result['rss_mb']}")
    if "rss_quiet_vs_flood_mb" in result:
        p(f"resident memory after the quiet part and after the flood (MB): {result['rss_quiet_vs_flood_mb']}")
    if "take" in result:
        t = result["take"]
        p(f"take: {t['bytes']} bytes, tracks {t['tracks']}, markers {t['markers']}")
    if "load" in result:
        p(f"load: {result['load']}")
    if result.get("flood"):
        p(f"flood on the input: {result['flood']} (benchmarks.clients.FLOOD_CYCLE)")
    if result.get("mpe"):
        p(f"expressive controller on the input: {result['mpe']} (benchmarks.clients.MPE_CYCLE)")
    if result["stderr"]:
        p("srlive said: " + " | ".join(result["stderr"]))


def parser(description: str, bars: int, tempo: float) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--bars", type=int, default=bars)
    ap.add_argument("--tempo", type=float, default=tempo)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--keep", help="keep srlive's stats/recording in this directory")
    ap.add_argument("--rt-server", action="store_true",
                    help="run on a private realtime JACK dummy server (srlive-bench) instead of the running one")
    ap.add_argument("srlive_args", nargs=argparse.REMAINDER, help="after --: more srlive options")
    return ap


def finish(result: dict, args) -> int:
    import os as _os

    result["jack_server"] = _os.environ.get("JACK_DEFAULT_SERVER", "default") + (
        " (private, realtime)" if getattr(args, "rt_server", False) else " (the running one)")
    report(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result["exit_code"] == 0 else 1


def with_jack(fn, rt_server: bool = False):
    from benchmarks.jackserver import server_or_say, start, use_private_rt_server

    server = server_or_say("benchmark", use_private_rt_server if rt_server else start)
    if server is None:
        return 2
    try:
        return fn()
    finally:
        server.stop()


def main(argv=None) -> int:
    ap = parser("srlive timing through JACK", 200, 180.0)
    ap.add_argument("--sync", action="store_true", help="follow a MIDI clock source instead of --tempo")
    ap.add_argument("--jitter", type=float, default=0.05, help="clock jitter, fraction of a pulse (with --sync)")
    ap.add_argument("--drop", type=float, default=0.0, metavar="P",
                    help="share of clock pulses never sent, at random (with --sync)")
    ap.add_argument("--stall", type=float, nargs=2, default=None, metavar=("MS", "BARS"),
                    help="every BARS bars hold the clock MS ms after the downbeat, then send a burst (with --sync)")
    ap.add_argument("--flood", type=float, default=0.0, metavar="RATE",
                    help="also flood srlive's input with RATE junk messages a second (10000 measures a broken "
                         "controller); srlive records its take meanwhile")
    ap.add_argument("--mpe", type=float, default=0.0, metavar="RATE",
                    help="an expressive controller beside the phrase: RATE messages a second of per-note pitch bend "
                         "and channel pressure on channels 2-9 (3000: an MPE keyboard played with five fingers); "
                         "srlive records its take meanwhile")
    ap.add_argument("--rss-minutes", type=float, default=0.0, metavar="N",
                    help="memory check: N quiet minutes, then N minutes of --flood (default 10000/s); resident "
                         "memory after each (overrides --bars)")
    ap.add_argument("--no-record", action="store_true", help="no --record even with --flood or --mpe")
    ap.add_argument("--change", type=float, nargs=2, default=None, metavar=("BPM", "BAR"),
                    help="the clock source changes to BPM at BAR (8.5: mid-bar 9) (with --sync)")
    ap.add_argument("--floor", action="store_true",
                    help="also run a bare Python scheduler through the same hop (benchmarks.floor) and report it")
    ap.add_argument("--link", action="store_true",
                    help="srlive --link beside a scripted Ableton Link peer at --tempo, measured against the peer's "
                         "beat grid; re-runs itself in a private network namespace (needs root)")
    args = ap.parse_args(argv)
    if not 0 <= args.drop < 1 or args.stall and (args.stall[0] <= 0 or args.stall[1] < 1):
        print("timing: --drop takes a share in [0, 1); --stall takes MS > 0 and BARS >= 1", file=sys.stderr)
        return 2
    if args.link and args.sync:
        print("timing: --link and --sync are two clocks: choose one", file=sys.stderr)
        return 2
    extra = [a for a in args.srlive_args if a != "--"]
    flood_delay = 0.0
    if args.rss_minutes:
        flood_delay = 60.0 * args.rss_minutes
        args.bars = int(2 * flood_delay / (16 * step_seconds(args.tempo))) + 1
        args.flood = args.flood or 10000.0
    record = bool(args.flood or args.mpe) and not args.no_record
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    if args.link:
        from benchmarks import link_grid

        if not link_grid.inside():  # no Link peer ever starts on the machine's real interfaces
            own = list(sys.argv[1:] if argv is None else argv)
            return link_grid.rerun_inside(["-m", "benchmarks.timing", *own],
                                          timeout=args.bars * 16 * step_seconds(args.tempo) + 180)
        extra.append("--link")

    def measure(grid=None) -> int:
        return finish(run_live(args.tempo, args.bars, sync=args.sync, jitter=args.jitter, drop=args.drop,
                               stall=(args.stall[0], int(args.stall[1])) if args.stall else None, extra=tuple(extra),
                               workdir=args.keep, label="sync" if args.sync else "link" if args.link else "timing",
                               flood_rate=args.flood, floor=args.floor, grid=grid, record=record,
                               mpe_rate=args.mpe, flood_delay=flood_delay, rss=bool(args.rss_minutes),
                               change=(args.change[0], args.change[1]) if args.change else None), args)

    def with_peer() -> int:
        from benchmarks.link_grid import PeerGrid

        with PeerGrid(args.tempo) as grid:
            return measure(grid)

    return with_jack(with_peer if args.link else measure, args.rt_server)


if __name__ == "__main__":
    sys.exit(main())
