"""srlive.ports' port objects against a fake python-rtmidi: virtual ports, input stamped on arrival
and handed on by the consumer, output errors and pacing, the disconnect/reconnect poll. Backend
choice and name matching: test_port_backends.py. Real ports: tests/ports/."""

from __future__ import annotations

import mido
import pytest

from fake_rtmidi import FakeRtmidi, FakeWorld, install
from srlive import ports
from srlive.errors import PortError
from srlive.ports import backends, jack_backend, midiports


@pytest.fixture
def world(monkeypatch):
    w = FakeWorld()
    install(monkeypatch, w)
    return w


def test_ports_open_on_the_backend_asked_for_with_the_client_name(world, monkeypatch):
    monkeypatch.setattr(backends, "jack_running", lambda: True)
    out = ports.open_output("srlive out", backend="jack")
    assert world.created[-1] == ("MidiOut", FakeRtmidi.API_UNIX_JACK, "srlive")
    assert out.backend == "jack" and out.virtual and out.name == "srlive out"
    assert out._rt.virtual == "srlive out"


# -- opening ----------------------------------------------------------------------------------


def test_list_ports_returns_inputs_and_outputs(world):
    world.sources = ["Keys", "Pads"]
    world.destinations = ["Synth"]
    assert ports.list_ports("alsa") == (["Keys", "Pads"], ["Synth"])


def test_open_output_connects_to_the_matching_port_under_the_given_name(world):
    world.destinations = ["IAC Driver Bus 1", "IAC Driver Bus 2"]
    out = ports.open_output("IAC Bus 2")
    assert not out.virtual and out.name == "IAC Driver Bus 2"
    assert out._rt.opened == ("IAC Driver Bus 2", "IAC Bus 2")


def test_unknown_name_makes_a_virtual_port(world):
    world.sources = ["Keys"]
    port = ports.open_input("srlive in")
    assert port.virtual and port.name == "srlive in" and port._rt.virtual == "srlive in"


def test_windows_cannot_make_virtual_ports_and_lists_what_there_is(world, monkeypatch):
    monkeypatch.setattr(backends, "_platform", "win32")
    world.destinations = ["Microsoft GS Wavetable Synth 0", "loopMIDI Port 1"]
    with pytest.raises(PortError) as err:
        ports.open_output("srlive out")
    text = str(err.value)
    assert "'loopMIDI Port 1'" in text and "loopMIDI" in text and "\n" not in text
    assert world.created and all(kind == "MidiOut" for kind, _, _ in world.created)


def test_empty_name_is_refused(world):
    with pytest.raises(PortError, match="--in NAME"):
        ports.open_input("  ")


# -- input ------------------------------------------------------------------------------------


def test_input_lets_sysex_clock_and_active_sensing_through(world):
    port = ports.open_input("Keys")
    assert port._rt.ignored == {"sysex": False, "timing": False, "active_sense": False}


def test_input_stamps_each_message_on_arrival(world, monkeypatch):
    stamps = iter([10.0, 10.5, 11.25])
    monkeypatch.setattr(midiports, "_now", lambda: next(stamps))
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append((msg, t)))
    port._rt.callback(([0x90, 60, 100], 0.0), None)
    port._rt.callback(([0xF0, 1, 2, 0xF7], 0.1), None)
    port._rt.callback(([0xF8], 0.1), None)
    assert got == []  # the MIDI thread only queued them
    assert port.consume_pending() == 3
    assert got == [
        (mido.Message("note_on", note=60, velocity=100), 10.0),
        (mido.Message("sysex", data=[1, 2]), 10.5),
        (mido.Message("clock"), 11.25),
    ]


def test_input_drops_broken_bytes_and_survives_a_failing_callback(world):
    port = ports.open_input("Keys")

    def boom(msg, t):
        raise RuntimeError("engine bug")

    port.set_callback(boom)
    port._rt.callback(([0x90, 60], 0.0), None)  # truncated note-on
    port._rt.callback(([0x90, 200, 1], 0.0), None)  # data byte out of range
    port._rt.callback(([0x90, 60, 1], 0.0), None)
    port.consume_pending()
    assert port.bad_messages == 2
    assert port.callback_errors == 1 and isinstance(port.last_error, RuntimeError)


def test_closed_input_calls_nothing(world):
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append(msg))
    callback = port._rt.callback
    port.close()
    callback(([0x90, 60, 1], 0.0), None)
    port.consume_pending()
    assert got == [] and port._rt.deleted
    port.close()  # twice is fine


