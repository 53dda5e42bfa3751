"""--follow with srlive as a real process on real JACK ports: a performer who plays 8 % slower than
--tempo is followed; srlive's answers land on the performer's beats, and the take's tempo map is
the performer's tempo, bar 1 their first note."""

from __future__ import annotations

import pytest

from benchmarks.analysis import pair_notes
from benchmarks.follow import judge, performer_events, take_notes
from benchmarks.performer import perform
from benchmarks.session import LiveSession
from benchmarks.take_tempo import bar_tempi

pytestmark = pytest.mark.jack


def test_srlive_follows_a_performer_slower_than_its_tempo(tmp_path):
    bars = 6
    perf = perform("steady", bars, 240 / 1.08)  # the shipped example take, at 222 BPM
    take = tmp_path / "take.mid"
    with LiveSession(tempo=240, bars=bars, workdir=tmp_path,
                     extra=["--mode", "accompany", "--seed", "1", "--threshold", "0.2", "--follow",
                            "--record", str(take)]) as run:
        run.wait_ready()
        run.play(performer_events(perf))
        code = run.wait(60)
        heard = pair_notes(run.recorder.snapshot())
    assert code == 0, run.stderr
    first = next(t for t, d in run.performer.sent if d[0] & 0xF0 == 0x90)
    err, where = judge(heard, take_notes(take), perf, first)
    late = err[where >= 2 * 16]  # from bar 3: bar 2 is answered while the tempo is still being heard
    assert late.size >= 4
    assert abs(late).max() < 0.03, f"{abs(late).max() * 1000:.1f} ms off the performer's grid"
    assert bar_tempi(take, bars)[2:5] == pytest.approx([240 / 1.08] * 3, rel=0.01)
