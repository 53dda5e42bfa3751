"""--stats FILE.json: what each bar cost and how late each sent event was (written at exit).

JSON layout::

    {"tempo": 120.0, "mode": "accompany", "bars_played": n, "skipped": n,
     "dropped": n, "send_errors": n,
     "lateness_ms": {"count": n, "p50": x, "p99": x, "max": x},
     "inference_ms": {"count": n, "p50": x, "p99": x, "max": x},
     "bars": [{"bar": 1, "inference_ms": 0.8, "skipped": null | "error: ..." | "late"}],
     "events": [{"bar": 2, "kind": "note_on", "channel": 1, "note": 60, "deadline": s,
                 "lateness_ms": 0.31}],
     "dropped_events": [{"bar": 2, "kind": "note_on", "note": 60, "lateness_ms": 12.1}]}

Bars are numbered from 1 (the session's first bar), deadlines in seconds from bar 1's start.
"""

from __future__ import annotations

import json
import os
import threading
from array import array

from srlive.live.render import KIND_NAMES, SWEEP, Event


def percentiles(values) -> dict:
    v = sorted(values)
    if not v:
        return {"count": 0, "p50": None, "p99": None, "max": None}

    def q(p):
        return round(v[min(len(v) - 1, int(round(p * (len(v) - 1))))], 4)

    return {"count": len(v), "p50": q(0.5), "p99": q(0.99), "max": round(v[-1], 4)}


class _Log:
    """Events kept compact (24 bytes each: an hour of playing fits in a few MB)."""

    def __init__(self):
        self.times = array("d")  # deadline, send time, deadline, send time, ...
        self.ints = array("q")  # (bar + 1) << 16 | kind << 12 | channel << 8 | note, ...
        self._lock = threading.Lock()

    def add(self, e: Event, t: float) -> None:
        with self._lock:
            self.times.extend((e.time, t))
            self.ints.append((e.bar + 1) << 16 | e.kind << 12 | e.channel << 8 | e.data1)

    def __len__(self) -> int:
        return len(self.times) // 2

    def __iter__(self):
        with self._lock:
            times, ints = self.times[:], self.ints[:]
        for i, v in enumerate(ints):
            e = Event(times[2 * i], (v >> 12) & 0xF, (v >> 8) & 0xF, v & 0xFF, 0, "", (v >> 16) - 1)
            yield e, times[2 * i + 1]


class Stats:
    def __init__(self):
        self.bars: list[dict] = []
        self._sent = _Log()
        self._dropped = _Log()
        self.origin = 0.0
        self.meta: dict = {}
        self._lock = threading.Lock()

    def bar(self, bar: int, inference_ms: float | None, skipped: str | None = None) -> None:
        with self._lock:
            self.bars.append({"bar": bar + 1, "inference_ms": None if inference_ms is None else round(inference_ms, 3),
                              "skipped": skipped})

    def _row(self, e: Event, t: float) -> dict:
        return {"bar": e.bar + 1, "kind": KIND_NAMES[e.kind], "channel": e.channel + 1, "note": e.data1,
                "deadline": round(e.time - self.origin, 6), "lateness_ms": round((t - e.time) * 1000, 4)}

    def sent(self, e: Event, t: float) -> None:
        if e.kind != SWEEP:
            self._sent.add(e, t)  # rows are made at write time

    def dropped(self, e: Event, t: float) -> None:
        self._dropped.add(e, t)

    @property
    def events(self) -> list[dict]:
        return [self._row(e, t) for e, t in self._sent]

    @property
    def dropped_events(self) -> list[dict]:
        return [self._row(e, t) for e, t in self._dropped]

    @property
    def skipped(self) -> int:
        return sum(1 for b in self.bars if b["skipped"])

    def summary(self) -> dict:
        late = [(t - e.time) * 1000 for e, t in self._sent]
        with self._lock:
            inf = [b["inference_ms"] for b in self.bars if b["inference_ms"] is not None]
            return {**self.meta, "bars_played": sum(1 for b in self.bars if b["inference_ms"] is not None and not b["skipped"]),
                    "skipped": sum(1 for b in self.bars if b["skipped"]), "dropped": len(self._dropped),
                    "lateness_ms": percentiles(late), "inference_ms": percentiles(inf)}

    def write(self, path) -> None:
        doc = self.summary()
        with self._lock:
            doc.update(bars=list(self.bars))
        doc.update(events=self.events, dropped_events=self.dropped_events)
        doc["origin_perf_counter"] = self.origin  # bar 1's start on time.perf_counter (benchmarks line up on it)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, path)
