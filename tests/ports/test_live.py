"""srlive as a real process through JACK: a performer client plays into its input, a recorder
client hears its output. Each test lasts a few bars at 300 BPM (0.8 s a bar).

What is asserted is structure, never a latency: every note-on has its note-off, every onset
lands on the sixteenth step it was scheduled for (against srlive's bar clock, whose bar 1 is the
performer's first note, or the DAW's clock with --sync), the mode answers the right bars, the
recording holds every bar. The timing figures come from python -m benchmarks.timing.
"""

from __future__ import annotations

import pretty_midi
import pytest
from live_helpers import DENSE, TEMPO, midi_notes, run_srlive

pytestmark = pytest.mark.jack


def test_accompany_answers_every_bar_after_the_first_on_the_grid_and_records_the_take(tmp_path):
    take = tmp_path / "take.mid"
    out = run_srlive(bars=4, perform_bars=1, extra=[*DENSE, "--mode", "accompany", "--record", str(take)])
    assert out.code == 0, out.session.stderr
    assert out.heard.stuck == []  # every note-on has its note-off
    assert out.srlive_notes(), "srlive played nothing"
    assert out.off_grid() == []
    # bar 1 is the performer's; srlive answers bars 2..4 (bar 2 from bar 1, then from its own)
    assert out.answered_bars() == {1, 2, 3}
    assert out.bars_played() <= {1, 2, 3} and 1 in out.bars_played()
    # the take: both tracks, every bar srlive played, every note it sent
    pm = pretty_midi.PrettyMIDI(str(take))
    assert {i.name for i in pm.instruments} >= {"performer", "srlive"}
    recorded = midi_notes(take, "srlive")
    assert len(recorded) == len(out.srlive_notes())
    assert {int(beat // 4) for beat, _ in recorded} <= {1, 2, 3}
    assert sorted(p for _, p in midi_notes(take, "performer")) == sorted([60, 64, 67, 72])


def test_call_response_answers_a_two_bar_call_after_the_silent_bar():
    out = run_srlive(bars=6, perform_bars=2, extra=[*DENSE, "--mode", "call-response"])
    assert out.code == 0, out.session.stderr
    assert out.heard.stuck == []
    # call in bars 1-2, bar 3 silent, the answer in bars 4-5 (as long as the call), then quiet
    assert out.answered_bars() == {3, 4}
    assert out.bars_played() <= {3, 4} and 3 in out.bars_played()
    assert out.off_grid() == []


def test_solo_plays_from_the_first_bar_without_a_performer():
    out = run_srlive(bars=3, perform_bars=0, extra=[*DENSE, "--mode", "solo"])
    assert out.code == 0, out.session.stderr
    assert out.heard.stuck == []
    assert out.bars_played() <= {0, 1, 2} and 0 in out.bars_played()
    assert out.off_grid() == []


def test_sync_follows_the_daw_clock_and_its_bar_one():
    out = run_srlive(bars=4, perform_bars=1, sync=True, extra=[*DENSE, "--mode", "accompany"])
    assert out.code == 0, out.session.stderr
    assert out.heard.stuck == []
    # the origin is the clock source's pulse 0 (its bar 1), not srlive's own stamp
    assert out.answered_bars() == {1, 2, 3}
    assert out.bars_played() <= {1, 2, 3} and 1 in out.bars_played()
    assert out.off_grid() == []
