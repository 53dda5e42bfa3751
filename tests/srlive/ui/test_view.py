"""The live view: pure rendering to text, the engine's never-blocking sink, LiveView's start/stop."""

import io

import numpy as np
import pytest
from rich.console import Console

from srlive import roll
from srlive.contract import BAR_SHAPE
from srlive.live.engine import Engine
from srlive.live.render import ON, render_notes, sounding_notes
from srlive.settings import Settings
from srlive.ui.view import (
    BAR_W,
    GAP,
    LABEL_W,
    MAX_ROWS,
    SIDE_W,
    LiveView,
    ViewState,
    note_name,
    pitch_range,
    render_text,
    snapshot,
    status_lines,
    view_wanted,
)
from srlive_fakes import FakeClock, FakeRuntime


def state(heard=(), answer=(), **kw):
    base = dict(bar=11, heard=roll.notes_to_roll(heard), answer=roll.notes_to_roll(answer), tempo=110.0,
                source="internal", model_ms=0.41, late_ms=0.83, skipped=2, dropped=1, mode="accompany")
    base.update(kw)
    return ViewState(**base)


def grid(text: str) -> list[str]:
    """The panel's roll lines (those with a bar line), without the panel's border."""
    return [line[2:-2] for line in text.splitlines() if "┊" in line]


def cells(line: str, which: int) -> str:
    """The 16 step cells of roll ``which`` (0 heard, 1 next) in a side-by-side line."""
    start = LABEL_W + which * (BAR_W + GAP) + 1
    return line[start:start + BAR_W - 2].replace("┊", "")


def test_note_names_put_c4_at_midi_60():
    assert (note_name(60), note_name(21), note_name(108), note_name(61)) == ("C4", "A0", "C8", "C#4")


def test_a_note_lands_on_its_pitch_row_and_its_steps_in_each_roll():
    s = state(heard=[(60, 0, 4, 100)], answer=[(64, 6, 8, 100)])
    lines = grid(render_text(s, 100, 40))  # tall: one pitch a row
    c4 = next(line for line in lines if line.startswith("C4"))
    assert cells(c4, 0) == "████" + " " * 12 and cells(c4, 1) == " " * 16
    e4 = lines[lines.index(c4) - 4]  # four semitones up
    assert cells(e4, 1) == " " * 6 + "██" + " " * 8 and cells(e4, 0) == " " * 16
    for line in lines:  # nothing else sounds
        if line not in (c4, e4):
            assert cells(line, 0).strip() == cells(line, 1).strip() == ""


def test_bar_lines_and_beat_separators_frame_sixteen_steps():
    line = grid(render_text(state(heard=[(60, 0, 16, 100)]), 100, 40))[0]
    left = line[LABEL_W:LABEL_W + BAR_W]
    assert left[0] == left[-1] == "│" and left.count("┊") == 3 and len(left.replace("┊", "")) == 18


def test_the_range_is_the_union_of_both_bars_padded_to_at_least_an_octave():
    heard, answer = roll.notes_to_roll([(50, 0, 1, 90)]), roll.notes_to_roll([(80, 0, 1, 90)])
    assert pitch_range([heard, answer], 100) == (48, 82)  # 50-2 .. 80+2
    assert pitch_range([heard, roll.empty_roll()], 100) == (44, 55)  # one note: an octave around it
    assert pitch_range([roll.empty_roll(), roll.empty_roll()], 100) == (60, 71)
    lo, hi = pitch_range([heard, answer], 20)  # too few rows: 20 pitches, centred on the notes
    assert hi - lo + 1 == 20 and lo < 65 < hi
    assert pitch_range([roll.notes_to_roll([(21, 0, 1, 90)])], 100)[0] == 21  # inside the keyboard


def test_tall_terminals_get_one_pitch_a_row_short_ones_two_with_half_blocks():
    s = state(heard=[(60, 0, 2, 100), (61, 2, 4, 100), (67, 4, 6, 100)])
    tall = grid(render_text(s, 100, 40))
    assert len(tall) == 12  # 58..69 (60-2 .. 67+2), one pitch a row
    short = grid(render_text(s, 100, 10))
    assert len(short) == 10 - 2 - len(status_lines(s, SIDE_W)) - 1  # border, status, titles: the rest is roll
    joined = "".join(cells(line, 0) for line in short)
    assert "▀" in joined or "▄" in joined
    c_row = next(line for line in short if line.startswith("C4"))  # C4 and C#4 share a row
    assert cells(c_row, 0)[:4] in ("▀▀▄▄", "▄▄▀▀")


