"""Pure maths for the real-port tests and benchmarks: what a recorder heard, against a grid.

Events are ``(t, bytes)`` pairs (t in perf_counter seconds, bytes a list of ints) as
``clients.Recorder`` stamps them. Nothing here touches ports or clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

Raw = tuple[float, list[int]]


@dataclass(frozen=True)
class HeardNote:
    on: float
    off: float
    channel: int  # 0-based
    pitch: int
    velocity: int


@dataclass
class Heard:
    notes: list[HeardNote] = field(default_factory=list)
    stuck: list[tuple[float, int, int]] = field(default_factory=list)  # (on, channel, pitch) never turned off
    all_notes_off: list[tuple[float, int]] = field(default_factory=list)  # (t, channel) of CC 123
    stray_offs: int = 0  # note-offs with no note-on open (harmless)
    retriggers: int = 0  # note-on on a pitch already sounding (the first is closed there)

    def onsets(self, channel: Optional[int] = None, pitch: Optional[int] = None) -> list[float]:
        return [n.on for n in self.notes
                if (channel is None or n.channel == channel) and (pitch is None or n.pitch == pitch)]


def pair_notes(events: Iterable[Raw]) -> Heard:
    """Pair note-ons with note-offs (note-on velocity 0 is a note-off). CC 123 does NOT count as
    closing a note here: a note left for CC 123 to close is reported stuck, strictly."""
    heard = Heard()
    open_: dict[tuple[int, int], tuple[float, int]] = {}
    for t, data in sorted(events, key=lambda e: e[0]):
        if not data:
            continue
        status = data[0]
        kind, ch = status & 0xF0, status & 0x0F
        if kind == 0x90 and len(data) >= 3 and data[2] > 0:
            key = (ch, data[1])
            if key in open_:
                heard.retriggers += 1
                on, vel = open_.pop(key)
                heard.notes.append(HeardNote(on, t, ch, data[1], vel))
            open_[key] = (t, data[2])
        elif (kind == 0x80 or kind == 0x90) and len(data) >= 3:
            key = (ch, data[1])
            if key in open_:
                on, vel = open_.pop(key)
                heard.notes.append(HeardNote(on, t, ch, data[1], vel))
            else:
                heard.stray_offs += 1
        elif kind == 0xB0 and len(data) >= 3 and data[1] == 123:
            heard.all_notes_off.append((t, ch))
    heard.stuck = sorted((on, ch, pitch) for (ch, pitch), (on, _vel) in open_.items())
    heard.notes.sort(key=lambda n: (n.on, n.channel, n.pitch))
    return heard


def grid_deviation(times: Iterable[float], origin: float, step: float) -> np.ndarray:
    """Seconds from each time to the nearest grid point ``origin + k·step`` (signed)."""
    t = np.asarray(list(times), dtype=np.float64)
    if t.size == 0:
        return t
    k = np.round((t - origin) / step)
    return t - (origin + k * step)


def nearest_deviation(times: Iterable[float], grid: Iterable[float]) -> np.ndarray:
    """Seconds from each time to the nearest of the (sorted) grid times (signed): for a grid whose
    step changes, such as a clock source's ideal sixteenths across a tempo change."""
    t = np.asarray(list(times), dtype=np.float64)
    g = np.asarray(list(grid), dtype=np.float64)
    if t.size == 0 or g.size == 0:
        return t[:0]
    i = np.clip(np.searchsorted(g, t), 1, g.size - 1)
    before, after = g[i - 1], g[i]
    return np.where(t - before <= after - t, t - before, t - after) if g.size > 1 else t - g[0]


def grid_index(times: Iterable[float], origin: float, step: float) -> np.ndarray:
    t = np.asarray(list(times), dtype=np.float64)
    return np.round((t - origin) / step).astype(np.int64)


def figures_ms(seconds: Iterable[float]) -> dict:
    """p50/p99/max of |x| in milliseconds, plus the count and the signed median."""
    x = np.asarray(list(seconds), dtype=np.float64) * 1000.0
    if x.size == 0:
        return {"count": 0, "p50": None, "p99": None, "max": None, "median_signed": None}
    a = np.abs(x)
    return {
        "count": int(x.size),
        "p50": round(float(np.percentile(a, 50)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "max": round(float(a.max()), 3),
        "median_signed": round(float(np.median(x)), 3),
    }


def peer_beats(times: Iterable[float], snaps: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """A Link peer's beat at each perf_counter time, from the peer's snapshots ``(perf, beat,
    tempo)``: counted at the tempo of the snapshot nearest in time, from that snapshot. Reading
    from the nearest one keeps a rate difference between perf_counter and the peer's clock (Link's
    is CLOCK_MONOTONIC_RAW on Linux, perf_counter CLOCK_MONOTONIC) from adding up over a run."""
    t = np.asarray(list(times), dtype=np.float64)
    s = np.asarray(sorted(snaps), dtype=np.float64).reshape(-1, 3)
    if t.size == 0 or s.shape[0] == 0:
        return np.full(t.shape, np.nan)
    i = np.clip(np.searchsorted(s[:, 0], t), 1, max(1, s.shape[0] - 1))
    left = np.clip(i - 1, 0, s.shape[0] - 1)
    right = np.clip(i, 0, s.shape[0] - 1)
    near = np.where(np.abs(t - s[left, 0]) <= np.abs(s[right, 0] - t), left, right)
    perf, beat, tempo = s[near, 0], s[near, 1], s[near, 2]
    return beat + (t - perf) * tempo / 60.0


def drift(times: Iterable[float], origin: float, period: float) -> tuple[float, float]:
    """Least-squares slope of grid deviation against time (s per s), and the fitted deviation at
    the last time minus that at the first (s): how far the grid walked over the run."""
    t = np.asarray(list(times), dtype=np.float64)
    if t.size < 2:
        return 0.0, 0.0
    dev = grid_deviation(t, origin, period)
    slope = float(np.polyfit(t - t[0], dev, 1)[0])
    return slope, slope * float(t[-1] - t[0])


def format_figures(name: str, fig: dict) -> str:
    if not fig.get("count"):
        return f"{name}: no events"
    return (f"{name}: n={fig['count']} p50={fig['p50']:.3f} ms p99={fig['p99']:.3f} ms "
            f"max={fig['max']:.3f} ms (signed median {fig['median_signed']:+.3f} ms)")
