"""srlive.ports against a fake python-rtmidi: backend choice, name matching, virtual ports,
input stamping, output errors and the disconnect/reconnect poll. Real ports: tests/ports/."""

from __future__ import annotations

import mido
import pytest

from srlive import ports
from srlive.errors import PortError


class FakeRtError(Exception):
    pass


class FakeWorld:
    """The ports a fake backend shows: readable sources and writable destinations."""

    def __init__(self, sources=(), destinations=()):
        self.sources = list(sources)
        self.destinations = list(destinations)
        self.created = []  # (class, api, client name)
        self.queued = []  # what a JACK input's queue holds: (bytes, delta)


class FakeRtmidi:
    API_LINUX_ALSA, API_MACOSX_CORE, API_UNIX_JACK, API_WINDOWS_MM = 2, 1, 3, 4
    RtMidiError = FakeRtError

    def __init__(self, world: FakeWorld, compiled=(1, 2, 3, 4)):
        self.world = world
        self.compiled = list(compiled)
        fake = self

        class _Base:
            def __init__(self, rtapi=None, name=None):
                fake.world.created.append((type(self).__name__, rtapi, name))
                self.opened = None
                self.virtual = None
                self.sent = []
                self.callback = None
                self.ignored = None
                self.deleted = False

            def open_port(self, index, name):
                self.opened = (self.get_ports()[index], name)

            def open_virtual_port(self, name):
                self.virtual = name

            def close_port(self):
                self.opened = None

            def delete(self):
                self.deleted = True

        class MidiIn(_Base):
            def __init__(self, rtapi=None, name=None, queue_size_limit=1024):
                super().__init__(rtapi, name)
                self.queue = list(fake.world.queued)

            def get_ports(self):
                return list(fake.world.sources)

            def get_message(self):
                return self.queue.pop(0) if self.queue else None

            def ignore_types(self, **kw):
                self.ignored = kw

            def set_callback(self, fn):
                self.callback = fn

            def cancel_callback(self):
                self.callback = None

        class MidiOut(_Base):
            def get_ports(self):
                return list(fake.world.destinations)

            def send_message(self, data):
                if self.opened is None and self.virtual is None:
                    raise FakeRtError("port gone")
                self.sent.append(list(data))

        self.MidiIn = MidiIn
        self.MidiOut = MidiOut

    def get_compiled_api(self):
        return self.compiled


@pytest.fixture
def world(monkeypatch):
    w = FakeWorld()
    monkeypatch.setattr(ports, "_rtmidi", FakeRtmidi(w))
    monkeypatch.setattr(ports, "_platform", "linux")
    monkeypatch.setattr(ports, "jack_running", lambda: False)
    monkeypatch.setattr(ports, "alsa_available", lambda: True)
    return w


# -- name matching (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, names, expected",
    [
        ("IAC Bus 1", ["IAC Driver Bus 1", "IAC Driver Bus 2"], "IAC Driver Bus 1"),
        ("iac driver bus 2", ["IAC Driver Bus 1", "IAC Driver Bus 2"], "IAC Driver Bus 2"),
        ("IAC Driver Bus 1", ["IAC Driver Bus 1", "iac driver bus 1"], "IAC Driver Bus 1"),
        ("performer phrase", ["system:playback_1", "performer:phrase"], "performer:phrase"),
        ("loopMIDI Port", ["Microsoft GS Wavetable Synth 0", "loopMIDI Port 1"], "loopMIDI Port 1"),
        ("Bus 1", ["IAC Driver Bus 1", "IAC Driver Bus 10"], "IAC Driver Bus 1"),
        ("Bus 3", ["IAC Driver Bus 1", "IAC Driver Bus 2"], None),
        ("", ["IAC Driver Bus 1"], None),
        ("srlive out", [], None),
    ],
)
def test_match_port(query, names, expected):
    assert ports.match_port(query, names) == expected


def test_match_port_refuses_an_ambiguous_name_listing_the_candidates():
    with pytest.raises(PortError) as err:
        ports.match_port("out", ["a:out", "b:out"])
    assert "a:out" in str(err.value) and "b:out" in str(err.value)
    assert "\n" not in str(err.value)


