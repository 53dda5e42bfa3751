"""Recorder (atomic rewrite after every bar, readable each time) and --stats output."""

import json
import os

import mido
import pytest

from srlive.errors import UserError
from srlive.live.render import OFF, ON, Event
from srlive.takes.recorder import Recorder, check_writable
from srlive.takes.stats import Stats, percentiles


def note(on: bool, channel: int, pitch: int, velocity: int) -> bytes:
    return bytes([(0x90 if on else 0x80) | channel, pitch, velocity if on else 0])


def test_written_after_every_bar_and_readable_each_time_whole_only_when_its_tracks_change(tmp_path, monkeypatch):
    path = tmp_path / "take.mid"
    rec = Recorder(path, tempo=120)
    rec.add("performer", 9.0, b"\x90\x30\x40")  # two beats before the take's first bar: left out
    rec.set_origin(10.0)
    replaced = []  # every file put in place: by os.link the first time (never over a file), then os.replace
    for name in ("replace", "link"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda a, b, real=real: (replaced.append((str(a), str(b))), real(a, b))[1])
    beat = 0.5
    for bar in range(4):
        t0 = 10.0 + bar * 4 * beat
        rec.add("performer", t0, note(True, 0, 60 + bar, 100))
        rec.add("srlive", t0 + beat, note(True, 2, 72 + bar, 90))
        rec.add("srlive", t0 + 2 * beat, note(False, 2, 72 + bar, 0))
        rec.write(until=t0 + 4 * beat - 0.25)  # performer's note still held: closed in the snapshot
        mid = mido.MidiFile(path)
        assert [t.name for t in mid.tracks] == ["srlive take", "performer", "srlive"]
        perf = [m for m in mid.tracks[1] if m.type in ("note_on", "note_off")]
        srl = [m for m in mid.tracks[2] if m.type == "note_on" and m.velocity > 0]
        assert len(srl) == bar + 1
        ons = sum(1 for m in perf if m.type == "note_on" and m.velocity > 0)
        offs = len(perf) - ons
        assert ons == offs  # every note-on has its note-off in every snapshot
        rec.add("performer", t0 + 3 * beat, note(False, 0, 60 + bar, 0))
    # whole (atomically) the first time and when the performer's track opened (its first bar over);
    # the two bars after that only appended what was new
    assert len(replaced) == rec.file.rewrites == 2 and rec.file.appends == 2
    assert all(os.path.dirname(a) == str(tmp_path) for a, _ in replaced)
    assert not [p for p in tmp_path.iterdir() if p.name != "take.mid"]  # no temp files left
    mid = mido.MidiFile(path)
    srl = [(m.note, m.channel) for m in mid.tracks[2] if m.type == "note_on"]
    assert srl == [(72, 2), (73, 2), (74, 2), (75, 2)]
    # times: srlive's bar-2 note at beat 1 of bar 2 = tick (4 + 1) * 480
    t, ticks = 0, []
    for m in mid.tracks[2]:
        t += m.time
        if m.type == "note_on":
            ticks.append(t)
    assert ticks == [480, 5 * 480, 9 * 480, 13 * 480]
    assert mido.tempo2bpm([m for m in mid.tracks[0] if m.type == "set_tempo"][0].tempo) == pytest.approx(120)
    assert [m.time for m in mid.tracks[0] if m.type == "set_tempo"] == [0]  # a constant tempo: one set_tempo


def test_note_off_of_an_unrecorded_note_is_skipped(tmp_path):
    rec = Recorder(tmp_path / "t.mid", 100, origin=0.0)
    rec.add("srlive", 0.5, note(False, 0, 60, 0))
    rec.write()
    assert not [m for m in mido.MidiFile(tmp_path / "t.mid").tracks[2] if m.type in ("note_on", "note_off")]


def test_unwritable_paths_refused_in_one_line(tmp_path):
    for bad, words in ((tmp_path / "nope" / "t.mid", "does not exist"), (tmp_path, "is a folder")):
        with pytest.raises(UserError, match=words) as err:
            check_writable(bad)
        assert "\n" not in str(err.value)
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(UserError, match="can't write"):
            check_writable(ro / "t.mid")


def test_stats_json(tmp_path):
    st = Stats()
    st.origin = 100.0
    st.meta = {"tempo": 120}
    st.bar(0, 1.5)
    st.bar(1, None, "error: boom")
    st.sent(Event(100.5, ON, 0, 60, 90, bar=1), 100.5004)
    st.sent(Event(100.6, OFF, 0, 60, 0, bar=1), 100.6011)
    st.dropped(Event(100.7, ON, 0, 61, 90, bar=1), 100.72)
    st.write(tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["tempo"] == 120 and doc["skipped"] == 1 and doc["dropped"] == 1 and doc["bars_played"] == 1
    assert [e["lateness_ms"] for e in doc["events"]] == [pytest.approx(0.4), pytest.approx(1.1)]
    assert doc["events"][0]["deadline"] == pytest.approx(0.5) and doc["events"][0]["bar"] == 2
    assert doc["lateness_ms"]["max"] == pytest.approx(1.1) and doc["inference_ms"]["p50"] == 1.5
    assert doc["dropped_events"][0]["lateness_ms"] == pytest.approx(20)


def test_percentiles():
    p = percentiles(list(range(101)))
    assert (p["p50"], p["p99"], p["max"], p["count"]) == (50, 99, 100, 101)
    assert percentiles([])["p50"] is None


def test_malformed_messages_are_left_out_and_the_take_stays_readable(tmp_path):
    rec = Recorder(tmp_path / "t.mid", 120, origin=0.0)
    rec.add("performer", 0.1, b"\x90\x3c")  # a note-on cut short
    rec.add("performer", 0.2, b"\x90\x3c\xff")  # a data byte over 127
    rec.add("performer", 0.3, b"\x90\x3e\x40")
    rec.write()
    notes = [(m.type, m.note) for m in mido.MidiFile(tmp_path / "t.mid").tracks[1] if m.type.startswith("note")]
    assert notes == [("note_on", 62), ("note_off", 62)]