# -- output -----------------------------------------------------------------------------------


def test_output_sends_the_message_bytes(world):
    out = ports.open_output("srlive out")
    out.send(mido.Message("note_on", channel=2, note=64, velocity=90))
    out.send_bytes([0x80, 64, 0])
    out.all_notes_off(channels=[0, 9])
    assert out._rt.sent == [[0x92, 64, 90], [0x80, 64, 0], [0xB0, 123, 0], [0xB9, 123, 0]]


def test_send_errors_are_counted_never_raised(world):
    world.destinations = ["Synth"]
    out = ports.open_output("Synth")
    out._rt.opened = None  # the port vanished under us
    out.send(mido.Message("note_off", note=60))
    assert out.send_errors == 1
    out.close()
    out.send(mido.Message("note_off", note=60))  # after close: silently nothing
    assert out.send_errors == 1


# -- disconnection ----------------------------------------------------------------------------


def test_output_peer_goes_away_and_comes_back_said_once_each_and_reconnected(world):
    world.destinations = ["recorder:take"]
    out = ports.open_output("recorder take")
    assert out.connected() is True and out.poll() is None
    world.destinations = []
    first = out.poll()
    assert first is not None and "went away" in first and "keeping time" in first
    assert out.poll() is None and out.connected() is False
    world.destinations = ["other:port", "recorder:take"]
    back = out.poll()
    assert back is not None and "is back" in back
    assert out._rt.opened == ("recorder:take", "recorder take")
    assert out.poll() is None
    out.send(mido.Message("note_on", note=60))
    assert out._rt.sent == [[0x90, 60, 64]]


def test_input_goes_away_waits_and_says_so(world):
    world.sources = ["performer:phrase"]
    port = ports.open_input("performer phrase")
    world.sources = []
    message = port.poll()
    assert message is not None and "waiting" in message
    assert port.poll() is None
    world.sources = ["performer:phrase"]
    assert "back" in port.poll()


def test_virtual_port_reports_only_losing_a_peer_it_had(world, monkeypatch):
    counts = iter([None, 0, 1, 1, 0, 0, 1])
    out = ports.open_output("srlive out")
    monkeypatch.setattr(out, "_peer_count", lambda: next(counts))
    assert out.connected() is None  # backend can't tell: nothing said
    assert out.poll() is None  # 0 peers at start: normal, silent
    assert out.poll() is None  # the DAW connects: normal, silent
    assert out.poll() is None
    assert "nothing is listening" in out.poll()
    assert out.poll() is None
    assert "listener again" in out.poll()


# -- JACK input: drained from rtmidi's queue, stamped from JACK times --------------------------


def test_arrival_clock_keeps_jack_spacing_and_the_tightest_origin():
    clock = ports.ArrivalClock()
    # drained late (100.0030 for a message that came at 100.0000), then promptly
    assert clock(0.0, 100.0030) == pytest.approx(100.0030)
    assert clock(0.5, 100.5001) == pytest.approx(100.5001)  # origin now 100.0001
    assert clock(0.25, 100.7600) == pytest.approx(100.7501)  # a late drain doesn't move it
    assert clock.origin == pytest.approx(100.0001)


def test_arrival_clock_lets_go_of_an_origin_a_full_queue_left_behind():
    """A flood overflowed python-rtmidi's queue: 0.2 s of deltas were lost with the dropped messages.
    Stamps would stay 0.2 s early for good; after a window of drains none of which came near the old
    origin, they are right again."""
    clock = ports.ArrivalClock()
    t = 100.0
    for _ in range(1000):  # a flood drained promptly: 1 ms apart, 0.1 ms after arrival
        t += 0.001
        clock(0.001, t + 0.0001)
    t += 0.2  # 0.2 s of messages dropped, their deltas with them: the next delta is 1 ms
    stamps = []
    for _ in range(1000):
        t += 0.001
        stamps.append((t, clock(0.001, t + 0.0001)))
    assert stamps[0][1] == pytest.approx(stamps[0][0] - 0.2, abs=1e-3)  # at first early by what was lost
    assert stamps[-1][1] == pytest.approx(stamps[-1][0], abs=2e-4)  # then on time again
    assert clock.rebased == 1


def test_arrival_clock_keeps_its_origin_for_a_few_late_drains_on_a_busy_machine():
    clock = ports.ArrivalClock()
    assert clock(0.0, 50.0001) == pytest.approx(50.0001)
    for k in range(1, 20):  # a message a second, each drained 8 ms late
        assert clock(1.0, 50.0 + k + 0.008) == pytest.approx(50.0001 + k)
    assert clock.rebased == 0


