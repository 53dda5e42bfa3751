"""A take written after every bar for the cost of what is new (srlive.takes.midifile.GrowingFile), and a
flood on the input kept out of it (srlive.takes.recorder.BAR_NOTES): real files, read back with mido."""

import mido

from srlive.takes import midifile
from srlive.takes.recorder import BAR_NOTES, Recorder


def messages(path):
    """Each track's name and its messages (tick, bytes), the padding left out."""
    out = []
    for tr in mido.MidiFile(path).tracks:
        tick, msgs = 0, []
        for m in tr:
            tick += m.time
            if not m.is_meta:
                msgs.append((tick, tuple(m.bytes())))
        out.append((tr.name, msgs))
    return out


def test_a_growing_file_reads_as_the_whole_write_after_every_bar_and_is_rewritten_whole_rarely(tmp_path):
    grow, whole = tmp_path / "grow.mid", tmp_path / "whole.mid"
    f = midifile.GrowingFile(grow)
    a, b = midifile.Track("a"), midifile.Track("b")
    for bar in range(300):
        a.add(mido.Message("note_on", note=60 + bar % 12, velocity=90, time=0 if bar == 0 else 240))
        a.add(mido.Message("note_off", note=60 + bar % 12, velocity=0, time=240))
        b.add(mido.Message("control_change", control=1, value=bar % 128, time=480 if bar else 0))
        closing = [mido.Message("note_off", channel=1, note=40, velocity=0, time=10)]  # this write's only
        f.write([("a", [], a, []), ("b", [], b, closing)], end_tick=480 * (bar + 1))
        if bar % 37 == 0 or bar == 299:
            midifile.write(whole, [a, _with(b, closing)], None, tempo_map=midifile.Track("a"), end_tick=480 * (bar + 1))
            got, want = messages(grow), messages(whole)
            assert [m for _, m in got] == [m for _, m in want][1:]
            assert mido.MidiFile(grow).length > 0
    assert f.rewrites <= 8 and f.appends == 300 - f.rewrites  # whole again only as the room doubles
    ends = [sum(m.time for m in tr) for tr in mido.MidiFile(grow).tracks]
    assert ends == [480 * 300, 480 * 300]  # every track ends at the take's end


def _with(track, extra):
    out = track.copy()
    out.extend(extra)
    return out


def test_a_file_removed_meanwhile_is_written_whole_again(tmp_path):
    path = tmp_path / "t.mid"
    f = midifile.GrowingFile(path)
    t = midifile.Track("t", [mido.Message("note_on", note=60, velocity=1)])
    f.write([("t", [], t, [])], 10)
    path.unlink()
    t.add(mido.Message("note_off", note=60, velocity=0, time=5))
    f.write([("t", [], t, [])], 10)
    assert f.rewrites == 2 and len(messages(path)[0][1]) == 2


def note(on, channel, pitch, velocity=100):
    return bytes([(0x90 if on else 0x80) | channel, pitch, velocity if on else 0])


def test_a_flood_keeps_the_takes_tracks_and_at_most_bar_notes_of_a_bar_with_a_marker(tmp_path):
    path = tmp_path / "take.mid"
    rec = Recorder(path, tempo=120, origin=0.0)  # a bar is 2 s
    rec.add("performer", 0.1, note(True, 0, 60))  # bar 1: the performer on channel 1
    rec.add("performer", 0.5, note(False, 0, 60))
    for k in range(2000):  # bar 2: a broken controller, notes on all 16 channels
        t = 2.0 + k * 0.0009
        rec.add("performer", t, note(True, k % 16, 30 + k % 60))
        rec.add("performer", t + 0.0004, note(False, k % 16, 30 + k % 60))
    rec.add("performer", 4.1, note(True, 0, 64))  # bar 3: the performer again
    rec.add("performer", 4.5, note(False, 0, 64))
    rec.write(until=6.5)
    mid = mido.MidiFile(path)
    assert [t.name for t in mid.tracks] == ["srlive take", "performer", "srlive"]  # no track a flooded channel
    perf = messages(path)[1][1]
    ons = [(tick, m) for tick, m in perf if m[0] == 0x90 and m[2]]
    flood = [tick for tick, _ in ons if 1920 <= tick < 3840]
    assert len(flood) <= BAR_NOTES
    assert ons[0] == (96, (0x90, 60, 100)) and ons[-1][1] == (0x90, 64, 100)
    assert len([m for _, m in perf if m[0] == 0x80 or m[2] == 0]) == len(ons)  # each note closed
    texts = [m.text for m in mid.tracks[0] if m.type == "marker"]
    left = 2000 - len(flood)
    assert texts == [f"input flood: {left} notes left out of this bar"]
    tick = 0
    for m in mid.tracks[0]:
        tick += m.time
        if m.type == "marker":
            assert tick == 1920  # at the flooded bar's downbeat


def test_a_flood_from_the_first_bar_opens_only_the_busiest_channels_track(tmp_path):
    path = tmp_path / "take.mid"
    rec = Recorder(path, tempo=120, origin=0.0)
    for k in range(1000):
        ch = 0 if k % 3 else 1 + k % 15  # channel 1 the busiest
        rec.add("performer", 0.001 * k, note(True, ch, 40 + k % 40))
        rec.add("performer", 0.001 * k + 0.0005, note(False, ch, 40 + k % 40))
    rec.write(final=True)
    mid = mido.MidiFile(path)
    assert [t.name for t in mid.tracks] == ["srlive take", "performer", "srlive"]
    ons = [m for m in mid.tracks[1] if m.type == "note_on" and m.velocity]
    assert len(ons) == BAR_NOTES and {m.channel for m in ons} == {0}


def test_a_performer_on_two_channels_without_a_flood_still_gets_a_track_each(tmp_path):
    path = tmp_path / "take.mid"
    rec = Recorder(path, tempo=120, origin=0.0)
    for bar in range(3):
        for ch in (0, 3):
            rec.add("performer", bar * 2.0 + 0.1 + ch * 0.01, note(True, ch, 60 + ch))
            rec.add("performer", bar * 2.0 + 0.3, note(False, ch, 60 + ch))
        rec.write(until=bar * 2.0 + 1.9)
    rec.write(final=True)
    names = [t.name for t in mido.MidiFile(path).tracks]
    assert names == ["srlive take", "performer ch 1", "performer ch 4", "srlive"]
    assert all(len([m for m in t if m.type == "note_on"]) == 3 for t in mido.MidiFile(path).tracks[1:3])
