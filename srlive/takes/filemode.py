"""File mode: the live engine on a simulated clock, from a take (.mid) to an answer (.mid).

``srlive --in take.mid --out answer.mid`` plays the take into the same engine the live tool runs
(capture windows, quantiser, mode, model step, renderer, scheduler), but time is simulated: each
window closes the moment the previous one is done, so it runs as fast as the model computes and
nothing is ever late. The answer file is a take (srlive.takes.recorder): tracks ``performer`` (the take's
channel messages, as played) and ``srlive`` at the session tempo (``--tempo``, default the take's own).
Its bars are the session's meter (``settings.meter``): the take's time signature when it has one of
srlive's (4/4, 3/4, 6/8) and no ``--meter`` is given (``take_meter``), and the answer carries it.

Bar 1 is the file's bar 1 (time 0), so a clip from a DAW lines up with its bars. How many bars:
``--bars N``; else the take's bars plus one (srlive's answer to the last bar), and in
call-response until the last answer is done. ``srlive --demo [OUT]`` is file mode on the shipped
srlive/data/example_take.mid.

An unreadable take is refused in one line; nothing is written unless the whole answer is made
(the output is replaced atomically at the end).
"""

from __future__ import annotations

import importlib.resources
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from srlive import meter as meters
from srlive import roll
from srlive.clocks.internal import bar_seconds
from srlive.contract import DEFAULT_TEMPO, Meter
from srlive.errors import UserError
from srlive.live.engine import Engine
from srlive.live.quantise import NoteMsg, Quantiser
from srlive.settings import Settings
from srlive.takes import midifile
from srlive.takes.recorder import Recorder, check_writable

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
MAX_EXTRA_BARS = 64  # call-response: the longest answer file mode waits for after the take


def example_take() -> Path:
    return Path(str(importlib.resources.files("srlive").joinpath("data", "example_take.mid")))


def looks_like_midi_file(name: str) -> bool:
    return str(name).lower().endswith(MIDI_SUFFIXES)


@dataclass
class Take:
    notes: list[NoteMsg]  # note messages, seconds from the file's start (velocity 0 = off)
    raw: list[tuple[float, bytes]]  # every channel message, for the performer track
    tempo: float  # the file's first tempo (DEFAULT_TEMPO when it has none)
    end: float  # time of its last message
    path: Path | None = None
    time_signature: tuple[int, int] | None = None  # the file's first (numerator, denominator)

    @property
    def n_notes(self) -> int:
        return sum(1 for m in self.notes if m.velocity > 0)


def read_take(path) -> Take:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such MIDI file; give the path of a .mid take")
    try:
        contents = midifile.read(p)
    except midifile.UnreadableMidi as e:
        raise UserError(f"{p}: not a readable MIDI file ({e}); export the take again as a standard MIDI file") from None
    notes = [NoteMsg(t, msg.note, msg.velocity if msg.type == "note_on" else 0, msg.channel)
             for t, _, msg in contents.messages if msg.type in ("note_on", "note_off")]
    raw = [(t, bytes(msg.bytes())) for t, _, msg in contents.messages]
    return Take(notes, raw, float(contents.tempo or DEFAULT_TEMPO), contents.end, p, contents.time_signature)


def take_meter(take: Take, given: Meter | None, otherwise: Meter) -> Meter:
    """The meter a take is answered in: ``given`` (--meter on the command line), else the take's
    time signature (one line when srlive has no model for it), else ``otherwise``."""
    if given is not None:
        return given
    return meters.of_signature(take.time_signature, str(take.path or "the take")) or otherwise


def seed_roll(path, tempo: float | None = None, meter: Meter | None = None) -> np.ndarray:
    """The last non-empty bar of a .mid file (quantised at its tempo, in bars of ``meter``, default
    4/4): where --seed-file starts solo."""
    take = read_take(path)
    meter = meter or meters.named(None)
    bar_len = bar_seconds(tempo or take.tempo, meter)
    step = bar_len / meter.steps
    q = Quantiser(steps=meter.steps)
    last = roll.empty_roll(meter.steps)
    n = max(1, math.ceil(take.end / bar_len))
    for b in range(n):
        lo, hi = b * bar_len - step / 2, (b + 1) * bar_len - step / 2
        cap = q.close_bar([m for m in take.notes if lo <= m.time < hi], b * bar_len, step)
        if not cap.silent:
            last = cap.roll
    if not last.any():
        raise UserError(f"--seed-file {path}: has no notes; give a take with at least one note")
    return last