def test_jack_input_is_drained_by_a_thread_and_never_calls_back_inside_jack(world, monkeypatch):
    import threading

    monkeypatch.setattr(backends, "jack_running", lambda: True)
    monkeypatch.setattr(midiports, "_start_consumer", True)
    queued = [([0x90, 60, 100], 0.0), ([0x80, 60, 0], 0.25), ([0xF8], 0.01)]
    got, done = [], threading.Event()

    def fn(msg, t):
        got.append((msg, t))
        if len(got) == 3:
            done.set()

    drained = iter([10.003, 10.2501, 10.2602])  # arrivals 10.0, 10.25, 10.26, drained a bit later
    monkeypatch.setattr(midiports, "_now", lambda: next(drained))
    port = ports.open_input("keys", backend="jack")
    port.set_callback(fn)
    port._rt.queue = queued  # arrive once the callback is set
    assert done.wait(5)
    port.close()
    assert port._rt.callback is None  # no rtmidi callback: nothing runs in JACK's thread
    assert [m.type for m, _ in got] == ["note_on", "note_off", "clock"]
    # the first is stamped when drained; once a prompt drain bounds the origin, JACK's spacing holds
    assert [t for _, t in got] == pytest.approx([10.003, 10.2501, 10.2601])


def test_ignored_types_are_dropped_by_status_before_parsing(world):
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append(msg.type))
    port.ignore("pitchwheel", "aftertouch", "polytouch", "active_sensing", "sysex")
    for data in ([0xE3, 0, 64], [0xD0, 5], [0xA1, 60, 5], [0xFE], [0xF0, 1, 0xF7], [0x90, 60, 9], [0xF8],
                 [60, 100]):
        port._rt.callback((data, 0.0), None)
    port.consume_pending()
    assert got == ["note_on", "clock"]
    assert port.bad_messages == 1  # the bare running-status pair
    with pytest.raises(ValueError, match="pitchbend"):
        port.ignore("pitchbend")


def test_only_channel_drops_other_channels_unparsed_and_keeps_system_messages(world, monkeypatch):
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append((msg.type, getattr(msg, "channel", None))))
    port.only_channel(2)
    parsed = []
    real = ports.midiports.mido.Message.from_bytes
    monkeypatch.setattr(ports.midiports.mido.Message, "from_bytes", lambda data: parsed.append(data) or real(data))
    for data in ([0x90, 60, 9], [0x92, 60, 9], [0xB5, 7, 1], [0xB2, 7, 1], [0xF8], [0x82, 60, 0]):
        port._rt.callback((data, 0.0), None)
    port.consume_pending()
    assert got == [("note_on", 2), ("control_change", 2), ("clock", None), ("note_off", 2)]
    assert len(parsed) == 4  # the other channels' messages were never parsed
    port.only_channel(None)
    port._rt.callback(([0x95, 60, 9], 0.0), None)
    port.consume_pending()
    assert got[-1] == ("note_on", 5)


class _SentLog:
    def __init__(self):
        self.sent = []

    def send_message(self, data):
        self.sent.append(list(data))


