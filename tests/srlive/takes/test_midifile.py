"""srlive.takes.midifile: the project's one .mid reader and writer."""

import mido
import pytest

from srlive.takes import midifile
from srlive.takes.midifile import MidiNote


def test_what_is_written_reads_back_with_ticks_seconds_tempo_and_meter(tmp_path):
    path = tmp_path / "two.mid"
    tracks = [midifile.Track("a", midifile.note_track([(60, 0, 480, 100), (62, 480, 960, 90)])),
              midifile.Track("b", midifile.note_track([(48, 240, 1920, 70)], channel=3))]
    midifile.write(path, tracks, 90, end_tick=4 * 480, time_signature=(3, 4), text="hello")
    mid = mido.MidiFile(path)
    assert mid.type == 1 and [t.name for t in mid.tracks] == ["a", "b"]
    assert [m.text for m in mid.tracks[0] if m.type == "text"] == ["hello"]
    got = midifile.read(path)
    assert got.tempo == pytest.approx(90) and got.time_signature == (3, 4) and got.ticks_per_beat == 480
    assert got.end == pytest.approx(4 * 60 / 90)  # every track ends at end_tick
    assert [m.text for m in mid.tracks[1] if m.type == "text"] == []
    assert [(m.tick, m.message.type, m.message.note) for m in got.messages] == [
        (0, "note_on", 60), (240, "note_on", 48), (480, "note_off", 60), (480, "note_on", 62),
        (960, "note_off", 62), (1920, "note_off", 48)]
    assert got.messages[1].time == pytest.approx(240 / 480 * 60 / 90)
    assert got.notes() == [MidiNote(0, 60, 100, 0, 480), MidiNote(3, 48, 70, 240, 1920), MidiNote(0, 62, 90, 480, 960)]


def test_one_track_is_a_type_0_file_lasting_to_its_end_tick(tmp_path):
    midifile.write(tmp_path / "one.mid", [midifile.Track("solo", midifile.note_track([(60, 0, 120, 80)]))], 120, end_tick=1920)
    mid = mido.MidiFile(tmp_path / "one.mid")
    assert mid.type == 0 and mid.length == pytest.approx(2.0)


def test_notes_pair_as_pretty_midi_does(tmp_path):
    ons_offs = [(0, [0x90, 60, 100]), (0, [0x90, 60, 50]), (240, [0x90, 60, 0]),  # one off closes both
                (240, [0x90, 64, 90]), (240, [0x80, 64, 0]), (480, [0x80, 64, 0]),  # an off at its onset waits
                (480, [0x90, 67, 80])]  # never closed: left out
    midifile.write(tmp_path / "n.mid", [midifile.Track("t", midifile.timed(ons_offs))], 120)
    assert midifile.read(tmp_path / "n.mid").notes() == [
        MidiNote(0, 60, 100, 0, 240), MidiNote(0, 60, 50, 0, 240), MidiNote(0, 64, 90, 240, 480)]


def test_an_unreadable_file_is_one_short_error(tmp_path):
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00\x00")
    with pytest.raises(midifile.UnreadableMidi) as err:
        midifile.read(tmp_path / "bad.mid")
    assert "\n" not in str(err.value) and len(str(err.value)) <= 100


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "take.mid"
    tracks = [midifile.Track("t", midifile.note_track([(60, 0, 480, 100)]))]
    midifile.write(path, tracks, 120)
    before = path.read_bytes()

    def disk_full(f, name, data):
        f.write(name)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(midifile, "write_chunk", disk_full)
    with pytest.raises(OSError):
        midifile.write(path, tracks, 100)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["take.mid"]