def test_the_roll_takes_at_most_max_rows_however_tall_the_terminal():
    s = state(heard=[(30, 0, 1, 90)], answer=[(100, 0, 1, 90)])
    assert len(grid(render_text(s, 100, 200))) == MAX_ROWS


def test_status_answer_marked_next_and_numbers_shown():
    text = render_text(state(heard=[(60, 0, 1, 90)], muted=True), 100, 30)
    for part in ("bar 12", "110.0 BPM internal", "accompany (muted)", "model 0.4 ms", "late 0.8 ms",
                 "skipped 2", "dropped 1", "heard · bar 12", "next · bar 13 (muted)"):
        assert part in text
    lines = status_lines(state(), 30)
    assert all(len(line) <= 30 for line in lines) and "bar 12" in lines[0] and len(lines) > 1


def test_narrow_terminals_stack_the_rolls_then_show_the_status_alone():
    s = state(heard=[(60, 0, 4, 100)], answer=[(64, 0, 4, 100)])
    stacked = render_text(s, 34, 40)
    assert stacked.index("heard · bar 12") < stacked.index("next · bar 13")
    assert all("heard" not in line or "next" not in line for line in stacked.splitlines())
    assert max(len(line) for line in stacked.splitlines()) <= 34
    tiny = render_text(s, 20, 40)
    assert "┊" not in tiny and "bar 12" in tiny and max(len(line) for line in tiny.splitlines()) <= 20
    low = render_text(s, 100, 4)
    assert "┊" not in low and "dropped 1" in low


def test_empty_bars_render_an_empty_grid():
    lines = grid(render_text(state(), 100, 30))
    assert lines and all(cells(line, 0).strip() == cells(line, 1).strip() == "" for line in lines)
    assert any(line.startswith("C4") for line in lines)


def test_the_answer_shown_is_what_sounds_after_transpose_and_the_velocity_policy():
    out = roll.notes_to_roll([(60, 0, 4, 100), (67, 8, 16, 90)])
    notes = sounding_notes(out, transpose=2, velocity=80)
    assert notes == [roll.Note(62, 0, 4, 80), roll.Note(69, 8, 16, 80)]
    assert roll.roll_to_notes(roll.notes_to_roll(notes), 0.01) == notes
    events = render_notes(notes, 10.0, 0.125, 16)
    assert [(e.time, e.data1, e.data2) for e in events if e.kind == ON] == [(10.0, 62, 80), (11.0, 69, 80)]


def test_a_view_state_keeps_its_own_read_only_copies():
    heard = roll.notes_to_roll([(60, 0, 1, 90)])
    s = ViewState(bar=0, heard=heard, answer=None, tempo=120, source="internal", model_ms=None, late_ms=None,
                  skipped=0, dropped=0, mode="solo")
    heard[:] = 0
    assert s.heard.any() and not s.answer.any() and s.answer.shape == BAR_SHAPE
    with pytest.raises(ValueError):
        s.heard[0, 0] = 1.0


def test_the_engine_snapshot_after_a_window_closes():
    clock = FakeClock()
    eng = Engine(FakeRuntime(), Settings(tempo=120, transpose=12), now=clock.now, sleep=clock.sleep, log=lambda m: None)
    eng.start_clock(0.0)
    eng.heard = roll.notes_to_roll([(62, 0, 2, 90)])
    plan = eng.plan(1, roll.empty_roll())  # the fake's C major arpeggio, an octave up
    eng.last_bar_lateness_ms = 1.5
    s = snapshot(eng, 0, plan)
    assert (s.bar, s.tempo, s.source, s.mode, s.late_ms, s.muted) == (0, 120.0, "internal", "accompany", 1.5, False)
    assert s.heard[62 - roll.LOWEST_PITCH, :2].all()
    assert [n.pitch for n in roll.roll_to_notes(s.answer, 0.01)] == [72, 76, 79, 84]


