"""``srlive --calibrate --in X --out Y``: the round trip from srlive's output back to its input,
and the ``--offset`` that puts srlive's notes on the grid in a DAW recording through that path.

The loop is a cable (an interface's MIDI out into its MIDI in) or a DAW track that monitors Y into
X. srlive sends PROBES note-ons on MIDI channel 16, note 0 (below the piano keys: a synth on the
loop stays nearly silent), each with its own velocity 1..PROBES so that an echo names its probe
however late it comes, SPACING apart (each with its note-off at once). Every send is stamped with
the engine's clock just before it goes out, every echo on arrival by the input port (as the
engine's input is: JACK times where JACK gives them).

What is printed (stdout), from the round trips that came back:

- the median round trip, and its spread (p10..p90, min, max), and how many probes came back;
- ``--offset`` = −(median round trip)/2. The loop is taken as two like halves: srlive → DAW (the
  lateness a DAW recording srlive shows, what --offset takes back) and DAW → srlive (the input
  path). On a bare cable or a direct JACK connection with no DAW in it, the whole round trip is
  srlive's output path: the line says so, and −(round trip) is then the offset;
- the preset line to keep it (``offset = -3.2``) and the input path's half (``--input-latency``).

No echo within TIMEOUT of the last probe: one line naming the fix, exit 2.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from srlive.errors import UserError

PROBES = 16
PROBE_CHANNEL = 15  # 0-based: MIDI channel 16
PROBE_NOTE = 0
SPACING = 0.12  # seconds between probes (a loop longer than this still matches: velocities name them)
TIMEOUT = 2.0  # seconds to wait for the echoes after the last probe


def probe_on(k: int) -> list[int]:
    """Probe k's note-on (k = 0..PROBES-1): its velocity k + 1 names it."""
    return [0x90 | PROBE_CHANNEL, PROBE_NOTE, k + 1]


def probe_off() -> list[int]:
    return [0x80 | PROBE_CHANNEL, PROBE_NOTE, 0]


def probe_of(msg) -> Optional[int]:
    """The probe an input message echoes (0-based), or None when it is anything else."""
    if msg.type != "note_on" or msg.channel != PROBE_CHANNEL or msg.note != PROBE_NOTE:
        return None
    return msg.velocity - 1 if 1 <= msg.velocity <= PROBES else None


@dataclass(frozen=True)
class Calibration:
    """Round trips in seconds (those that came back) and what they say."""

    round_trips: tuple[float, ...]
    probes: int

    def _q(self, p: float) -> float:
        v = sorted(self.round_trips)
        return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]

    @property
    def median(self) -> float:
        v = sorted(self.round_trips)
        n = len(v)
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

    @property
    def spread(self) -> tuple[float, float]:
        """(p10, p90) of the round trips."""
        return self._q(0.1), self._q(0.9)

    @property
    def offset_ms(self) -> float:
        """The --offset to use: −half the median round trip, in ms, to 0.1 ms."""
        return round(-self.median / 2 * 1000, 1) + 0.0  # + 0.0: never "-0.0"

    def report(self, out_name: str, in_name: str) -> list[str]:
        ms = lambda s: f"{s * 1000:.2f}"  # noqa: E731
        lo, hi = self.spread
        half = -self.offset_ms
        return [
            f"round trip '{out_name}' -> '{in_name}': median {ms(self.median)} ms, spread {ms(lo)}..{ms(hi)} ms "
            f"(p10..p90; min {ms(min(self.round_trips))}, max {ms(max(self.round_trips))}), "
            f"{len(self.round_trips)} of {self.probes} probes came back",
            f"offset: --offset {self.offset_ms:g}  (half the round trip early: the loop taken as srlive -> DAW -> "
            f"srlive, two like halves; with no DAW in the loop, a bare cable, use --offset {-round(self.median * 1000, 1):g})",
            f"preset: offset = {self.offset_ms:g}",
            f"input path: about {half:g} ms (the other half); to follow that DAW's clock: input-latency = {half:g}",
        ]


def measure(output, inp, probes: int = PROBES, spacing: float = SPACING, timeout: float = TIMEOUT,
            now: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep
            ) -> list[Optional[float]]:
    """Send the probes on ``output``, listen on ``inp``; each probe's round trip (None: no echo)."""
    sent: dict[int, float] = {}
    back: dict[int, float] = {}
    lock = threading.Lock()

    def on_message(msg, t: float) -> None:
        k = probe_of(msg)
        if k is not None:
            with lock:
                back.setdefault(k, t)

    inp.set_callback(on_message)
    try:
        for k in range(probes):
            t = now()
            output.send_bytes(probe_on(k))
            sent[k] = t
            output.send_bytes(probe_off())
            sleep(spacing)
        deadline = now() + timeout
        while now() < deadline:
            with lock:
                if len(back) >= probes:
                    break
            sleep(0.01)
    finally:
        inp.set_callback(None)
    with lock:
        return [back[k] - sent[k] if k in back else None for k in range(probes)]


def calibrate(output, inp, in_name: str, out_name: str, **kw) -> Calibration:
    """Measure; UserError (one line) when nothing came back."""
    trips = measure(output, inp, **kw)
    came = tuple(t for t in trips if t is not None and t >= 0)
    if not came:
        timeout = kw.get("timeout", TIMEOUT)
        raise UserError(f"no echo from '{in_name}' within {timeout:g} s: connect '{out_name}' to '{in_name}' "
                        "(a cable or a DAW track monitoring it) and try again")
    return Calibration(came, len(trips))


def run(cfg: dict, say_line: Callable[[str], None] = print) -> int:
    """The --calibrate action: open --out and --in, measure, print; the caller turns UserError into exit 2."""
    from srlive import ports

    in_name, out_name = cfg["in"], cfg["out"]
    if not in_name or not out_name:
        raise UserError("--calibrate measures a loop: give --out PORT (what srlive sends on) and --in PORT "
                        "(where it comes back)")
    backend = ports.resolve_backend(cfg["backend"])
    output = ports.open_output(out_name, backend=backend, client_name="srlive")
    inp = None
    try:
        inp = ports.open_input(in_name, backend=backend, client_name="srlive")
        time.sleep(0.1)  # a few cycles on the new connections before the first probe
        result = calibrate(output, inp, inp.name, output.name)
    finally:
        if inp is not None:
            inp.close()
        output.close()
        ports.close_all()
    for line in result.report(output.name, inp.name):
        say_line(line)
    return 0