# -- backends ---------------------------------------------------------------------------------


def test_auto_prefers_a_running_jack_server(world, monkeypatch):
    monkeypatch.setattr(ports, "jack_running", lambda: True)
    assert ports.resolve_backend("auto") == "jack"


def test_auto_falls_back_to_alsa_without_jack(world):
    assert ports.resolve_backend() == "alsa"


def test_auto_with_nothing_on_linux_says_what_to_start(world, monkeypatch):
    monkeypatch.setattr(ports, "alsa_available", lambda: False)
    with pytest.raises(PortError) as err:
        ports.resolve_backend("auto")
    text = str(err.value)
    assert "JACK" in text and "snd-seq" in text and "\n" not in text


@pytest.mark.parametrize("platform, expected", [("darwin", "coremidi"), ("win32", "windows")])
def test_auto_on_macos_and_windows(world, monkeypatch, platform, expected):
    monkeypatch.setattr(ports, "_platform", platform)
    assert ports.resolve_backend("auto") == expected


def test_auto_on_macos_without_coremidi_points_at_the_iac_driver(world, monkeypatch):
    monkeypatch.setattr(ports, "_platform", "darwin")
    world_rt = ports._rtmidi
    world_rt.compiled = [3]
    with pytest.raises(PortError, match="IAC Driver"):
        ports.resolve_backend("auto")


def test_explicit_backend_that_is_not_there_is_refused_with_the_fix(world, monkeypatch):
    with pytest.raises(PortError, match="JACK server"):
        ports.resolve_backend("jack")
    with pytest.raises(PortError, match="only on macOS"):
        ports.resolve_backend("coremidi")
    with pytest.raises(PortError, match="choose one of auto, alsa, jack, coremidi, windows"):
        ports.resolve_backend("oss")


def test_ports_open_on_the_backend_asked_for_with_the_client_name(world, monkeypatch):
    monkeypatch.setattr(ports, "jack_running", lambda: True)
    monkeypatch.setattr(ports, "_find_own_port", lambda local, previous=None, before=None: f"srlive:{local}")
    monkeypatch.setattr(ports._jack(), "midi_ports", lambda: [])
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
    monkeypatch.setattr(ports, "_platform", "win32")
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
    monkeypatch.setattr(ports, "_now", lambda: next(stamps))
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append((msg, t)))
    port._rt.callback(([0x90, 60, 100], 0.0), None)
    port._rt.callback(([0xF0, 1, 2, 0xF7], 0.1), None)
    port._rt.callback(([0xF8], 0.1), None)
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
    assert port.bad_messages == 2
    assert port.callback_errors == 1 and isinstance(port.last_error, RuntimeError)


def test_closed_input_calls_nothing(world):
    port = ports.open_input("Keys")
    got = []
    port.set_callback(lambda msg, t: got.append(msg))
    callback = port._rt.callback
    port.close()
    callback(([0x90, 60, 1], 0.0), None)
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


def test_jack_input_is_drained_by_a_thread_and_never_calls_back_inside_jack(world, monkeypatch):
    import threading

    monkeypatch.setattr(ports, "jack_running", lambda: True)
    monkeypatch.setattr(ports, "_find_own_port", lambda local, previous=None, before=None: f"srlive:{local}")
    monkeypatch.setattr(ports._jack(), "midi_ports", lambda: [])
    queued = [([0x90, 60, 100], 0.0), ([0x80, 60, 0], 0.25), ([0xF8], 0.01)]
    got, done = [], threading.Event()

    def fn(msg, t):
        got.append((msg, t))
        if len(got) == 3:
            done.set()

    drained = iter([10.003, 10.2501, 10.2602])  # arrivals 10.0, 10.25, 10.26, drained a bit later
    monkeypatch.setattr(ports, "_now", lambda: next(drained))
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
    assert got == ["note_on", "clock"]
    assert port.bad_messages == 1  # the bare running-status pair
    with pytest.raises(ValueError, match="pitchbend"):
        port.ignore("pitchbend")


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
