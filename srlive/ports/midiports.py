"""Port objects: open (or make) a port by name, take input in, send output out, notice a peer
that went away or came back.

* JACK. python-rtmidi opens one JACK client per port object, all named ``client_name``
  ("srlive"); JACK numbers the second one "srlive-01". Each port carries the name given.
* Input (python-rtmidi's midifilter example is the model). The backend's callback only stamps each
  message on arrival and puts (bytes, time) on a queue; ONE consumer thread per input port takes
  what is queued in batches and calls the callback for each message, in arrival order: all of the
  engine's work (clock, controls, capture, recording, thru) runs there, never in the MIDI thread.
  Under JACK no Python runs inside JACK's process cycle: python-rtmidi queues each message with its
  JACK time, and the consumer drains that queue and stamps from JACK's times (MidiInput says why).
  ``ignore(types)`` drops message types before Python where the backend can and keeps time (python-rtmidi's
  ``ignore_types``: SysEx, clock and MIDI time code, active sensing; not JACK) and by status byte before
  parsing otherwise. Bytes that are not one valid MIDI message are dropped and counted
  (``bad_messages``); an exception in the callback is counted (``callback_errors``) and kept in
  ``last_error``, never raised into the consumer.
* Disconnection. ``poll()`` (call it about once a bar from a non-real-time thread) checks whether
  the other end is still there, reconnects a named port that came back, and returns ONE line the
  first time the state changes ("went away" / "is back"), else None. ``connected()`` returns
  True/False, or None where the backend can't tell (a virtual port outside JACK). Sending to a
  port whose peer is gone is harmless: send errors are counted (``send_errors``), never raised.
* Shutdown. ``close_all()`` closes every port still open, inputs first (their consumer threads stop
  reading), then outputs, then the JACK watcher (jack_backend): each libjack client goes while the
  interpreter is whole. It runs as an exit hook from the first port opened on; a caller that knows
  it is done (the CLI, after its own closes) calls it too.
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
from typing import Callable, Optional

import mido

from srlive.errors import PortError
from srlive.ports import backends, jack_backend
from srlive.ports.backends import CAN_MAKE_VIRTUAL, HINTS, LABELS, match_port, port_list, resolve_backend
from srlive.ports.jack_backend import JACK_DRAIN, ArrivalClock, BurstPacer

UNLINKED_GRACE = 0.25  # seconds a named port may look unlinked before it counts as lost
#: messages python-rtmidi may hold for the consumer (JACK input): a few seconds of a 10,000-a-second
#: flood, so a consumer starved that long by a busy machine catches up rather than losing messages
INPUT_QUEUE = 32768
DRAIN_EVERY = 0.00025  # seconds between looks at the JACK input queue when it is empty
IDLE_WAIT = 0.05  # seconds the consumer waits for input before it looks whether the port closed
#: the most messages the consumer hands on in one go before it yields (a flood's backlog is taken
#: in slices, so the engine's thread gets the interpreter between them and closes its window on time)
BATCH = 256

# Injectable for tests: the clock that stamps arrivals, and whether ports start their consumer
# thread (tests without threads call MidiInput.consume_pending themselves).
_now = time.perf_counter
_start_consumer = True
_at_exit = atexit.register

_open_ports: list["_Port"] = []  # every port not closed yet, in the order opened
_closes_at_exit = False

Callback = Callable[[mido.Message, float], None]


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _new(kind: str, backend: str, client_name: str):
    rt = backends.rtmidi_module()
    api = getattr(rt, backends.API_NAMES[backend])
    try:
        if kind == "in":
            return rt.MidiIn(rtapi=api, name=client_name, queue_size_limit=INPUT_QUEUE)
        return rt.MidiOut(rtapi=api, name=client_name)
    except rt.RtMidiError as err:
        raise PortError(f"can't open {LABELS[backend]}: {_one_line(err)}; {HINTS[backend]}") from None


def _delete(rt) -> None:
    try:
        rt.close_port()
    except Exception:  # noqa: BLE001 - closing must never fail the caller
        pass
    try:
        rt.delete()
    except Exception:  # noqa: BLE001
        pass


def list_ports(backend: str = "auto") -> tuple[list[str], list[str]]:
    """(inputs srlive can read from, outputs srlive can send to) on the backend."""
    backend = resolve_backend(backend)
    lists = []
    for kind in ("in", "out"):
        rt = _new(kind, backend, "srlive-list")
        try:
            lists.append(list(rt.get_ports()))
        finally:
            _delete(rt)
    return lists[0], lists[1]


class _Port:
    kind = "port"

    def __init__(self, rt, backend: str, name: str, target: Optional[str], local: str, full: Optional[str]):
        self._rt = rt
        self.backend = backend
        self.name = name  # the port's name as shown: the matched port, or the virtual port made
        self.virtual = target is None
        self._target = target
        self._local = local
        self.full_name = full  # JACK: our own port's "client:port" name, when known
        self._lock = threading.Lock()
        self._closed = False
        self._state: Optional[bool] = True if target is not None else None
        self._was_connected = target is not None
        self._unlinked_since: Optional[float] = None
        _track(self)

    # -- connection state ----------------------------------------------------------------

    def _peer_count(self) -> Optional[int]:
        if self.backend != "jack" or not self.full_name:
            return None
        return jack_backend.jack_connections(self.full_name)

    def _target_listed(self) -> bool:
        """Is the named port there? On JACK asked of the graph watcher (JACK-Client): rtmidi's
        get_ports holds Python's lock through a server round trip, which on a machine that idles
        between bars took 50 ms, long enough to hold back the scheduler's next note."""
        if self.backend == "jack":
            listed = jack_backend.jack_midi_ports()
            if listed is not None:
                return self._target in listed
        try:
            return self._target in self._rt.get_ports()
        except Exception:  # noqa: BLE001
            return False

    def connected(self) -> Optional[bool]:
        """Is anything on the other end? None when the backend can't tell."""
        if self._closed:
            return False
        if self.virtual:
            count = self._peer_count()
            return None if count is None else count > 0
        present = self._target_listed()
        if not present:
            return False
        count = self._peer_count()
        if count is None or count > 0:
            self._unlinked_since = None
            return True
        # JACK shows a new connection to other clients only from its next cycle on, so a
        # missing link counts once it has lasted UNLINKED_GRACE (a peer restarted between polls).
        now = time.monotonic()
        if self._unlinked_since is None:
            self._unlinked_since = now
        return now - self._unlinked_since < UNLINKED_GRACE

    def _reconnect(self) -> bool:
        try:
            ports = list(self._rt.get_ports())
            if self._target not in ports:
                return False
            with self._lock:
                self._rt.close_port()
                self._rt.open_port(ports.index(self._target), self._local)
            if self.backend == "jack":
                self.full_name = jack_backend.find_own_port(self._local, self.full_name)
            self._unlinked_since = None
            return True
        except Exception:  # noqa: BLE001 - try again next poll
            return False

    def poll(self) -> Optional[str]:
        """Check the other end; reconnect a named port that came back. One line on a change."""
        if self._closed:
            return None
        state = self.connected()
        if not self.virtual and (state is False or self._state is False):
            # Lost (or known lost and the port is listed again): link anew when the port is there.
            state = self._reconnect()
        previous, self._state = self._state, state
        if state is None or state == previous:
            return None
        if state:
            first = not self._was_connected  # a virtual port getting its first peer is the normal start
            self._was_connected = True
            return None if first else self._back_message()
        if not self._was_connected:
            return None
        return self._lost_message()

    def _lost_message(self) -> str:
        raise NotImplementedError

    def _back_message(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            _delete(self._rt)
        if self in _open_ports:
            _open_ports.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        how = "virtual" if self.virtual else "connected to"
        return f"<{type(self).__name__} {how} '{self.name}' on {self.backend}>"


# Status byte (channel bits cleared) of each mido message type, for MidiInput.ignore().
_STATUS_OF = {
    "note_off": 0x80, "note_on": 0x90, "polytouch": 0xA0, "control_change": 0xB0, "program_change": 0xC0,
    "aftertouch": 0xD0, "pitchwheel": 0xE0, "sysex": 0xF0, "quarter_frame": 0xF1, "songpos": 0xF2,
    "song_select": 0xF3, "tune_request": 0xF6, "clock": 0xF8, "start": 0xFA, "continue": 0xFB, "stop": 0xFC,
    "active_sensing": 0xFE, "reset": 0xFF,
}


class MidiInput(_Port):
    """An input port. ``set_callback(fn)``: fn(msg, t) for every message, t its arrival on perf_counter,
    called from the port's one consumer thread.

    ALSA, CoreMIDI, Windows: python-rtmidi calls back from its own thread; that callback takes t
    first thing, queues (bytes, t) and returns. JACK: no Python runs inside JACK's process cycle. A
    callback there (~20 µs a message, more when it waits for the GIL) can outlast the 1.3 ms period
    with a burst, and in JACK's default asynchronous mode the sender then refills the buffer being
    read: repeated and lost messages. So python-rtmidi queues each message in C++ with its JACK
    time, and the consumer drains that queue every 0.25 ms; t = origin + the message's JACK time,
    the origin being the least (drain time − JACK time) seen so far: exact spacing between
    messages, within a drain of true arrival."""

    kind = "input"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fn: Optional[Callback] = None
        self.bad_messages = 0
        self.callback_errors = 0
        self.last_error: Optional[BaseException] = None
        self._dropped_status: frozenset[int] = frozenset()
        self._channel: Optional[int] = None  # only_channel: other channels' messages dropped unparsed
        self._rt.ignore_types(sysex=False, timing=False, active_sense=False)
        self._arrived: queue.SimpleQueue[tuple[list[int], float]] = queue.SimpleQueue()
        self._consume_lock = threading.Lock()  # one batch at a time, in arrival order
        self.arrival = ArrivalClock() if self.backend == "jack" else None
        if self.arrival is None:
            self._rt.set_callback(self._on_event)
        self._consumer: Optional[threading.Thread] = None
        if _start_consumer:
            self._consumer = threading.Thread(target=self._consume, name="srlive-midi-in", daemon=True)
            self._consumer.start()

    def set_callback(self, fn: Optional[Callback]) -> None:
        """fn(msg, t) for every message; t = perf_counter() of its arrival."""
        self._fn = fn

    def ignore(self, *types: str) -> None:
        """Drop these mido message types ("pitchwheel", "active_sensing", "sysex", "clock", ...): in the
        backend where python-rtmidi can and keeps time (SysEx; clock, which takes MIDI time code with
        it; active sensing: not on JACK, see below), and by status byte before anything is parsed for
        all of them: a flood of them then costs next to nothing."""
        unknown = [t for t in types if t not in _STATUS_OF]
        if unknown:
            raise ValueError(f"unknown message types {unknown}; known: {sorted(_STATUS_OF)}")
        dropped = self._dropped_status | {_STATUS_OF[t] for t in types}
        if 0xF8 in dropped:
            dropped |= {_STATUS_OF["quarter_frame"]}  # python-rtmidi's "timing" is both
        self._dropped_status = frozenset(dropped)
        if self.arrival is None:
            self._rt.ignore_types(sysex=0xF0 in dropped, timing=0xF8 in dropped, active_sense=0xFE in dropped)
        # JACK: RtMidi's ignore_types would lose time. Its JACK input gives each queued message the
        # time since the previous message *seen*, ignored ones included, so every ignored message
        # took its delta with it and ArrivalClock's sum fell behind: stamps ran early (−50 ms after
        # a second of flood with SysEx and active sensing; a keyboard's active sensing alone does it
        # slowly). So on JACK every message is queued and the status check below drops it unparsed.

    def only_channel(self, channel: Optional[int]) -> None:
        """Drop channel messages (notes, controllers, ...) of every channel but ``channel`` (0-15) by
        their status byte, before anything is parsed (``--in-channel``); None keeps every channel.
        System messages (clock, transport) are not channel messages and stay."""
        self._channel = channel

    # -- the backend's side: stamp and queue -----------------------------------------------

    def _on_event(self, event, _data=None) -> None:
        if not self._closed:
            self._arrived.put((event[0], _now()))

    # -- the consumer's side ---------------------------------------------------------------

    def _take_jack_queue(self, limit: int) -> list[tuple[list[int], float]]:
        batch = []
        with self._lock:
            while not self._closed and len(batch) < limit:
                event = self._rt.get_message()
                if event is None:
                    break
                batch.append((event[0], self.arrival(event[1], _now())))
        return batch

    def _take_arrived(self, wait: float, limit: int) -> list[tuple[list[int], float]]:
        try:
            batch = [self._arrived.get(timeout=wait)] if wait > 0 else [self._arrived.get_nowait()]
        except queue.Empty:
            return []
        while len(batch) < limit:
            try:
                batch.append(self._arrived.get_nowait())
            except queue.Empty:
                return batch
        return batch

    def consume_pending(self, wait: float = 0.0, limit: int = 1 << 30) -> int:
        """Hand what is queued so far (at most ``limit`` messages) to the callback, in arrival order
        (the consumer thread's one step; tests call it directly). ``wait``: seconds to wait for a
        first message."""
        with self._consume_lock:
            if self.arrival is not None:
                batch = self._take_jack_queue(limit)
            else:
                batch = self._take_arrived(wait, limit)
            for data, t in batch:
                self._deliver(data, t)
        return len(batch)

    def _consume(self) -> None:
        jack = self.arrival is not None
        while not self._closed:
            try:
                n = self.consume_pending(0.0 if jack else IDLE_WAIT, BATCH)
                if n >= BATCH:
                    time.sleep(0)  # a backlog: let the engine's thread in before the next slice
                elif not n and jack:
                    time.sleep(DRAIN_EVERY)
            except Exception as err:  # noqa: BLE001 - the input must outlive any one message
                self.callback_errors += 1
                self.last_error = err
                time.sleep(DRAIN_EVERY)

    def _deliver(self, data, t: float) -> None:
        fn = self._fn
        if fn is None or not data or self._closed:
            return
        status = data[0]
        if status < 0x80:  # data bytes without a status byte (a broken running status)
            self.bad_messages += 1
            return
        if (status if status >= 0xF0 else status & 0xF0) in self._dropped_status:
            return
        if self._channel is not None and status < 0xF0 and status & 0x0F != self._channel:
            return
        try:
            msg = mido.Message.from_bytes(data)
        except (ValueError, TypeError, IndexError):
            self.bad_messages += 1
            return
        try:
            fn(msg, t)
        except Exception as err:  # noqa: BLE001 - never raise into the consumer
            self.callback_errors += 1
            self.last_error = err

    def _lost_message(self) -> str:
        if self.virtual:
            return f"nothing is playing into input '{self.name}' any more; waiting for it"
        return f"input '{self.name}' went away; waiting for it to come back"

    def _back_message(self) -> str:
        return f"input '{self.name}' is back; listening again"

    def close(self) -> None:
        self._fn = None
        if not self._closed and self.arrival is None:
            try:
                self._rt.cancel_callback()
            except Exception:  # noqa: BLE001
                pass
        super().close()
        if self._consumer is not None and self._consumer is not threading.current_thread():
            self._consumer.join(timeout=1.0)


class MidiOutput(_Port):
    kind = "output"

    def __init__(self, *args, now=time.perf_counter, sleep=time.sleep, **kwargs):
        super().__init__(*args, **kwargs)
        self.send_errors = 0
        self._sleep = sleep
        self._pacer = BurstPacer(now, sleep) if self.backend == "jack" else None

    @property
    def paced(self) -> int:
        """Messages that waited for a fresh JACK cycle (jack_backend.JACK_BURST)."""
        return self._pacer.paced if self._pacer is not None else 0

    def send(self, msg: mido.Message) -> None:
        """Send one message now (its bytes straight through python-rtmidi)."""
        self.send_bytes(msg.bytes())

    def send_bytes(self, data) -> None:
        try:
            with self._lock:
                if not self._closed:
                    if self._pacer is not None:
                        self._pacer.pace()
                    self._rt.send_message(data)
        except Exception:  # noqa: BLE001 - a vanished peer must not stop the music
            self.send_errors += 1

    def close(self) -> None:
        if self.backend == "jack" and not self._closed:
            self._sleep(JACK_DRAIN)
        super().close()

    def all_notes_off(self, channels=range(16)) -> None:
        """CC 123 (All Notes Off) on every channel given."""
        for ch in channels:
            self.send_bytes([0xB0 | (ch & 0x0F), 123, 0])

    def _lost_message(self) -> str:
        if self.virtual:
            return f"nothing is listening on output '{self.name}' any more; keeping time"
        return f"output '{self.name}' went away; keeping time and playing again when it comes back"

    def _back_message(self) -> str:
        if self.virtual:
            return f"output '{self.name}' has a listener again; playing"
        return f"output '{self.name}' is back; playing again"


def _track(port: _Port) -> None:
    global _closes_at_exit
    _open_ports.append(port)
    if not _closes_at_exit:
        # registered after the JACK watcher's own hook, so it runs before it (atexit is last in,
        # first out): the ports go first, the watcher last, all before the interpreter's teardown
        _at_exit(close_all)
        _closes_at_exit = True


def close_all() -> None:
    """Close every port still open (inputs, then outputs), then the JACK watcher. Idempotent."""
    for port in sorted(_open_ports, key=lambda p: p.kind != "input"):
        port.close()
    jack_backend.forget_jack_server()


def _open(kind: str, name: str, backend: str, client_name: str):
    backend = resolve_backend(backend)
    if not name or not name.strip():
        raise PortError(f"empty MIDI {kind} port name: give --{'in' if kind == 'input' else 'out'} NAME")
    rt = _new("in" if kind == "input" else "out", backend, client_name)
    try:
        ports = list(rt.get_ports())
        target = match_port(name, ports)
        local = name.strip() or "srlive"
        before = set(jack_backend.jack_midi_ports() or ()) if backend == "jack" else None
        if target is None:
            if not CAN_MAKE_VIRTUAL[backend]:
                raise PortError(
                    f"no MIDI {kind} named '{name}' on {LABELS[backend]} (ports there: {port_list(ports)}); "
                    f"{HINTS[backend]}"
                )
            rt.open_virtual_port(local)
            shown = local
        else:
            rt.open_port(ports.index(target), local)
            shown = target
        full = jack_backend.find_own_port(local, None, before) if backend == "jack" else None
    except PortError:
        _delete(rt)
        raise
    except backends.rtmidi_module().RtMidiError as err:
        _delete(rt)
        raise PortError(f"can't open MIDI {kind} '{name}' on {LABELS[backend]}: {_one_line(err)}") from None
    cls = MidiInput if kind == "input" else MidiOutput
    return cls(rt, backend, shown, target, local, full)


def open_input(name: str, backend: str = "auto", client_name: str = "srlive") -> MidiInput:
    """Open (or make) the input port ``name``; see srlive.ports.backends for matching."""
    return _open("input", name, backend, client_name)


def open_output(name: str = "srlive out", backend: str = "auto", client_name: str = "srlive") -> MidiOutput:
    """Open (or make) the output port ``name``; see srlive.ports.backends for matching."""
    return _open("output", name, backend, client_name)
