"""Shared by the real-port tests: run srlive between helper JACK clients and read what it did."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import mido

from benchmarks.analysis import Heard, grid_deviation, grid_index, pair_notes
from benchmarks.session import DENSE, LiveSession, phrase, step_seconds  # noqa: F401 - DENSE for the tests

TEMPO = 300.0  # the fastest tempo srlive takes: a bar lasts 0.8 s
SRLIVE_CHANNEL = 0  # --channel 1


@dataclass
class Outcome:
    session: LiveSession
    code: int
    heard: Heard
    origin: float
    step: float
    stats: dict = field(default_factory=dict)
    sync: bool = False  # deadlines then follow the smoothed clock, not an exact grid

    @property
    def bar_len(self) -> float:
        return 16 * self.step

    def srlive_notes(self):
        return [n for n in self.heard.notes if n.channel == SRLIVE_CHANNEL]

    def bar_of(self, t: float) -> int:
        """0-based bar of time t (a note up to half a step early belongs to the next bar)."""
        return math.floor((t - self.origin + self.step / 2) / self.bar_len)

    def bars_played(self) -> set[int]:
        return {self.bar_of(n.on) for n in self.srlive_notes()}

    def answered_bars(self) -> set[int]:
        """0-based bars srlive worked out and did not skip (from --stats)."""
        return {b["bar"] - 1 for b in self.stats.get("bars", []) if not b.get("skipped")}

    def off_grid(self) -> list[str]:
        """srlive's onsets that don't land on the step they were scheduled for (from --stats)."""
        scheduled = {}
        for e in self.stats.get("events", []):
            if e["kind"] == "note_on" and e["channel"] == SRLIVE_CHANNEL + 1:
                k = round(e["deadline"] / self.step)
                if not self.sync:
                    assert abs(e["deadline"] - k * self.step) < 1e-5, f"deadline off the grid: {e}"
                scheduled.setdefault(e["note"], set()).add(k)
        wrong = []
        for n in self.srlive_notes():
            k = int(grid_index([n.on], self.origin, self.step)[0])
            if k not in scheduled.get(n.pitch, set()):
                dev = float(grid_deviation([n.on], self.origin, self.step)[0]) * 1000
                wrong.append(f"note {n.pitch} heard at step {k} ({dev:+.1f} ms) but not scheduled there")
        return wrong


def settle(predicate, timeout: float = 2.0) -> bool:
    """Until ``predicate()`` holds (True), or ``timeout`` s went by (its last answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def run_srlive(tempo: float = TEMPO, bars: int = 4, perform_bars: int = 1, extra=(), sync: bool = False,
               timeout: float | None = None, workdir=None) -> Outcome:
    """srlive --bars N between a performer (plays ``perform_bars`` bars from bar 1) and a recorder."""
    step = step_seconds(tempo)
    origin = None
    with LiveSession(tempo=tempo, bars=bars, extra=list(extra), sync=sync, workdir=workdir) as run:
        run.wait_ready()
        if sync:
            origin = run.clock.start(tempo, lead=0.3)
            if perform_bars:
                run.play(phrase(tempo, perform_bars), origin=origin)
        elif perform_bars:
            origin = run.play(phrase(tempo, perform_bars))
        code = run.wait(timeout or bars * 16 * step + 30)
        if sync:
            run.clock.stop()
        stats = run.stats() if run.stats_path.exists() else {}
        if not sync:
            own = stats.get("origin_perf_counter")
            origin = own or origin
        return Outcome(run, code, pair_notes(run.recorder.snapshot()), origin, step, stats, sync)


def midi_notes(path, track: str) -> list[tuple[float, int]]:
    """(start in beats, pitch) of every note on the named track of a MIDI file (read by mido)."""
    mid = mido.MidiFile(path)
    for tr in mid.tracks:
        if tr.name == track:
            notes, t = [], 0
            for msg in tr:
                t += msg.time
                if msg.type == "note_on" and msg.velocity > 0:
                    notes.append((t / mid.ticks_per_beat, msg.note))
            return notes
    raise AssertionError(f"no track named {track!r} in {path}: {[tr.name for tr in mid.tracks]}")