class SimClock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def now(self) -> float:
        return self.t

    def sleep(self, dt: float) -> None:
        self.t += dt


@dataclass
class FileResult:
    out: Path
    bars: int
    tempo: float
    mode: str
    performer_notes: int
    srlive_notes: int
    answered: int
    skipped: int
    mean_inference_ms: float | None
    meter: str = "4/4"

    def summary(self) -> str:
        inf = "" if self.mean_inference_ms is None else f", {self.mean_inference_ms:.1f} ms a step"
        return (f"{self.bars} bars at {self.tempo:g} BPM ({self.meter}, {self.mode}): performer {self.performer_notes} notes, "
                f"srlive {self.srlive_notes} notes in {self.answered} bars answered, {self.skipped} skipped{inf}")


def run_file(in_path, out_path, runtime, settings: Settings, *, stats=None, seed: np.ndarray | None = None,
             tempo_given: bool = False, overwrite: bool = True, log=None) -> FileResult:
    """Answer the take in ``in_path`` (a path, or a Take already read) in bars of ``settings.meter``;
    write ``out_path`` (atomically) and return what was done. Without ``overwrite`` an existing file
    is kept and the answer goes to the next free name."""
    take = in_path if isinstance(in_path, Take) else read_take(in_path)
    out = check_writable(out_path)
    settings = replace(settings, tempo=settings.tempo if tempo_given else take.tempo, sync=False)
    sim = SimClock(0.0)
    if stats is None:
        from srlive.takes.stats import Stats

        stats = Stats()
    recorder = Recorder(out, settings.tempo, origin=0.0, check=False, overwrite=overwrite, log=log,
                        meter=settings.meter)
    engine = Engine(runtime, settings, now=sim.now, sleep=sim.sleep, recorder=recorder, stats=stats, seed_roll=seed,
                    timer=time.perf_counter)
    engine.start_clock(0.0)
    clock = engine.clock
    for t, data in take.raw:
        recorder.add("performer", t, data)
    notes = sorted((m for m in take.notes if settings.in_channel is None or m.channel == settings.in_channel),
                   key=lambda m: m.time)
    next_note = 0

    def drain(until: float) -> list[NoteMsg]:
        nonlocal next_note
        first = next_note
        while next_note < len(notes) and notes[next_note].time < until:
            next_note += 1
        return notes[first:next_note]
    take_bars = max(1, math.ceil(take.end / clock.bar_len - 1e-9))
    total = settings.bars
    sched = engine.scheduler

    def play_until(t: float) -> None:
        while sched.next_deadline() is not None and sched.next_deadline() <= t:
            sim.t = max(sim.t, sched.next_deadline())
            sched.dispatch_due()
        sim.t = max(sim.t, t)

    sim.t = -clock.step  # before bar 1: solo's first bar is on time
    sched.add(engine.first_bar(0))
    bar = 0
    while True:
        done = bar + 1 >= total if total is not None else (
            bar + 1 >= take_bars + 1 and not (engine.mode.busy and bar + 1 < take_bars + MAX_EXTRA_BARS))
        close = clock.time_at(bar, engine.steps - 0.5)
        play_until(close)
        sched.add(engine.close_window(bar, drain(close), generate=not done).events)
        bar += 1
        if done:
            break
    play_until(clock.time_at(bar))
    sched.all_notes_off()
    recorder.write(until=clock.time_at(bar))
    inf = [b["inference_ms"] for b in stats.bars if b["inference_ms"] is not None]
    return FileResult(recorder.path, bar, settings.tempo, settings.mode, take.n_notes, engine.notes_sent,
                      engine.answered, engine.skipped, float(np.mean(inf)) if inf else None, settings.meter.name)
