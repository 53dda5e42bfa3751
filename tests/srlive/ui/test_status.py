"""The terminal status line: one redrawn line on a terminal, nothing otherwise."""

import io

from srlive.live.engine import Engine
from srlive.settings import Settings
from srlive.ui.status import StatusLine
from srlive_fakes import FakeClock, FakeRuntime


class TTY(io.StringIO):
    def isatty(self):
        return True


def engine():
    clock = FakeClock()
    eng = Engine(FakeRuntime(), Settings(mode="call-response", tempo=96), now=clock.now, sleep=clock.sleep,
                 log=lambda m: None)
    eng.bar, eng.last_inference_ms, eng.bar_lateness_ms = 11, 1.234, 0.42
    return eng


def test_status_line_on_a_terminal_shows_bar_tempo_mode_inference_lateness():
    out = TTY()
    st = StatusLine(out)
    eng = engine()
    st.update(eng)
    st.update(eng)
    text = out.getvalue()
    assert text.count("\r") == 2 and "\n" not in text
    line = text.split("\r")[-1]
    for part in ("bar   12", "96.0 BPM", "call-response", "model 1.2 ms", "late 0.4 ms", "skipped 0", "dropped 0"):
        assert part in line
    st.print("srlive: a message")
    assert "\x1b[K" in out.getvalue() and out.getvalue().endswith("srlive: a message\n")
    st.close()


def test_quiet_when_not_a_terminal():
    out = io.StringIO()
    st = StatusLine(out)
    st.update(engine())
    st.close()
    assert out.getvalue() == ""
