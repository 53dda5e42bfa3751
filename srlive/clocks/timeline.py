"""Engine time (perf_counter seconds) → musical time (beats from bar 1's downbeat), for takes.

A take is written in the bar clock's own time, so it lines up with the DAW's bars: a time t inside
bar b (``T_b <= t < T_{b+1}``, from the clock's ``time_at``) is beat
``b·q + q·(t − T_b)/(T_{b+1} − T_b)``, and bar b's tempo is ``60·q/(T_{b+1} − T_b)`` BPM, where q
is the meter's quarter notes in a bar (4 in 4/4, 3 in 3/4 and 6/8): beats are quarter notes, as a
MIDI file counts them.
The same mapping serves every clock: the internal one (a constant tempo from its origin), the MIDI
clock follower (bar 0 is the DAW's bar 1, the first pulse after Start) and Link (bar 0 is the first
bar srlive heard). An event srlive scheduled carries its place on the grid: on a clock that bends (``bends``: the
followers, Link) its clock pulse (``Event.pos``), otherwise its deadline, which the internal clock
puts exactly on a step.
"""

from __future__ import annotations

from srlive.clocks.internal import InternalClock
from srlive.contract import DEFAULT_METER, METERS, PULSES_PER_QUARTER, Meter


class ClockTimeline:
    """Musical time from a bar clock (a srlive.clocks.bar_clock.BarClock)
    whose bars are of ``meter`` (default: the clock's own ``meter``, else 4/4)."""

    def __init__(self, clock, meter: Meter | None = None):
        self.clock = clock
        self.meter = meter or clock.meter
        self.quarters = self.meter.quarters
        self._lines: dict[int, float] = {}  # bar → its start, as the clock placed it when it began

    @property
    def ready(self) -> bool:
        return bool(self.clock.ready)

    @property
    def running(self) -> bool:
        return bool(self.clock.running)

    @property
    def generation(self) -> int:
        """Bumps on every Start/Continue of a clock that can stop (0 for one that can't)."""
        return int(self.clock.generation)

    def beat_at(self, t: float) -> float:
        b = self.clock.bar_at(t)
        t0, t1 = self.clock.time_at(b), self.clock.time_at(b + 1)
        return self.quarters * (b + (t - t0) / (t1 - t0))

    def tempo_of_bar(self, bar: int) -> float:
        """Bar ``bar``'s tempo, asked once it is over: from its start as the clock placed it at the
        previous call (with pulses on both sides of that line) to its end as the clock places it
        now. The bar's length is measured across the whole bar, not read off the clock's momentary
        tempo; where no start was noted, or the two disagree by more than a quarter (the clock
        started again), the clock says both."""
        end = self.clock.time_at(bar + 1)
        start = self._lines.pop(bar, None)
        now = self.clock.time_at(bar)
        if start is None or not 0.75 < (end - start) / (end - now) < 1.25:
            start = now
        self._lines = {bar + 1: end}
        return 60.0 * self.quarters / (end - start)

    def forget(self) -> None:
        """The clock started again: the bar lines noted before are not its."""
        self._lines = {}

    def event_beat(self, e) -> float:
        """Where a scheduled event lies on the grid: its clock pulse when it has one, else its deadline."""
        if e.pos >= 0:
            return e.pos / PULSES_PER_QUARTER
        return self.beat_at(e.time)


class FixedTempo(ClockTimeline):
    """A constant tempo from an origin (bar 1's downbeat), set when it is known: a recorder on its own."""

    def __init__(self, tempo: float, origin: float | None = None, meter: Meter = METERS[DEFAULT_METER]):
        super().__init__(InternalClock(tempo, meter))
        if origin is not None:
            self.clock.start(origin)

    def start(self, origin: float) -> None:
        self.clock.start(origin)
