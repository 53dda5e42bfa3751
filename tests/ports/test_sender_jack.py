"""The sender process (srlive.sender) on real JACK ports: it plays a bar's events handed to it
ahead of time, reports each back, and closes every note it opened however it ends: told to stop,
its main process killed outright (SIGKILL), or itself killed (the main process is told once)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from live_helpers import settle

from benchmarks.analysis import pair_notes
from srlive.errors import PortError
from srlive.live.render import OFF, ON, Event
from srlive.live.sender import open_sender

pytestmark = pytest.mark.jack


def notes(rec):
    return [d for _, d in rec.snapshot() if d[0] & 0xF0 in (0x80, 0x90)]


def test_events_handed_over_ahead_go_out_in_order_and_come_back_as_reports(jack_clients):
    rec = jack_clients.recorder
    sender = open_sender(rec.query, "jack", client_name="srlive-test-sender")
    out, sent = [], []
    try:
        assert sender.full_name and sender.name == f"recorder:{rec.port_name}"
        sched = sender.scheduler(max_late=0.010, on_output=lambda *a: out.append(a),
                                 on_sent=lambda e, t: sent.append((e, t)))
        sched.start()
        assert settle(lambda: rec.connections() > 0, 5.0)
        time.sleep(0.05)
        t0 = time.perf_counter() + 0.2
        sched.add([Event(t0 + 0.05 * k, ON, 0, 60 + k, 90) for k in range(4)]
                  + [Event(t0 + 0.05 * k + 0.03, OFF, 0, 60 + k, 0) for k in range(4)])
        assert rec.wait_for(lambda ev: len(ev) >= 8, 3.0)
        assert [d[1] for d in notes(rec) if d[0] == 0x90] == [60, 61, 62, 63]
        for (e, t) in sent:
            assert t >= e.time  # never early
        assert settle(lambda: len(out) >= 8)
        assert [src for src, *_ in out] == ["srlive"] * 8
    finally:
        sender.stop()
    assert not sender.process.is_alive()


def test_stop_closes_a_sounding_note_and_sends_all_notes_off(jack_clients):
    rec = jack_clients.recorder
    sender = open_sender(rec.query, "jack", client_name="srlive-test-sender")
    sched = sender.scheduler(max_late=0.010)
    sched.start()
    assert settle(lambda: rec.connections() > 0, 5.0)
    time.sleep(0.05)
    sched.add([Event(time.perf_counter() + 0.05, ON, 4, 70, 90)])  # its note-off never handed over
    assert rec.wait_for(lambda ev: len(ev) >= 1, 3.0)
    sched.stop(panic=True)
    assert rec.wait_for(lambda ev: any(d == [0xB4, 123, 0] for _, d in ev), 3.0)
    assert pair_notes(rec.snapshot()).stuck == []


MAIN = textwrap.dedent("""
    import sys, time
    from srlive.live.render import ON, Event
    from srlive.live.sender import open_sender
    sender = open_sender(sys.argv[1], "jack", client_name="srlive-test-sender")
    sched = sender.scheduler(max_late=0.010)
    sched.start()
    time.sleep(0.3)
    sched.add([Event(time.perf_counter() + 0.05, ON, 2, 64, 90)])
    print("playing", flush=True)
    time.sleep(60)
""")


def test_a_main_process_killed_outright_still_gets_every_note_closed(jack_clients):
    rec = jack_clients.recorder
    main = subprocess.Popen([sys.executable, "-c", MAIN, rec.query], stdout=subprocess.PIPE, text=True)
    try:
        assert main.stdout.readline().strip() == "playing"
        assert rec.wait_for(lambda ev: any(d[0] == 0x92 for _, d in ev), 5.0)
        main.send_signal(signal.SIGKILL)
        main.wait(5)
        assert rec.wait_for(lambda ev: any(d == [0xB2, 123, 0] for _, d in ev), 5.0), rec.snapshot()
        assert pair_notes(rec.snapshot()).stuck == []
    finally:
        if main.poll() is None:
            main.kill()


def test_a_killed_sender_is_said_once_to_the_main_process(jack_clients):
    sender = open_sender(jack_clients.recorder.query, "jack", client_name="srlive-test-sender")
    said = []
    sched = sender.scheduler(max_late=0.010, on_lost=said.append)
    sched.start()
    sender.process.kill()
    assert settle(lambda: said, 5.0)
    sched.add([Event(time.perf_counter(), ON, 0, 60, 90)])  # nothing raised: the engine stops on its own
    sched.stop()
    assert len(said) == 1 and "sender process ended" in said[0]


def test_an_output_that_cannot_be_opened_is_one_port_error():
    with pytest.raises(PortError) as err:
        open_sender("anything", "windows")  # not this OS's backend
    assert "Windows MIDI" in str(err.value) and "\n" not in str(err.value)
