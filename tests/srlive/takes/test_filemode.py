"""File mode on known takes, with the fake model (answers a fifth up)."""

import mido
import pytest

from srlive import roll
from srlive.errors import UserError
from srlive.live.quantise import Quantiser
from srlive.settings import Settings
from srlive.takes.filemode import example_take, read_take, run_file, seed_roll
from srlive.takes.stats import Stats
from srlive_fakes import FakeRuntime

TPB = 480


def notes_by_track(path):
    """{track name: [(pitch, on_tick, off_tick, velocity)]}, asserting every note-on has its note-off."""
    mid = mido.MidiFile(path)
    out = {}
    for tr in mid.tracks:
        t, open_, notes = 0, {}, []
        for m in tr:
            t += m.time
            if m.type == "note_on" and m.velocity > 0:
                assert (m.channel, m.note) not in open_
                open_[(m.channel, m.note)] = (t, m.velocity)
            elif m.type in ("note_on", "note_off"):
                t0, v = open_.pop((m.channel, m.note))
                notes.append((m.note, t0, t, v))
        assert not open_, f"track {tr.name}: notes without note-off {open_}"
        out[tr.name] = sorted(notes, key=lambda n: (n[1], n[0]))
    return mid, out


def write_take(path, bars_of_notes, tempo=100):
    """A one-track take: bars_of_notes[b] = list of (pitch, start_step, end_step)."""
    ev = []
    for b, notes in enumerate(bars_of_notes):
        for p, s, e in notes:
            ev.append(((b * 16 + s) * TPB // 4, 1, mido.Message("note_on", note=p, velocity=90)))
            ev.append(((b * 16 + e) * TPB // 4, 0, mido.Message("note_on", note=p, velocity=0)))
    ev.sort(key=lambda x: (x[0], x[1]))
    tr = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo))])
    last = 0
    for t, _, m in ev:
        tr.append(m.copy(time=t - last))
        last = t
    tr.append(mido.MetaMessage("end_of_track", time=len(bars_of_notes) * 16 * TPB // 4 - last))
    mf = mido.MidiFile(ticks_per_beat=TPB)
    mf.tracks.append(tr)
    mf.save(path)
    return path


def test_example_take_answered_bar_by_bar_a_fifth_up(tmp_path):
    out = tmp_path / "answer.mid"
    stats = Stats()
    res = run_file(example_take(), out, FakeRuntime(), Settings(seed=1), stats=stats)
    take = read_take(example_take())
    assert res.tempo == pytest.approx(take.tempo) and round(take.tempo) == 110
    mid, tracks = notes_by_track(out)
    assert [t.name for t in mid.tracks] == ["srlive take", "performer", "srlive"]
    assert len(tracks["performer"]) == take.n_notes == res.performer_notes
    assert res.bars == 9 and res.answered == 8 and res.skipped == 0
    tempo = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert len(tempo) == 1 and mido.tempo2bpm(tempo[0]) == pytest.approx(110, abs=0.01)
    step_ticks = TPB // 4
    srl = tracks["srlive"]
    assert len(srl) == res.srlive_notes > 0
    assert all(on % step_ticks == 0 for _, on, _, _ in srl)  # onsets on the sixteenth grid
    assert max(off for _, _, off, _ in srl) <= 9 * 16 * step_ticks
    # the answer in bar b+1 is the performer's bar b as a roll, a fifth up (the fake model); the roll
    # joins a note re-struck at once into one run, so compare against the roll's notes
    q = Quantiser()
    bar_len = 16 * 60 / 110 / 4
    step = bar_len / 16
    for b in range(8):
        lo, hi = b * bar_len - step / 2, (b + 1) * bar_len - step / 2
        cap = q.close_bar([m for m in take.notes if lo <= m.time < hi], b * bar_len, step)
        want = [(n.pitch + 7, (b + 1) * 16 + n.start) for n in roll.roll_to_notes(cap.roll)]
        got = [(p, on // step_ticks) for p, on, _, _ in srl if (b + 1) * 16 <= on // step_ticks < (b + 2) * 16]
        assert sorted(got) == sorted(want)


def test_call_response_file_answers_after_the_silent_bar(tmp_path):
    take = write_take(tmp_path / "call.mid", [[(60, 0, 4), (62, 4, 8)], [(64, 0, 8)], []])
    out = tmp_path / "answer.mid"
    res = run_file(take, out, FakeRuntime(), Settings(mode="call-response"))
    _, tracks = notes_by_track(out)
    bars_played = sorted({on // (16 * TPB // 4) for _, on, _, _ in tracks["srlive"]})
    assert bars_played == [3, 4]  # call = bars 0-1, bar 2 silent, answer = bars 3-4
    assert res.bars == 5


def test_tempo_option_overrides_the_file(tmp_path):
    take = write_take(tmp_path / "t.mid", [[(60, 0, 4)]], tempo=90)
    res = run_file(take, tmp_path / "a.mid", FakeRuntime(), Settings(tempo=140), tempo_given=True)
    assert res.tempo == 140
    res = run_file(take, tmp_path / "b.mid", FakeRuntime(), Settings(tempo=140))
    assert res.tempo == pytest.approx(90)


def test_bars_option_sets_the_length(tmp_path):
    take = write_take(tmp_path / "t.mid", [[(60, 0, 4)]])
    res = run_file(take, tmp_path / "a.mid", FakeRuntime(), Settings(mode="solo", bars=6))
    assert res.bars == 6 and res.answered == 6


def test_unreadable_midi_one_line_no_output(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02")  # truncated header
    out = tmp_path / "answer.mid"
    with pytest.raises(UserError) as err:
        run_file(bad, out, FakeRuntime(), Settings())
    assert "not a readable MIDI file" in str(err.value) and "\n" not in str(err.value)
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    with pytest.raises(UserError, match="no such MIDI file"):
        read_take(tmp_path / "missing.mid")


def test_seed_roll_is_the_last_bar_with_notes(tmp_path):
    take = write_take(tmp_path / "s.mid", [[(60, 0, 4)], [(67, 4, 8)], []])
    r = seed_roll(take)
    assert roll.roll_to_notes(r, 0.1) == [roll.Note(67, 4, 8, 90)]


def test_a_long_take_is_answered_whole(tmp_path):
    """More notes than the live input's flood limit: file mode reads them all."""
    bars = [[(60 + (k % 12), k, k + 1) for k in range(16)] for _ in range(160)]  # 2560 notes
    take = write_take(tmp_path / "long.mid", bars, tempo=200)
    res = run_file(take, tmp_path / "a.mid", FakeRuntime(), Settings())
    assert res.performer_notes == 2560 and res.answered == 160 and res.bars == 161
