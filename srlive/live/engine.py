"""The engine: one bar's way through srlive, from its closed window to its events (docs/design.md
"One bar, start to end").

At the close of bar t's capture window (``T_{t+1} − step/2``) the engine quantises bar t, writes
it to the history (``srlive.history.BarHistory``, the one place bars are kept), takes the mode the
settings name (a mode changes only at a bar line), asks it which bar to answer from, and plans bar
t+1 (``plan``): the answer computed once (the model step with noise from a seeded numpy Generator,
selection and key lock: srlive.model.answer), bar t+1's line read once after the step, and the
answer's and the metronome's events placed on it at absolute times ``T_{t+1} + k · step``
(``BarPlan``: its events go to the scheduler, its answer to the view).

- A model step that raises, or that finishes after bar t+1 has begun, skips that bar (counted,
  reported once); the next bar is worked out from its own window and plays on time.
- Input: ``on_message`` is the input port's callback, run by the port's consumer thread; what it
  does with each message (clock, live controls, capture, recording, thru, echo suppression) is
  srlive.live.intake's. Every arrival stamp is first moved back by ``settings.input_latency`` (the
  input path's delay, ``--input-latency``), so the MIDI clock follower, bar 1's downbeat and the
  captured notes are where the sender put them.
- Output: the scheduler adds ``settings.offset`` (``--offset``) to every deadline; the recording
  keeps srlive's notes at their deadlines (the send time less the offset).
- Live controls (srlive.settings): a CC mapped in the preset's ``[cc]`` table replaces the
  settings whole (temperature, threshold, mode, scale: < 64 off, >= 64 follow) or mutes /
  panics. Those CCs are consumed, not passed thru.
- The meter (``settings.meter``: 4/4, 3/4, 6/8) sets the bar's length in sixteenth steps for the
  clock, the quantiser, the renderer and the metronome; the model must take bars of that length
  (srlive.meter.check_model).
- ``close_window`` is the whole per-bar job and takes no wall-clock: file mode drives it on a
  simulated clock, the live loop (``run``) on perf_counter.
- Rehearsal: a model left untouched for most of a bar runs cold. On a shared or power-saving
  machine its memory is slow to reach again, and a cold step can take longer than the time
  between the window's close and the bar line at a fast tempo (README's measured table:
  ``srlive --bench``, its ``rested`` rows). So the live loop runs the same answer path on silence,
  its result thrown away, ``REHEARSE_LEADS`` before each close; the real step then meets warm
  caches. It draws nothing from the seeded generator and changes no state, so the answers are the
  ones file mode gives.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, NamedTuple

import numpy as np

from srlive import roll
from srlive.clocks.bar_clock import BarClock, make_clock
from srlive.clocks.internal import bar_seconds
from srlive.contract import PULSES_PER_STEP
from srlive.history import BarHistory
from srlive.live.intake import CaptureBuffer, EchoFilter, Intake
from srlive.live.modes import make_mode
from srlive.live.quantise import Quantiser
from srlive.live.render import CC, OFF, ON, Event, metronome_bar, render_notes, sounding_notes
from srlive.live.scheduler import Scheduler, message_bytes
from srlive.meter import check_model
from srlive.model.answer import Answerer, draw_noise
from srlive.model.keylock import KeyFollower, active_scale
from srlive.settings import Settings, apply_control
from srlive.ui.view import snapshot as view_snapshot

START_LEAD = 0.25  # seconds between "go" and bar 1 in solo / count-in (room for the first step)
# seconds before a window closes when a throwaway step warms the model (module docstring): the
# first ends well before the close even cold, the second leaves the caches warm at it
REHEARSE_LEADS = (0.075, 0.008)


class BarPlan(NamedTuple):
    """What the engine made for one bar at the window before it closed: its events (the answer's
    and the metronome's), the answer as it sounds (after selection, key lock, --transpose and the
    velocity policy; None when srlive plays nothing) and the bar line they were placed on, read once."""

    bar: int
    events: list[Event]
    answer: np.ndarray | None
    start: float
    step: float


class Engine:
    def __init__(self, runtime, settings: Settings, *, output=None, input=None, now: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep, recorder=None, stats=None, status=None,
                 seed_roll: np.ndarray | None = None, log: Callable[[str], None] | None = None,
                 timer: Callable[[], float] | None = None, realtime: bool = False, view=None, sender=None):
        self.runtime = runtime
        self.settings = settings
        self.output = output
        self.input = input
        self._send_bytes = getattr(output, "send_bytes", None)
        self.now = now
        self.timer = timer or now  # measures inference time (file mode: wall clock, not simulated)
        self.sleep = sleep
        self.recorder = recorder
        self.stats = stats
        self.status = status
        self.view = view  # the live view's sink (srlive.ui.view.LiveView.submit): one ViewState a bar, never blocks
        self.log = log or (lambda msg: _say(f"srlive: {msg}", status))
        self.seed_roll = seed_roll
        self.meter = meter = settings.meter
        self.steps = meter.steps  # sixteenths a bar
        check_model(runtime, meter)
        self.clock: BarClock = make_clock(settings, on_stop=self._on_clock_stop, now=now)
        self.quantiser = Quantiser(steps=meter.steps)
        self.history = BarHistory()  # the bars heard and played: written here once a bar, read below
        self.keys = KeyFollower(history=self.history)  # the key of what the performer played, for --scale follow
        self.mode = make_mode(settings.mode, seed_roll)
        self.rng = np.random.default_rng(settings.seed)
        # N candidates a bar, scored and chosen (srlive.model.answer); the model's own count and weights
        # unless the settings (a command line, a preset, a live control) say otherwise
        self.answerer = Answerer(runtime, candidates=getattr(runtime, "candidates", 1),
                                 weights=getattr(runtime, "selection", None), threshold=settings.threshold,
                                 history=self.history)
        self.own_bar: int | None = None  # the bar last_own was made for
        retime = self.clock.time_of_pulse if self.clock.bends else None
        if sender is not None:  # srlive.live.sender: the scheduler in a process of its own, owning the output
            self.scheduler = sender.scheduler(max_late=settings.max_late, offset=settings.offset, retime=retime,
                                              on_sent=self._on_sent, on_dropped=self._on_dropped,
                                              on_output=self._sent_out, on_lost=self._on_sender_lost)
        else:
            self.scheduler = Scheduler(self._send, now=now, sleep=sleep, max_late=settings.max_late,
                                       on_sent=self._on_sent, on_dropped=self._on_dropped, realtime=realtime,
                                       retime=retime, offset=settings.offset)
        self.capture = CaptureBuffer()
        self.echo = EchoFilter() if settings.allow_feedback else None
        self.last_own: np.ndarray | None = None  # srlive's last answer as it sounds (roll.as_heard)
        self.heard: np.ndarray | None = None  # the roll of the last window closed (the view shows it)
        self.follow: float | None = None
        self.muted = False
        self.skipped = 0
        self.answered = 0
        self.notes_sent = 0
        self.bar = 0  # the bar whose window is open
        self.last_inference_ms: float | None = None
        self.bar_lateness_ms = 0.0  # the worst send of the bar playing now, ms late
        self.last_bar_lateness_ms = 0.0  # ... of the bar before (the view shows it)
        self._gen = 0  # the external clock's generation the live loop aligned to
        self.priority = None  # the live loop's real-time priority, when it got one
        self.stop_event = threading.Event()
        self._warned: set[str] = set()
        self._shut = False
        self.failed: str | None = None  # why the run ended short (the sender lost): srlive exits non-zero
        self.lock = threading.RLock()
        if recorder is not None:
            recorder.follow(self.clock)  # the take in the clock's bars and tempo
        self.intake = Intake(self.clock, self.capture, self.scheduler.send_now, self.control,
                             lambda: self.settings, self.warn_once, recorder=recorder, echo=self.echo)

    # --- output -------------------------------------------------------------------------------
    def _send(self, kind: int, channel: int, data1: int, data2: int, source: str) -> None:
        data = message_bytes(kind, channel, data1, data2)
        t = self.now()
        if self.output is not None:
            if self._send_bytes is not None:
                self._send_bytes(data)
            else:
                self.output.send(_message(data))
        self._sent_out(source, t, data, self.scheduler.firing)

    def _sent_out(self, source: str, t: float, data: bytes, event: Event | None) -> None:
        """What went out at ``t``: remembered for echo suppression, recorded (a scheduled event at its
        grid place). Called by ``_send``, or for the sender process by its reader thread."""
        if self.echo is not None and self.output is not None:
            self.echo.sent(data, t)
        if self.recorder is not None and source in ("srlive", "panic", "metronome"):
            self.recorder.add(source, t, data, event)

    def _on_sender_lost(self, why: str) -> None:
        """The sender process is gone: nothing srlive plays can be heard."""
        self.fail(f"{why}: nothing srlive plays can be heard")

    def fail(self, why: str) -> None:
        """srlive can no longer hear or play (srlive.ports.watch, the sender): said once, in one line;
        the run ends, every note closed, and srlive exits non-zero."""
        with self.lock:
            if self.failed:
                return
            self.failed = why
        self.log(f"{why}; closing every note and stopping")
        self.stop()

    def _on_sent(self, e: Event, t: float) -> None:
        if e.kind == ON and e.source == "srlive":
            self.notes_sent += 1
        late = (t - e.time) * 1000
        if late > self.bar_lateness_ms:
            self.bar_lateness_ms = late
        if self.stats is not None:
            self.stats.sent(e, t)

    def _on_dropped(self, e: Event, t: float) -> None:
        if self.stats is not None:
            self.stats.dropped(e, t)
        self.warn_once("late", f"dropped a note-on {1000 * (t - e.time):.1f} ms late (more than --max-late)")

    def warn_once(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.log(msg)

    # --- input --------------------------------------------------------------------------------
    def on_message(self, msg, t: float) -> None:
        """The input port's callback (its consumer thread): every message, stamped on arrival with
        the engine's clock; srlive.live.intake says what is done with it."""
        try:
            self.intake.take(msg, t - self.settings.input_latency)
        except Exception as e:  # never let a bad message kill the port's thread
            self.warn_once("input", f"ignored an input message that could not be handled ({e})")

    def control(self, target: str, value: int) -> None:
        """A live control: the settings are replaced whole (one reference swap), never edited; a
        new mode takes over at the next bar line (close_window)."""
        before = self.settings
        self.settings, action = apply_control(self.settings, target, value)
        self._mark_control(before, action)
        if action == "mute-on":
            self.muted = True
            self.scheduler.mute("srlive", True)
        elif action == "mute-off":
            self.muted = False
            self.scheduler.mute("srlive", False)
        elif action == "panic":
            self.scheduler.panic([self.settings.channel])
        if target == "follow":
            if not self.clock.set_following(self.settings.follow):
                self.warn_once("follow", "the follow control does nothing with --sync or --link (their clock leads)")

    def _mark_control(self, before: Settings, action: str | None) -> None:
        """A marker in the take for a control a producer looks for: mode, mute, panic."""
        if self.recorder is None:
            return
        if self.settings.mode != before.mode:
            self.recorder.marker(f"mode {self.settings.mode}", self.now())
        if action == "panic" or action == ("mute-off" if self.muted else "mute-on"):  # a change, said once
            self.recorder.marker({"mute-on": "mute", "mute-off": "unmute", "panic": "panic"}[action], self.now())

    def _on_clock_stop(self) -> None:
        if self.recorder is not None:
            self.recorder.clock_stopped(self.now())  # before the note-offs: they land where it stopped
        self.scheduler.all_notes_off()
        self.quantiser.reset()

    # --- the per-bar job ----------------------------------------------------------------------
    def start_clock(self, origin: float) -> None:
        """Bar 1's downbeat at ``origin`` (a clock the engine starts: count-in, solo, file mode)."""
        self.clock.start(origin)
        self._clock_started()

    def _clock_started(self) -> None:
        """The take and the stats count from bar 1's downbeat, once the clock has one."""
        origin = self.clock.time_at(0)
        if self.recorder is not None:
            self.recorder.set_origin(origin)
        if self.stats is not None:
            self.stats.origin = origin

    def bar_tempo(self, bar: int) -> float:
        """Bar ``bar``'s tempo as the clock plays it: its quarter notes over its length."""
        return 60.0 * self.meter.quarters / (self.clock.time_at(bar + 1) - self.clock.time_at(bar))

    def step_len(self, bar: int) -> float:
        return (self.clock.time_at(bar + 1) - self.clock.time_at(bar)) / self.steps

    def generate(self, bar: int, source: np.ndarray) -> list[Event]:
        """One model step from ``source``, rendered as bar ``bar``; [] when it fails or is late."""
        return self.plan(bar, source).events

    def plan(self, bar: int, source: np.ndarray | None, clicks: bool = False) -> BarPlan:
        """Bar ``bar``: the answer to ``source`` (None: no answer), computed once — the model step,
        selection and key lock (srlive.model.answer) — then the bar line read once, after the
        step (a DAW's pulses may have moved it), and the answer's events and (``clicks``) the
        metronome's placed on it. The answer as it sounds goes to the history next bar
        (``last_own``) and to the view (``BarPlan.answer``)."""
        answer = self._answer(bar, source) if source is not None else None
        t0, step = self._bar_grid(bar)
        events: list[Event] = []
        sounding = None
        if answer is not None and self.now() >= t0:
            self.warn_once("slow", f"model step took {self.last_inference_ms:.0f} ms, past the bar line; skipping that bar")
            answer = self._skip(bar, self.last_inference_ms, "late")
        if answer is not None:
            s = self.settings
            self.last_own = answer.heard  # what srlive goes on from: its answer as it sounds
            self.own_bar = bar
            self.answered += 1
            if self.stats is not None:
                self.stats.bar(bar, self.last_inference_ms)
            notes = sounding_notes(answer.roll, threshold=s.threshold, velocity=s.velocity, follow=self.follow,
                                   transpose=s.transpose)
            sounding = roll.notes_to_roll(notes, self.steps)
            events = self._positions(render_notes(notes, t0, step, self.steps, channel=s.channel, bar=bar), bar, t0, step)
        if clicks:
            events += self._positions(metronome_bar(t0, step, self.settings.metronome_channel, bar, self.meter),
                                      bar, t0, step)
        return BarPlan(bar, events, sounding, t0, step)

    def _answer(self, bar: int, source: np.ndarray):
        """The model's answer to ``source`` for bar ``bar`` (srlive.model.answer.Answer), or None
        when the bar is skipped: already begun, or the step failed."""
        s = self.settings
        noise = draw_noise(self.rng, self.answerer.count(s.candidates), self.answerer.latent)
        w0 = self.timer()
        if self.now() >= self.clock.time_at(bar):  # a stall: no step for a bar already playing
            return self._skip(bar, None, "late")
        try:
            answer = self.answerer.answer(source, None, float(s.temperature), weights=s.selection,
                                          threshold=s.threshold, noise=noise,
                                          scale=active_scale(s.scale, self.keys), transpose=s.transpose)
        except Exception as e:
            detail = " ".join(str(e).split())[:120] or type(e).__name__
            self.warn_once("model", f"model step failed ({detail}); skipping that bar, the next plays on time")
            return self._skip(bar, None, f"error: {detail}")
        self.last_inference_ms = (self.timer() - w0) * 1000
        return answer

    def _bar_grid(self, bar: int) -> tuple[float, float]:
        """Bar ``bar``'s start and step length, read from the clock once for both the rendering of its
        events and their clock pulses. Read twice, a DAW's pulse arriving in between (on the
        input thread, the follower moving its estimate) would count the pulses from another bar line
        than the one the events were rendered on: they and the take's notes would sit a fraction of a
        step off the sixteenths (seen in a real-port test)."""
        return self.clock.time_at(bar), self.step_len(bar)

    def _positions(self, events: list[Event], bar: int, t0: float, step: float) -> list[Event]:
        """A clock that bends: tag each event with its clock pulse, so the scheduler follows the
        clock to it; ``t0`` and ``step`` are the grid the events were rendered on (``_bar_grid``).
        With a clock whose bar lines never move, the events as they are."""
        if not self.clock.bends:
            return events
        per_step = float(PULSES_PER_STEP)
        # rounded: an event on a step gets that step's whole pulse, not one a rounding error off
        return [e._replace(pos=round((bar * self.steps + (e.time - t0) / step) * per_step, 6)) for e in events]

    def rehearse(self) -> None:
        """The answer path run on silence and thrown away, so the model's memory is warm for the
        real step (module docstring). Fixed noise: the seeded generator is left alone."""
        s = self.settings
        try:
            self.answerer.rehearse(self.steps, float(s.temperature), s.candidates, s.selection, s.threshold)
        except Exception:  # noqa: BLE001 - the real step says what went wrong, once
            pass

    def _skip(self, bar: int, ms: float | None, why: str) -> None:
        self.skipped += 1
        if self.stats is not None:
            self.stats.bar(bar, ms, why)
        if self.recorder is not None:
            self.recorder.marker(f"skipped bar {bar + 1} ({why.split(':')[0]})", bar=bar)
        return None

    def close_window(self, bar: int, messages, generate: bool = True) -> BarPlan:
        """Bar ``bar``'s window has closed: quantise it, write it to the history, take the mode
        the settings name (a mode changes only here, at a bar line) and plan bar+1."""
        s = self.settings
        cap = self.quantiser.close_bar(messages, *self._bar_grid(bar))
        self.heard = cap.roll
        if cap.mean_velocity is not None:
            self.follow = cap.mean_velocity
        self.history.add(heard=None if cap.silent else cap.roll, played=self.last_own if self.own_bar == bar else None)
        self.keys.update()
        if self.mode.name != s.mode:
            self.mode = make_mode(s.mode, self.seed_roll)
        source = self.mode.decide(bar, cap, self.last_own)
        answering = generate and source is not None and not self.muted
        return self.plan(bar + 1, source if answering else None, clicks=generate and s.metronome)

    def first_bar(self, bar: int = 0) -> list[Event]:
        """Bar ``bar`` before any window closed (solo starts at once, or goes on after the DAW's
        Continue from its own last bar; count-in clicks)."""
        source = self.mode.start()
        if source is not None and self.last_own is not None:
            source = self.last_own
        return self.plan(bar, source if not self.muted else None, clicks=self.settings.metronome).events

    # --- the live loop ------------------------------------------------------------------------
    def wait_until(self, deadline_fn: Callable[[], float]) -> bool:
        """Sleep until deadline_fn() (re-read every few ms, the clock may move); False on stop."""
        while not self.stop_event.is_set():
            gap = deadline_fn() - self.now()
            if gap <= 0:
                return True
            self.stop_event.wait(min(gap, 0.005 if self.clock.bends else 0.05))
            if self.clock.external and not self.clock.running:
                return False
        return False

    def _begin(self) -> int:
        """Start a clock the engine starts the way the mode and count-in ask (or wait for the
        performer's first note to start it); returns bar to start from."""
        s = self.settings
        if s.count_in > 0 or s.mode == "solo":
            # a negative --offset sends bar 1 early: the lead grows by it, so nothing starts in the past
            bar_len = bar_seconds(self.clock.tempo, self.meter)
            origin = self.now() + START_LEAD + max(0.0, -s.offset) + s.count_in * bar_len
            if self.recorder is not None and s.count_in > 0:
                self.recorder.start_at_bar(-s.count_in)  # the take begins with the count-in
                self.recorder.marker("count-in end (bar 1)", bar=0)
            self.start_clock(origin)
            clicks = []
            for b in range(-s.count_in, 0):
                clicks += metronome_bar(*self._bar_grid(b), s.metronome_channel, b, self.meter)
            self.scheduler.add(clicks)
            self.scheduler.add(self.first_bar(0))
        else:
            while not self.clock.ready and not self.stop_event.is_set():  # the performer's first note
                self.stop_event.wait(0.02)
            if self.clock.ready:
                self._clock_started()
            if s.metronome and self.clock.ready:  # the beats of bar 1 still to come (sent offset early/late)
                soon = self.now() + 0.002 - s.offset
                clicks = metronome_bar(*self._bar_grid(0), s.metronome_channel, 0, self.meter)
                pairs = zip(clicks[0::2], clicks[1::2])  # (on, off) per beat
                self.scheduler.add([e for on, off in pairs if on.time >= soon for e in (on, off)])
        return 0

    def _sync_begin(self) -> int | None:
        """Wait for an external clock to run (a DAW's Start, a Link session); returns the bar whose
        window is still open, or None on stop."""
        clock = self.clock
        while not self.stop_event.is_set():
            if clock.ready:
                gen = clock.generation
                bar = clock.current_bar(self.now())
                if clock.time_at(bar, self.steps - 0.5) <= self.now():
                    bar += 1
                zero = clock.pulse_zero if clock.pulse_zero is not None else clock.time_at(0)
                if self.recorder is not None:
                    self.recorder.clock_started(self.now())
                if self.stats is not None and not self.stats.origin:
                    self.stats.origin = zero
                self._gen = gen
                if self.settings.mode == "solo":
                    self.scheduler.add(self.first_bar(bar))
                return bar
            self.capture.drain(self.now() - 1.0)  # what is played while the DAW is stopped is let go
            self.stop_event.wait(0.005)
        return None

    def run(self) -> int:
        """Play until --bars is reached or stop(); every note is closed however it ends."""
        s = self.settings
        self.scheduler.start()
        if self.scheduler.realtime:
            # this thread holds the GIL while it closes a window; if the OS preempted it then, the
            # scheduler would wait for the GIL: so it gets a real-time priority too (below the sender's)
            from srlive.live.scheduler import raise_priority

            self.priority = raise_priority(10)
        try:
            bar = self._sync_begin() if self.clock.external else self._begin()
            while bar is not None and not self.stop_event.is_set():
                if self.clock.external and (not self.clock.running or self.clock.generation != self._gen):
                    bar = self._sync_begin()
                    continue
                self.bar = bar
                if not self._rehearsed_before(bar):
                    continue
                if not self.wait_until(lambda: self.clock.time_at(bar, self.steps - 0.5)):
                    continue
                close = self.clock.time_at(bar, self.steps - 0.5)
                last = s.bars is not None and bar + 1 >= s.bars
                self.last_bar_lateness_ms, self.bar_lateness_ms = self.bar_lateness_ms, 0.0  # last: for the view
                plan = self.close_window(bar, self.capture.drain(close), generate=not last)
                self.scheduler.add(plan.events)
                if self.stats is not None and bar >= 1:  # the bar before is over: its tempo as played
                    self.stats.tempo(bar - 1, self.bar_tempo(bar - 1))
                if self.recorder is not None:
                    self._record(close)
                if self.view is not None:  # the answer is scheduled: the view shows it before it sounds
                    self.view(view_snapshot(self, bar, plan))
                elif self.status is not None:
                    self.status.update(self)
                if last:
                    self.wait_until(lambda: self.clock.time_at(s.bars))
                    break
                bar += 1
        finally:
            self.shutdown()
        return 0

    def _rehearsed_before(self, bar: int) -> bool:
        """A throwaway step at each of REHEARSE_LEADS before bar's window closes (one already
        past is let go); False on stop, or when the DAW's clock stopped."""
        def close() -> float:  # re-read each time: with --sync the clock may move
            return self.clock.time_at(bar, self.steps - 0.5)

        for lead in REHEARSE_LEADS:
            if self.now() >= close() - lead:
                continue
            if not self.wait_until(lambda: close() - lead):
                return False
            self.rehearse()
        return True

    def _record(self, until: float, final: bool = False) -> None:
        try:
            self.recorder.write(until, final=final) if final else self.recorder.write(until)
        except OSError as e:
            self.warn_once("record", f"could not rewrite the recording ({e.strerror}); still playing")

    def stop(self) -> None:
        self.stop_event.set()

    def shutdown(self) -> None:
        """Idempotent: close every note (CC 123 too), write the take and the stats."""
        with self.lock:
            if self._shut:
                return
            self._shut = True
        self.stop_event.set()
        try:
            self.scheduler.stop(panic=True)
        finally:
            if self.recorder is not None:
                self._record(self.now(), final=True)
            self.clock.close()  # a Link session leaves it
            if self.status is not None:
                self.status.close()


def _say(message: str, status) -> None:
    if status is not None:
        status.print(message)
    else:
        print(message, file=sys.stderr, flush=True)


def _message(data: bytes):
    import mido

    return mido.Message.from_bytes(data)
