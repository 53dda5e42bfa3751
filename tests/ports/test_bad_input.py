"""Bad input on a real port: 10,000 messages a second for 10 s — SysEx, running status,
notes outside the 88 keys, a note-on never turned off, other channels, active sensing, pitch bend,
aftertouch — while srlive (--in-channel 1) keeps answering. What must hold: it keeps running and
exits 0, answers its bars on the grid, closes every note. The timing figures under the flood come
from python -m benchmarks.timing --flood."""

from __future__ import annotations

import threading

import mido
import pytest
from live_helpers import DENSE, TEMPO, Outcome

from benchmarks.analysis import pair_notes
from benchmarks.clients import flood
from benchmarks.session import LiveSession, phrase, step_seconds

pytestmark = pytest.mark.jack

RATE = 10_000
SECONDS = 10.0


def test_a_flood_of_every_kind_of_message_is_survived(tmp_path):
    bars = 14  # 11.2 s at 300 BPM: the flood covers bars 1-13
    take = tmp_path / "take.mid"
    with LiveSession(tempo=TEMPO, bars=bars, workdir=tmp_path,
                     extra=[*DENSE, "--in-channel", "1", "--record", str(take)]) as run:
        run.wait_ready()
        sent = []
        flooder = threading.Thread(target=lambda: sent.append(flood(run.performer, RATE, SECONDS)))
        origin = run.play(phrase(TEMPO, 1))  # bar 1's downbeat, then the flood
        flooder.start()
        flooder.join()
        code = run.wait(bars * 16 * step_seconds(TEMPO) + 30)
        out = Outcome(run, code, pair_notes(run.recorder.snapshot()), run.stats()["origin_perf_counter"],
                      step_seconds(TEMPO), run.stats())
    assert sent and sent[0] >= 0.9 * RATE * SECONDS
    assert code == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert out.heard.stuck == []
    assert out.off_grid() == []
    # every bar after the first was answered: none lost to the flood
    assert out.answered_bars() == set(range(1, bars)), out.stats["bars"]
    assert out.bars_played() <= set(range(1, bars))
    assert origin > 0
    # what srlive took from the flood (its take's performer track): channel 1 notes only — other
    # channels filtered, bend, aftertouch, active sensing, SysEx and the bare data bytes ignored
    performer = next(tr for tr in mido.MidiFile(take).tracks if tr.name == "performer")
    kinds = {(m.type, getattr(m, "channel", None)) for m in performer if not m.is_meta}
    assert kinds <= {("note_on", 0), ("note_off", 0)}, kinds
    played = {m.note for m in performer if m.type == "note_on" and m.velocity}
    assert {60, 62, 71} <= played and played <= {5, 60, 62, 64, 67, 71, 72, 120}