@pytest.mark.parametrize("backend, sleeps", [("jack", -(-30 // ports.JACK_BURST) - 1), ("alsa", 0), ("coremidi", 0)])
def test_a_burst_into_jack_waits_for_the_next_cycle_and_loses_nothing(backend, sleeps):
    """JACK drops what does not fit in one process cycle; a bar line's 30 messages go out in
    chunks of ports.JACK_BURST, each after a fresh cycle, in order. Other backends queue them."""
    clock = [100.0]
    waits = []

    def sleep(dt):
        waits.append(dt)
        clock[0] += dt

    rt = _SentLog()
    out = ports.MidiOutput(rt, backend, "x", "x", "out", None, now=lambda: clock[0], sleep=sleep)
    msgs = [[0x80, p, 0] for p in range(40, 70)]
    for m in msgs:
        out.send_bytes(m)
    assert rt.sent == msgs
    assert len(waits) == sleeps and out.paced == sleeps
    assert all(w == pytest.approx(ports.JACK_BURST_GAP) for w in waits)
    # a message long after the burst goes straight out
    clock[0] += 1.0
    out.send_bytes([0x90, 60, 90])
    assert len(waits) == sleeps and rt.sent[-1] == [0x90, 60, 90]


# -- input: the MIDI thread stamps and queues, one consumer hands on ----------------------------


def test_messages_keep_their_arrival_stamps_and_order_however_late_they_are_consumed(world, monkeypatch):
    clock = [20.0]
    monkeypatch.setattr(midiports, "_now", lambda: clock[0])
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append((msg.note, t)))
    for note in (60, 61, 62):
        port._rt.callback(([0x90, note, 90], 0.0), None)
        clock[0] += 0.01
    clock[0] = 25.0  # the consumer comes round much later
    assert port.consume_pending() == 3
    port._rt.callback(([0x90, 63, 90], 0.0), None)
    assert port.consume_pending() == 1 and port.consume_pending() == 0
    assert got == [(60, 20.0), (61, pytest.approx(20.01)), (62, pytest.approx(20.02)), (63, 25.0)]


def test_a_filtered_flood_of_cc_and_sysex_never_reaches_the_callback(world):
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append(msg.type))
    port.ignore("control_change", "sysex", "active_sensing")
    for k in range(5000):
        port._rt.callback(([0xB0 | (k % 16), k % 128, 64], 0.0), None)
        port._rt.callback(([0xF0, 0x7D, k % 128, 0xF7], 0.0), None)
    port._rt.callback(([0x90, 60, 90], 0.0), None)
    assert port.consume_pending() == 10001
    assert got == ["note_on"] and port.bad_messages == 0 and port.callback_errors == 0


def test_ignore_filters_in_python_rtmidi_what_it_can(world):
    port = ports.open_input("Keys")
    port.ignore("pitchwheel", "sysex", "active_sensing")
    assert port._rt.ignored == {"sysex": True, "timing": False, "active_sense": True}  # --sync keeps clock
    port.ignore("clock")
    assert port._rt.ignored == {"sysex": True, "timing": True, "active_sense": True}
    got = []
    port.set_callback(lambda msg, t: got.append(msg.type))
    port._rt.callback(([0xF1, 0x10], 0.0), None)  # MIDI time code goes with clock in python-rtmidi
    port.consume_pending()
    assert got == []


def test_the_callback_runs_on_the_ports_one_consumer_thread(world, monkeypatch):
    import threading

    monkeypatch.setattr(midiports, "_start_consumer", True)
    port = ports.open_input("Keys")
    threads, done = [], threading.Event()

    def fn(msg, t):
        threads.append(threading.current_thread().name)
        if len(threads) == 3:
            done.set()

    port.set_callback(fn)
    for note in (60, 62, 64):
        port._rt.callback(([0x90, note, 90], 0.0), None)  # the MIDI thread: queued, nothing called
    assert done.wait(5)
    port.close()
    assert threads == ["srlive-midi-in"] * 3


def test_jack_input_queues_what_it_ignores_so_the_deltas_add_up(world, monkeypatch):
    """python-rtmidi's JACK input gives a queued message the time since the previous message it
    saw, ignored ones too: so on JACK nothing is ignored in python-rtmidi, and the stamps of the
    notes keep their true spacing across the active sensing between them."""
    monkeypatch.setattr(backends, "jack_running", lambda: True)
    port = ports.open_input("keys", backend="jack")
    port.ignore("active_sensing", "sysex", "clock")
    assert port._rt.ignored == {"sysex": False, "timing": False, "active_sense": False}
    got = []
    port.set_callback(lambda msg, t: got.append((msg.note, t)))
    port._rt.queue = [([0x90, 60, 90], 0.0), ([0xFE], 0.3), ([0xF0, 1, 0xF7], 0.3), ([0x90, 62, 90], 0.3)]
    drained = iter([50.0, 50.3, 50.6, 50.9])
    monkeypatch.setattr(midiports, "_now", lambda: next(drained))
    assert port.consume_pending() == 4
    assert got == [(60, 50.0), (62, pytest.approx(50.9))]


def test_the_consumer_hands_a_backlog_on_in_slices(world, monkeypatch):
    monkeypatch.setattr(midiports, "BATCH", 256)
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append(msg.note))
    for k in range(600):
        port._rt.callback(([0x90, k % 128, 90], 0.0), None)
    assert [port.consume_pending(limit=midiports.BATCH) for _ in range(4)] == [256, 256, 88, 0]
    assert got == [k % 128 for k in range(600)]  # in arrival order, nothing lost


# -- shutdown: every libjack client closed before the interpreter's teardown -----------------------


class _FakeJack:
    """JACK-Client as JackGraph uses it; its one watching client logs its close into ``log``."""

    class JackError(Exception):
        pass

    def __init__(self, log: list):
        log_ = log

        class Client:
            blocksize, samplerate = 256, 48000

            def __init__(self, name, no_start_server=False):
                self.name = name

            def get_ports(self, is_midi=False):
                return []

            def close(self):
                log_.append(f"jack.Client {self.name}")

        self.Client = Client

    def set_error_function(self, fn=None):
        pass

    set_info_function = set_error_function


def test_the_exit_hooks_close_inputs_then_outputs_then_the_jack_watcher(world, monkeypatch):
    # Left to Python's teardown, the watcher would be closed by jack.Client.__del__ while modules are
    # being cleared; every JACK client goes before that, the watcher last.
    graph_hooks = []
    graph = jack_backend.JackGraph(_FakeJack(world.deleted), at_exit=graph_hooks.append)
    monkeypatch.setattr(jack_backend, "_graph", graph)
    assert jack_backend.jack_period() == 256 / 48000  # the watcher opens before any port (input latency)
    world.sources, world.destinations = ["Keys"], ["Synth"]
    out = ports.open_output("Synth", backend="alsa")
    inp = ports.open_input("Keys", backend="alsa")
    ports.open_output("spare", backend="alsa")  # a port the caller forgot
    assert len(graph_hooks) == 1 and len(world.exit_hooks) == 1  # one hook each, however many ports
    for hook in reversed(graph_hooks + world.exit_hooks):  # atexit runs them last in, first out
        hook()
    assert world.deleted == ["MidiIn", "MidiOut", "MidiOut", "jack.Client srlive-watch"]
    assert out._closed and inp._closed and graph.client is None


def test_a_watcher_close_that_never_returns_does_not_hold_srlive(world, monkeypatch):
    """libjack's close can wait forever on the server: srlive's exit goes on after close_timeout,
    the client is kept (never closed twice), and the next watcher is a new client."""
    import threading

    release = threading.Event()
    jack = _FakeJack(world.deleted)

    class Hanging(jack.Client):
        def close(self):
            release.wait()  # the server never answers (until the test lets it go)
            super().close()

    jack.Client = Hanging
    graph = jack_backend.JackGraph(jack, at_exit=lambda fn: None, close_timeout=0.05)
    monkeypatch.setattr(jack_backend, "_graph", graph)
    jack_backend.jack_period()
    hung = graph.client
    ports.close_all()  # returns: the close is left waiting in its helper thread
    assert graph.client is None and graph.stuck == [hung] and world.deleted == []
    ports.close_all()  # nothing more to close
    release.set()


def test_closing_everything_twice_closes_each_client_once(world, monkeypatch):
    graph = jack_backend.JackGraph(_FakeJack(world.deleted), at_exit=lambda fn: None)
    monkeypatch.setattr(jack_backend, "_graph", graph)
    jack_backend.jack_period()  # opens the watcher
    world.sources = ["Keys"]
    inp = ports.open_input("Keys", backend="alsa")
    inp.close()
    ports.close_all()
    ports.close_all()
    assert world.deleted == ["MidiIn", "jack.Client srlive-watch"]


def test_on_jack_the_poll_asks_the_graph_watcher_not_rtmidi_whether_the_port_is_there(world, monkeypatch):
    """rtmidi's get_ports holds Python's lock through a JACK round trip (50 ms on a machine that
    idles between bars, long enough to hold back the scheduler's next note): on JACK the poll asks
    the JACK-Client watcher, which lets go of it; rtmidi only when the watcher can't tell."""
    monkeypatch.setattr(backends, "jack_running", lambda: True)
    monkeypatch.setattr(jack_backend, "find_own_port", lambda *a, **k: "srlive:recorder take")
    monkeypatch.setattr(jack_backend, "jack_connections", lambda name: 1)
    world.destinations = ["recorder:take"]
    out = ports.open_output("recorder take", backend="jack")
    rtmidi_asked = []
    listing = out._rt.get_ports
    out._rt.get_ports = lambda: (rtmidi_asked.append(1), listing())[1]
    listed = {"now": ["srlive:recorder take", "recorder:take"]}
    monkeypatch.setattr(jack_backend, "jack_midi_ports", lambda: listed["now"])
    assert out.connected() is True
    listed["now"] = ["srlive:recorder take"]
    assert out.connected() is False
    assert rtmidi_asked == []
    listed["now"] = None  # no watcher (JACK-Client missing): rtmidi's list it is
    assert out.connected() is True and rtmidi_asked == [1]
