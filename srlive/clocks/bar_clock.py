"""The one bar-clock interface (BarClock) and the one place a clock is made (make_clock).

A bar clock says where bar ``bar`` of the session (0 = the session's bar 1) and its steps lie on
the engine's clock (time.perf_counter seconds). The engine, the recorder's timeline and the view
talk to every clock through this interface only, so a new clock is added by implementing it and
adding one branch to ``make_clock``.

What a clock may do, and what it may not:

- Bend time smoothly within a bar (a DAW's tempo ramp, a Link peer's tempo change, a performer
  who pushes or drags): the times of steps still to come move, and ``bends`` is True so that the
  engine tags each event with its clock pulse and the scheduler asks ``time_of_pulse`` afresh just
  before sending it.
- Never jump a bar or a beat: ``time_at(bar)`` is increasing in ``bar`` and moves by less than a
  beat between two readings. A clock that starts again (a DAW's Continue, a Link session's start)
  bumps ``generation`` instead, and the engine aligns again.

Members (see InternalClock, CountingClockFollower, ModelClockFollower, LinkClock):

- ``name``: what the view calls it ("internal", "MIDI clock", "Link").
- ``meter``: the session's meter (srlive.contract.Meter): ``meter.steps`` sixteenths a bar,
  ``meter.pulses`` MIDI clock pulses (6 a step).
- ``external``: True when something outside srlive starts, stops and restarts it (a DAW's
  transport, a Link session): the engine waits for it to run and begins again at each new
  ``generation``. False when the engine starts it (``start``: count-in, solo) or the performer's
  first note does (``onset``).
- ``bends``: True when its bar lines may move after they are read (above).
- ``ready``: it has a time base, so ``time_at`` may be asked.
- ``running``: it plays now (False while a DAW or a Link session is stopped).
- ``generation``: bumps every time it starts again (0 for a clock that never restarts).
- ``tempo``: quarter notes a minute now, for the status line, the view and the take.
- ``pulse_zero``: the time of bar 1's downbeat once seen, else None.
- ``time_at(bar, step=0.0)``: the time of step ``step`` (may be fractional, e.g. −0.5; ``meter.steps``
  is the next bar line) of bar ``bar``; computed from the clock's origin or model, never by chaining.
- ``time_of_pulse(pulse)``: the same for a MIDI clock pulse (6 a step), what an event's ``pos`` holds.
- ``bar_at(t)``: the bar holding time ``t``.
- ``current_bar(now)``: the bar the clock is in at ``now`` (an external clock: the bar its next
  pulse falls in).
- ``start(origin)``: bar 0 begins at ``origin`` (a clock the engine starts; the others ignore it).
- ``onset(t)``: a performer's note-on, stamped ``t`` on arrival, from the input thread (the
  internal clock starts on the first; a performer-following clock bends its tempo by them).
- ``feed(kind, t, pos=None)``: a MIDI clock or transport message ("clock", "start", "continue",
  "stop", "songpos" with ``pos`` sixteenths) stamped ``t`` on arrival, from the input thread.
- ``close()``: leave whatever it joined (a Link session).

``onset`` and ``feed`` are called on the input thread: they are short, take the clock's own lock
and call nothing of the engine's but ``on_stop`` (a DAW's Stop: close the notes).
"""

from __future__ import annotations

from typing import Callable, Protocol

from srlive.clocks.counting_follower import CountingClockFollower
from srlive.clocks.internal import InternalClock
from srlive.clocks.link import make_link_clock
from srlive.clocks.model_follower import COARSE, ModelClockFollower
from srlive.clocks.midi_transport import period_of
from srlive.contract import TEMPO_RANGE, Meter


class BarClock(Protocol):
    """Where the session's bars lie on the engine's clock; see the module's docstring."""

    name: str
    meter: Meter
    external: bool
    bends: bool
    generation: int

    @property
    def ready(self) -> bool: ...
    @property
    def running(self) -> bool: ...
    @property
    def tempo(self) -> float: ...
    @property
    def pulse_zero(self) -> float | None: ...
    def time_at(self, bar: int, step: float = 0.0) -> float: ...
    def time_of_pulse(self, pulse: float) -> float: ...
    def bar_at(self, t: float) -> int: ...
    def current_bar(self, now: float) -> int: ...
    def start(self, origin: float) -> None: ...
    def onset(self, t: float) -> None: ...
    def feed(self, kind: str, t: float, pos: int | None = None) -> None: ...
    def close(self) -> None: ...


#: seconds: input stamped once a cycle longer than this (COARSE, a share of a pulse, at the top
#: tempo) is followed by counting: the model follower, numbering by time, then misreads the tempo
#: in some runs (README's measured table: ``python -m benchmarks.clock_follower``)
FINE_CYCLE = COARSE * period_of(TEMPO_RANGE[1])


def make_clock(settings, on_stop: Callable[[], None] | None = None) -> BarClock:
    """The session's bar clock, as the settings say: Link (``--link``), a MIDI clock follower
    (``--sync``: the model follower for input stamped on arrival or once a short cycle, up to
    FINE_CYCLE; the counting follower for coarser stamps), else the internal clock at
    ``--tempo``. ``on_stop`` is called when an external clock stops (a DAW's Stop)."""
    meter = settings.meter
    if settings.link:
        return make_link_clock(settings.tempo, on_stop=on_stop, meter=meter)
    if settings.sync:
        if settings.input_cycle > FINE_CYCLE:
            return CountingClockFollower(default_tempo=settings.tempo, on_stop=on_stop, meter=meter,
                                         cycle=settings.input_cycle)
        return ModelClockFollower(default_tempo=settings.tempo, on_stop=on_stop, meter=meter,
                                  cycle=settings.input_cycle)
    return InternalClock(settings.tempo, meter)
