"""The terminal status line: bar, tempo, mode, last inference ms, lateness — one line, redrawn.

Only on a terminal (stderr is a TTY); quiet otherwise. Messages printed while it shows clear the
line first, so the two never garble each other.
"""

from __future__ import annotations

import shutil
import sys


class StatusLine:
    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(self.stream.isatty()) if enabled is None else enabled
        self.shown = False

    @staticmethod
    def text(engine) -> str:
        ms = engine.last_inference_ms
        return (f"bar {engine.bar + 1:>4} | {engine.clock.tempo:5.1f} BPM | {engine.settings.mode}"
                f"{' (muted)' if engine.muted else ''} | model {'-' if ms is None else f'{ms:.1f}'} ms"
                f" | late {engine.bar_lateness_ms:.1f} ms | skipped {engine.skipped}"
                f" | dropped {engine.scheduler.dropped}")

    def update(self, engine) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r" + self.text(engine)[:width].ljust(width))
        self.stream.flush()
        self.shown = True

    def print(self, message: str) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
        print(message, file=self.stream, flush=True)

    def close(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
