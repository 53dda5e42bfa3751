"""A fake python-rtmidi for the port tests: the ports a backend shows, what was opened and sent."""

from __future__ import annotations


class FakeRtError(Exception):
    pass


class FakeWorld:
    """The ports a fake backend shows: readable sources and writable destinations."""

    def __init__(self, sources=(), destinations=()):
        self.sources = list(sources)
        self.destinations = list(destinations)
        self.created = []  # (class, api, client name)
        self.queued = []  # what a JACK input's queue holds: (bytes, delta)
        self.deleted = []  # class of each port deleted, in order (a fake JACK client adds its own)
        self.exit_hooks = []  # what srlive.ports registered to run at exit, in order


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
                fake.world.deleted.append(type(self).__name__)

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


def install(monkeypatch, world: FakeWorld) -> FakeRtmidi:
    """srlive.ports on a fake Linux with the ALSA sequencer and no JACK server, python-rtmidi
    replaced by a fake over ``world``, and no consumer threads (tests call consume_pending)."""
    from srlive.ports import backends, jack_backend, midiports

    fake = FakeRtmidi(world)
    monkeypatch.setattr(backends, "_rtmidi", fake)
    monkeypatch.setattr(backends, "_platform", "linux")
    monkeypatch.setattr(backends, "jack_running", lambda: False)
    monkeypatch.setattr(backends, "alsa_available", lambda: True)
    monkeypatch.setattr(jack_backend, "jack_midi_ports", lambda: [])
    monkeypatch.setattr(jack_backend, "find_own_port", lambda local, previous=None, before=None: f"srlive:{local}")
    monkeypatch.setattr(midiports, "_start_consumer", False)
    monkeypatch.setattr(midiports, "_at_exit", world.exit_hooks.append)
    monkeypatch.setattr(midiports, "_open_ports", [])
    monkeypatch.setattr(midiports, "_closes_at_exit", False)
    return fake
