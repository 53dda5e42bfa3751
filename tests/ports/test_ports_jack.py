"""srlive.ports through a real JACK server: auto-pick, name matching, virtual ports, messages
both ways (SysEx and clock included), and a peer that goes away and comes back."""

from __future__ import annotations

import time

import mido
import pytest

from srlive import ports
from benchmarks.clients import Performer, Recorder
from srlive.errors import PortError
from live_helpers import settle

pytestmark = pytest.mark.jack


def linked(port) -> bool:
    """The port is connected, and JACK has run a few periods on the new graph: messages sent in
    the very period a connection is made can be lost or garbled (seen on JACK 1.9.21)."""
    ok = settle(lambda: port.connected() is True)
    time.sleep(0.05)
    return ok


def test_auto_picks_jack_when_a_server_runs():
    assert ports.jack_running()
    assert ports.resolve_backend("auto") == "jack"


def test_output_found_by_words_reaches_the_recorder(jack_clients):
    rec = jack_clients.recorder
    out = ports.open_output(rec.query, backend="auto")
    try:
        assert not out.virtual and out.name == f"recorder:{rec.port_name}"
        assert linked(out)
        notes = [mido.Message("note_on", note=60 + k, velocity=100) for k in range(5)]
        for msg in notes:
            out.send(msg)
        out.send(mido.Message("sysex", data=[0x7D, 1, 2, 3]))
        assert rec.wait_for(lambda ev: len(ev) >= 6, 2.0)
        got = [data for _, data in rec.snapshot()]
        assert got == [m.bytes() for m in notes] + [[0xF0, 0x7D, 1, 2, 3, 0xF7]]
    finally:
        out.close()


def test_input_virtual_port_receives_what_the_performer_plays_stamped_on_arrival(jack_clients):
    name = f"srlive in {jack_clients.recorder.port_name}"  # unique per test run
    port = ports.open_input(name, backend="jack")
    got = []
    try:
        assert port.virtual and port.name == name and port.full_name.endswith(":" + name)
        port.set_callback(lambda msg, t: got.append((msg, t)))
        perf = Performer(target=port.full_name)
        assert linked(port)
        assert port.poll() is None  # a first peer connecting is the normal start: nothing said
        sent = [
            perf.send([0x90, 64, 80]),
            perf.send([0xF8]),
            perf.send([0xFE]),
            perf.send([0xF0, 0x7D, 9, 0xF7]),
            perf.send([0x80, 64, 0]),
        ]
        assert settle(lambda: len(got) >= 5)
        assert [m.type for m, _ in got] == ["note_on", "clock", "active_sensing", "sysex", "note_off"]
        for (msg, t), t_sent in zip(got, sent):
            assert t >= t_sent  # stamped on arrival, after it was sent
        perf.close()
        lost = port.poll() if settle(lambda: port.connected() is False) else None
        assert lost is not None and "waiting" in lost
    finally:
        port.close()


def test_a_named_output_that_goes_away_is_said_once_and_reconnected(jack_clients):
    rec = jack_clients.recorder
    out = ports.open_output(rec.query)
    try:
        assert out.poll() is None
        rec.close()
        assert settle(lambda: out.connected() is False)
        message = out.poll()
        assert message is not None and "went away" in message
        assert out.poll() is None
        out.send(mido.Message("note_on", note=61))  # into nothing: harmless
        rec.reopen()
        assert settle(lambda: out.poll() is not None)  # "is back", reconnected
        assert linked(out)
        out.send(mido.Message("note_on", note=62))
        assert rec.wait_for(lambda ev: [0x90, 62, 64] in [d for _, d in ev], 2.0)
        assert [0x90, 61, 64] not in [d for _, d in rec.snapshot()]
    finally:
        out.close()


def test_unknown_output_name_makes_a_virtual_port_under_the_srlive_client(jack_server):
    name = f"srlive out test {time.monotonic_ns()}"
    out = ports.open_output(name)
    try:
        inputs, outputs = ports.list_ports("jack")
        assert out.virtual and out.full_name in inputs
        assert out.full_name.split(":")[0].startswith("srlive")
    finally:
        out.close()


def test_ambiguous_name_is_refused_listing_the_ports(jack_server):
    token = f"amb{time.monotonic_ns()}"
    extras = [Recorder("recorder", f"{token} bus {k}") for k in (1, 2)]
    try:
        with pytest.raises(PortError, match="matches several ports") as err:
            ports.open_output(f"{token} bus")
        assert f"{token} bus 1" in str(err.value) and f"{token} bus 2" in str(err.value)
        out = ports.open_output(f"{token} bus 2")  # more of the name settles it
        assert out.name.endswith(f"{token} bus 2")
        out.close()
    finally:
        for extra in extras:
            extra.shutdown()


def test_ignored_messages_between_notes_keep_the_stamps_on_time(jack_clients):
    """A keyboard's active sensing (and SysEx) between notes, ignored: each note is still stamped
    within a few periods after it was sent, not early by the time the ignored messages spanned."""
    name = f"srlive in ignore {jack_clients.recorder.port_name}"
    port = ports.open_input(name, backend="jack")
    got = []
    try:
        port.ignore("active_sensing", "sysex", "clock")
        port.set_callback(lambda msg, t: got.append((msg.type, t)))
        perf = Performer(target=port.full_name)
        assert linked(port)
        sent = []
        for k in range(4):
            sent.append(perf.send([0x90, 60 + k, 80]))
            for filler in ([0xFE], [0xF0, 0x7D, k, 0xF7], [0xFE]):
                time.sleep(0.1)
                perf.send(filler)
            time.sleep(0.1)
        assert settle(lambda: len(got) >= 4)
        assert [typ for typ, _ in got] == ["note_on"] * 4
        for (_, t), t_sent in zip(got, sent):
            assert t_sent - 0.001 <= t <= t_sent + 0.05, (t - t_sent)
        perf.close()
    finally:
        port.close()