# --- LiveView --------------------------------------------------------------------------------------
def fake_console(width=100, height=30):
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=True, color_system=None)


def test_the_sink_never_blocks_and_keeps_only_the_newest_state():
    view = LiveView(fake_console())
    view.start(thread=False)  # the terminal is taken, nobody draws
    states = [state(bar=k) for k in range(1000)]
    for s in states:
        view.submit(s)
    assert view.draws == 0
    assert view.draw() and view.draws == 1 and not view.draw()  # the newest once, then nothing new
    view.close()
    assert "bar 1000" in view.console.file.getvalue() and "bar 999 " not in view.console.file.getvalue()


def test_liveview_starts_draws_prints_messages_above_and_restores_the_cursor_on_close():
    console = fake_console()
    view = LiveView(console)
    view.start(thread=False)
    view(state(heard=[(60, 0, 4, 100)]))
    view.print("srlive: a message")
    assert view.draw()
    out = console.file.getvalue()
    assert "srlive: a message" in out and out.index("srlive: a message") < out.rindex("heard · bar 12")
    assert "\x1b[?25l" in out  # cursor hidden while it draws
    view.close()
    view.close()  # idempotent
    assert console.file.getvalue().endswith("\x1b[?25h") or "\x1b[?25h" in console.file.getvalue()[-40:]


def test_liveview_thread_stops_on_close():
    console = fake_console()
    view = LiveView(console, interval=0.0, resize_poll=0.0)
    view.start()
    thread = view._thread
    view.submit(state(bar=4))
    view.close()
    assert not thread.is_alive() and "bar 5" in console.file.getvalue()


def test_a_message_before_start_goes_straight_to_stderr(capsys):
    LiveView(fake_console()).print("srlive: early")
    assert capsys.readouterr().err == "srlive: early\n"


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_view_is_on_by_default_only_on_a_terminal():
    assert view_wanted(None, Stream(True)) and not view_wanted(None, Stream(False))
    assert view_wanted(True, Stream(False)) and not view_wanted(False, Stream(True))


def test_rolls_are_float32_88_by_16():
    s = state(heard=[(60, 0, 1, 90)])
    assert s.heard.dtype == np.float32 and s.heard.shape == BAR_SHAPE


def test_the_live_loop_hands_the_view_each_bar_with_the_answer_before_it_plays():
    """Engine.run in real time (solo at 300 BPM, three bars), as tests/srlive/live/test_engine_live.py
    drives it; the checks are on what the sink got, not on time."""
    import threading

    from srlive.takes.stats import Stats
    from srlive_fakes import FakeOutput

    got, stats = [], Stats()
    eng = Engine(FakeRuntime(), Settings(mode="solo", tempo=300, bars=3, seed=1, max_late=1.0), output=FakeOutput(),
                 stats=stats, log=lambda m: None, view=got.append)
    th = threading.Thread(target=eng.run, daemon=True)
    th.start()
    th.join(10)
    assert not th.is_alive()
    assert [s.bar for s in got] == [0, 1, 2] and {s.source for s in got} == {"internal"}
    played = {}
    for e in stats.events:
        if e["kind"] == "note_on":
            played.setdefault(e["bar"] - 1, []).append(e["note"])  # stats count bars from 1
    for s in got[:2]:  # each state's answer is what bar+1 then played; the last bar has none
        assert sorted(n.pitch for n in roll.roll_to_notes(s.answer, 0.01)) == sorted(played[s.bar + 1])
    assert not got[2].answer.any()
    assert got[1].heard.shape == BAR_SHAPE and got[1].model_ms is not None


def test_a_resized_terminal_is_redrawn_to_its_new_size():
    console = fake_console(100, 30)
    view = LiveView(console)
    view.start(thread=False)
    view.submit(state(heard=[(60, 0, 4, 100)]))
    assert view.draw() and not view.draw()
    before = len(console.file.getvalue())
    console.size = (34, 40)  # narrower: the rolls stack
    assert view.draw()
    view.close()
    redrawn = console.file.getvalue()[before:]
    assert "heard · bar 12" in redrawn and "next · bar 13" in redrawn
    assert not any("heard" in line and "next" in line for line in redrawn.splitlines())
