"""Takes a producer drops into the DAW, with srlive as a real process on real JACK ports: following
a MIDI clock, the take's srlive note-ons sit on sixteenths (within a tick) and its tempo map is the
clock's (within 1 %), at a steady tempo and at one that changes mid-take; pretty_midi and mido
read the same notes; a second session never replaces the first's take unless --overwrite."""

from __future__ import annotations

import os

import mido
import pretty_midi
import pytest
from live_helpers import DENSE

from benchmarks.session import LiveSession
from benchmarks.take_tempo import TPB, tempo_at, tempo_map

pytestmark = pytest.mark.jack

BAR_TICKS = 4 * TPB


def read_take(path):
    """(srlive note-on ticks, [(tick, bpm)] tempo map)."""
    mid = mido.MidiFile(path)
    assert mid.ticks_per_beat == TPB
    ons = []
    for tr in mid.tracks:
        t = 0
        for m in tr:
            t += m.time
            if tr.name == "srlive" and m.type == "note_on" and m.velocity:
                ons.append(t)
    return ons, tempo_map(mid)


def notes_by_mido(path):
    """{channel: sorted (pitch, start s, end s)} as mido plays the file through its tempo map."""
    t, sounding, notes = 0.0, {}, {}
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity:
            sounding[(msg.channel, msg.note)] = t
        elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in sounding:
            notes.setdefault(msg.channel, []).append((msg.note, sounding.pop((msg.channel, msg.note)), t))
    return {ch: sorted(v) for ch, v in notes.items()}


@pytest.mark.parametrize("tempi", [(150, 150), (150, 162)], ids=["150bpm", "150-then-162bpm"])
def test_a_take_following_midi_clock_is_on_sixteenths_with_the_clocks_tempo_map(tmp_path, tempi):
    take = tmp_path / "take.mid"
    bars, change_bar = 8, 3  # the DAW's tempo changes at bar 4 (0-based 3); 8 bars: a solo from silence starts sparse
    with LiveSession(tempo=120, bars=bars, sync=True, workdir=tmp_path,
                     extra=[*DENSE, "--mode", "solo", "--record", str(take)]) as run:
        run.wait_ready()
        run.clock.start(tempi[0], lead=0.3, changes=[(change_bar * 96, tempi[1])])
        code = run.wait(60)
        run.clock.stop()
    assert code == 0, run.stderr
    ons, tempo_map = read_take(take)
    assert len(ons) >= 8, ons
    off = [t for t in ons if min(t % (TPB // 4), -t % (TPB // 4)) > 1]
    assert off == [], f"srlive note-ons off the sixteenths: {off}"
    assert tempo_map[0][0] == 0 and all(t % BAR_TICKS == 0 for t, _ in tempo_map)
    # every bar srlive played in: the clock's tempo, to 1 % (a bar line is placed from pulses stamped
    # once a 5.3 ms JACK cycle on a shared machine; the change it must show is 8 %)
    for bar in sorted({t // BAR_TICKS for t in ons}):
        want = tempi[0] if bar < change_bar else tempi[1]
        assert tempo_at(tempo_map, bar * BAR_TICKS) == pytest.approx(want, rel=1e-2), (bar, tempo_map)
    assert 120 not in [round(b) for _, b in tempo_map]  # not --tempo's prior
    pm = pretty_midi.PrettyMIDI(str(take))
    by_pm = {}
    for inst in pm.instruments:
        for n in inst.notes:
            by_pm.setdefault(inst.name, []).append((n.pitch, n.start, n.end))
    by_mido = notes_by_mido(take)
    srl = sorted(by_pm["srlive"])
    assert [n[0] for n in srl] == [n[0] for n in by_mido[0]]
    assert [t for n in srl for t in n[1:]] == pytest.approx([t for n in by_mido[0] for t in n[1:]], abs=1e-6)


def solo_take(tmp_path, *extra) -> LiveSession:
    with LiveSession(tempo=300, bars=2, workdir=tmp_path,
                     extra=[*DENSE, "--mode", "solo", "--record", "take.mid", *extra]) as run:
        run.wait_ready()
        code = run.wait(60)
    assert code == 0, run.stderr
    return run


def test_recording_to_the_same_path_twice_keeps_both_takes_and_overwrite_replaces(tmp_path):
    solo_take(tmp_path)
    first = (tmp_path / "take.mid").read_bytes()
    kept = tmp_path / ".first-take-link"
    os.link(tmp_path / "take.mid", kept)  # the first file itself, whatever name comes to point elsewhere
    run = solo_take(tmp_path)
    assert "srlive: take.mid exists; recording to take-2.mid (use --overwrite to replace it)" in run.stderr
    assert "recorded take-2.mid" in run.stderr
    assert (tmp_path / "take.mid").read_bytes() == first
    assert mido.MidiFile(tmp_path / "take-2.mid").tracks[0].name == "srlive take"
    run = solo_take(tmp_path, "--overwrite")
    assert "exists" not in run.stderr and "recorded take.mid" in run.stderr
    assert kept.read_bytes() == first  # a new file put in its place: the first never written over
    assert sorted(p.name for p in tmp_path.glob("take*.mid")) == ["take-2.mid", "take.mid"]
