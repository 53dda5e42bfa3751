"""MIDI ports: pick a backend, find or make a port by name, stamp input, send output fast.

The engine uses exactly this API::

    inputs, outputs = list_ports(backend="auto")
    backend = resolve_backend("auto")           # "jack" | "alsa" | "coremidi" | "windows"
    port_in = open_input("IAC Bus 1")           # MidiInput
    port_in.set_callback(fn)                     # fn(msg: mido.Message, t: float), t = perf_counter()
    port_out = open_output("srlive out")        # MidiOutput
    port_out.send(mido.Message("note_on", note=60, velocity=90))
    message = port_out.poll()                   # once a bar, off the hot path: str | None
    port_in.close(); port_out.close()

Choices written down here (DESIGN.md is silent on them):

* Backends. ``auto`` takes JACK when a JACK server is running (probed without starting one),
  else the ALSA sequencer when /dev/snd/seq exists, else CoreMIDI on macOS, the Windows MIDI
  service on Windows. When none works, the PortError says what to start.
* Names. A name is matched exactly, then case-insensitively, then by words: every word of the
  name (letters and digits) must be a word of the port's name, so "IAC Bus 1" finds
  "IAC Driver Bus 1" and "performer phrase" finds JACK's "performer:phrase". Two or more word
  matches are refused as ambiguous, listing them. No match: a virtual port of that name is made
  where the backend can (all but Windows); else a PortError lists the ports there are.
* JACK. python-rtmidi opens one JACK client per port object, all named ``client_name``
  ("srlive"); JACK numbers the second one "srlive-01". Each port carries the name given.
* Input. Nothing is filtered at the port: SysEx, clock and active sensing pass (``--sync`` needs
  clock); the engine filters. Bytes that are not one valid MIDI message are dropped and counted
  (``bad_messages``); an exception in the callback is counted (``callback_errors``) and kept in
  ``last_error``, never raised into the MIDI thread. Under JACK no Python runs inside JACK's
  process cycle: a thread drains python-rtmidi's queue and stamps from JACK's own times
  (MidiInput says why).
* Disconnection. ``poll()`` (call it about once a bar from a non-real-time thread) checks whether
  the other end is still there, reconnects a named port that came back, and returns ONE line the
  first time the state changes ("went away" / "is back"), else None. ``connected()`` returns
  True/False, or None where the backend can't tell (a virtual port outside JACK). Sending to a
  port whose peer is gone is harmless: send errors are counted (``send_errors``), never raised.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import sys
import threading
import time
from typing import Callable, Optional

import mido
import rtmidi

from srlive.contract import BACKENDS
from srlive.errors import PortError

LABELS = {"jack": "JACK", "alsa": "the ALSA sequencer", "coremidi": "CoreMIDI", "windows": "Windows MIDI"}
_API_NAMES = {
    "alsa": "API_LINUX_ALSA",
    "jack": "API_UNIX_JACK",
    "coremidi": "API_MACOSX_CORE",
    "windows": "API_WINDOWS_MM",
}
CAN_MAKE_VIRTUAL = {"alsa": True, "jack": True, "coremidi": True, "windows": False}
# What to start when a backend is wanted but not there (one clause each, joined into one line).
HINTS = {
    "jack": "start a JACK server (qjackctl, or `jackd -d alsa`; headless: `jackd --no-realtime -d dummy`)",
    "alsa": "load the ALSA sequencer (`sudo modprobe snd-seq`)",
    "coremidi": "enable the IAC Driver in Audio MIDI Setup (Window > Show MIDI Studio > IAC Driver > Device is online)",
    "windows": "create the port in loopMIDI (https://www.tobias-erichsen.de/software/loopmidi.html) and name it here",
}
ALSA_SEQ = "/dev/snd/seq"
UNLINKED_GRACE = 0.25  # seconds a named port may look unlinked before it counts as lost
INPUT_QUEUE = 8192  # messages python-rtmidi may hold for the draining thread (JACK input)
DRAIN_EVERY = 0.00025  # seconds between looks at the JACK input queue when it is empty

# Injectable for tests: the rtmidi module, the platform, and the clock that stamps arrivals.
_rtmidi = rtmidi
_platform = sys.platform
_now = time.perf_counter


# --------------------------------------------------------------------------------------------
# JACK probing through libjack (no server is ever started, its chatter is silenced)
# --------------------------------------------------------------------------------------------

_JACK_NO_START_SERVER = 0x01
_JACK_PORT_IS_INPUT = 0x1
_JACK_PORT_IS_OUTPUT = 0x2
_ERRFUNC = ctypes.CFUNCTYPE(None, ctypes.c_char_p)
_quiet = _ERRFUNC(lambda _msg: None)


class _LibJack:
    """A thin, optional ctypes handle on libjack: probe for a server, read connections."""

    def __init__(self) -> None:
        self.lib = None
        self.client = None
        self.lock = threading.Lock()
        path = ctypes.util.find_library("jack") or "libjack.so.0"
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            try:
                lib = ctypes.CDLL("libjack.so.0")
            except OSError:
                return
        lib.jack_client_open.restype = ctypes.c_void_p
        lib.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.jack_client_close.argtypes = [ctypes.c_void_p]
        lib.jack_get_ports.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.jack_get_ports.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong]
        lib.jack_port_by_name.restype = ctypes.c_void_p
        lib.jack_port_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.jack_port_get_all_connections.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.jack_port_get_all_connections.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.jack_free.argtypes = [ctypes.c_void_p]
        self.lib = lib

    def _silenced_open(self, name: bytes):
        lib = self.lib
        err = ctypes.c_void_p.in_dll(lib, "jack_error_callback")
        info = ctypes.c_void_p.in_dll(lib, "jack_info_callback")
        saved = (err.value, info.value)
        quiet = ctypes.cast(_quiet, ctypes.c_void_p).value
        err.value, info.value = quiet, quiet
        try:
            status = ctypes.c_int(0)
            return lib.jack_client_open(name, _JACK_NO_START_SERVER, ctypes.byref(status))
        finally:
            err.value, info.value = saved

    def running(self) -> bool:
        if self.lib is None:
            return False
        with self.lock:
            if self.client:
                return True
            client = self._silenced_open(b"srlive-probe")
            if not client:
                return False
            self.lib.jack_client_close(client)
            return True

    def _monitor(self):
        if self.lib is None:
            return None
        if not self.client:
            self.client = self._silenced_open(b"srlive-watch")
        return self.client

    def _strings(self, array) -> list[str]:
        out: list[str] = []
        if not array:
            return out
        i = 0
        while array[i] is not None:
            out.append(array[i].decode("utf-8", "replace"))
            i += 1
        self.lib.jack_free(ctypes.cast(array, ctypes.c_void_p))
        return out

    def close(self) -> None:
        """Drop the watching client (before stopping a server we started, to keep libjack quiet)."""
        with self.lock:
            if self.lib is not None and self.client:
                self.lib.jack_client_close(self.client)
            self.client = None

    def midi_ports(self) -> Optional[list[str]]:
        """Every MIDI port's full name, or None when libjack or the server isn't there."""
        with self.lock:
            client = self._monitor()
            if not client:
                return None
            return self._strings(self.lib.jack_get_ports(client, None, b"midi", 0))

    def connections(self, full_name: str) -> Optional[int]:
        """How many connections the port has, or None when that can't be told."""
        with self.lock:
            client = self._monitor()
            if not client:
                return None
            port = self.lib.jack_port_by_name(client, full_name.encode())
            if not port:
                return None
            return len(self._strings(self.lib.jack_port_get_all_connections(client, port)))


_libjack: Optional[_LibJack] = None


def _jack() -> _LibJack:
    global _libjack
    if _libjack is None:
        _libjack = _LibJack()
    return _libjack


def jack_running() -> bool:
    """True when a JACK server answers (never starts one)."""
    return _jack().running()


def jack_connections(full_name: str) -> Optional[int]:
    """How many connections a JACK port ("client:port") has; None when that can't be told."""
    return _jack().connections(full_name)


def alsa_available() -> bool:
    return os.path.exists(ALSA_SEQ)


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------


def _compiled(backend: str) -> bool:
    api = getattr(_rtmidi, _API_NAMES[backend], None)
    return api is not None and api in _rtmidi.get_compiled_api()


def _unavailable(backend: str) -> Optional[str]:
    """None when the backend works here, else why not and what to do (one line)."""
    if backend == "coremidi" and not _platform.startswith("darwin"):
        return "CoreMIDI exists only on macOS; use --backend auto"
    if backend == "windows" and not _platform.startswith("win"):
        return "Windows MIDI exists only on Windows; use --backend auto"
    if not _compiled(backend):
        return f"this python-rtmidi build has no {LABELS[backend]} support; use --backend auto"
    if backend == "jack" and not jack_running():
        return f"no JACK server is running; {HINTS['jack']}, or use --backend auto"
    if backend == "alsa" and not alsa_available():
        return f"the ALSA sequencer is not loaded ({ALSA_SEQ} is missing); {HINTS['alsa']}, or use --backend auto"
    return None


def _platform_order() -> list[str]:
    if _platform.startswith("darwin"):
        return ["jack", "coremidi"]
    if _platform.startswith("win"):
        return ["windows"]
    return ["jack", "alsa"]


def resolve_backend(name: str = "auto") -> str:
    """The backend actually used: ``name`` itself when it works here, or auto's pick.

    Raises PortError (one line) naming what to start when nothing works."""
    name = (name or "auto").strip().lower()
    if name not in BACKENDS:
        raise PortError(f"unknown MIDI backend '{name}': choose one of {', '.join(BACKENDS)}")
    if name != "auto":
        why = _unavailable(name)
        if why:
            raise PortError(f"can't use {LABELS[name]}: {why}")
        return name
    order = _platform_order()
    for backend in order:
        if _unavailable(backend) is None:
            return backend
    if _platform.startswith("darwin"):
        raise PortError(f"no MIDI system found: {HINTS['coremidi']}")
    if _platform.startswith("win"):
        raise PortError(f"no MIDI system found: {HINTS['windows']}")
    raise PortError(f"no MIDI system found: {HINTS['jack']}, or {HINTS['alsa']}")


def describe_backend(backend: str) -> str:
    """A short phrase for the status line: "JACK", "the ALSA sequencer", ..."""
    return LABELS.get(backend, backend)


def _new(kind: str, backend: str, client_name: str):
    api = getattr(_rtmidi, _API_NAMES[backend])
    try:
        if kind == "in":
            return _rtmidi.MidiIn(rtapi=api, name=client_name, queue_size_limit=INPUT_QUEUE)
        return _rtmidi.MidiOut(rtapi=api, name=client_name)
    except _rtmidi.RtMidiError as err:
        raise PortError(f"can't open {LABELS[backend]}: {_one_line(err)}; {HINTS[backend]}") from None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


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


# --------------------------------------------------------------------------------------------
# Name matching (pure)
# --------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def match_port(query: str, names: list[str]) -> Optional[str]:
    """The port ``query`` means among ``names``: exact, then case-insensitive, then all-words.

    None when nothing matches; PortError when several ports match by words."""
    if query in names:
        return query
    folded = [n for n in names if n.lower() == query.lower()]
    if len(folded) == 1:
        return folded[0]
    wanted = _words(query)
    if not wanted:
        return None
    hits = []
    for name in names:
        have = _words(name)
        if all(w in have for w in wanted):
            hits.append(name)
    if len(hits) > 1:
        # A name that holds the query's words in the same order, contiguously, wins ("Bus 1").
        contiguous = [h for h in hits if " ".join(wanted) in " ".join(_words(h))]
        if len(contiguous) == 1:
            return contiguous[0]
        raise PortError(
            f"'{query}' matches several ports ({'; '.join(hits)}): give more of the name"
        )
    return hits[0] if hits else None


def _port_list(names: list[str]) -> str:
    return "; ".join(f"'{n}'" for n in names) if names else "none"


# --------------------------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------------------------


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

    # -- connection state ----------------------------------------------------------------

    def _peer_count(self) -> Optional[int]:
        if self.backend != "jack" or not self.full_name:
            return None
        return _jack().connections(self.full_name)

    def connected(self) -> Optional[bool]:
        """Is anything on the other end? None when the backend can't tell."""
        if self._closed:
            return False
        if self.virtual:
            count = self._peer_count()
            return None if count is None else count > 0
        try:
            present = self._target in self._rt.get_ports()
        except Exception:  # noqa: BLE001
            return False
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
                self.full_name = _find_own_port(self._local, self.full_name)
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


class ArrivalClock:
    """Arrival times on perf_counter from JACK times: ``clock(delta, drained)`` for a message
    drained at ``drained`` that came ``delta`` s of JACK time after the one before it (python-rtmidi's
    delta). The origin is the least (drained − JACK time) seen: a message can't be drained before
    it arrived, so the quickest drain bounds the origin best; spacing stays JACK's own."""

    def __init__(self):
        self.jack_time = 0.0
        self.origin: Optional[float] = None

    def __call__(self, delta: float, drained: float) -> float:
        self.jack_time += delta
        origin = drained - self.jack_time
        if self.origin is None or origin < self.origin:
            self.origin = origin
        return self.origin + self.jack_time


class MidiInput(_Port):
    """An input port. ``set_callback(fn)``: fn(msg, t) for every message, t on perf_counter.

    ALSA, CoreMIDI, Windows: python-rtmidi calls back from its own thread; t is taken first thing.
    JACK: no Python runs inside JACK's process cycle. A callback there (~20 µs a message, more
    when it waits for the GIL) can outlast the 1.3 ms period with a burst, and in JACK's default
    asynchronous mode the sender then refills the buffer being read: repeated and lost messages.
    So python-rtmidi queues each message in C++ with its JACK time, and a thread drains the queue
    every 0.25 ms; t = origin + the message's JACK time, the origin being the least (drain time −
    JACK time) seen so far: exact spacing between messages, within a drain of true arrival."""

    kind = "input"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fn: Optional[Callable[[mido.Message, float], None]] = None
        self.bad_messages = 0
        self.callback_errors = 0
        self.last_error: Optional[BaseException] = None
        self._dropped_status: frozenset[int] = frozenset()
        self._rt.ignore_types(sysex=False, timing=False, active_sense=False)
        self._drainer: Optional[threading.Thread] = None
        if self.backend == "jack":
            self.arrival = ArrivalClock()
            self._drainer = threading.Thread(target=self._drain, name="srlive-midi-in", daemon=True)
            self._drainer.start()
        else:
            self._rt.set_callback(self._on_event)

    def set_callback(self, fn: Optional[Callable[[mido.Message, float], None]]) -> None:
        """fn(msg, t) for every message; t = perf_counter() of its arrival."""
        self._fn = fn

    def ignore(self, *types: str) -> None:
        """Drop these mido message types ("pitchwheel", "aftertouch", "active_sensing", ...) by
        their status byte before anything is parsed: a flood of them then costs next to nothing."""
        unknown = [t for t in types if t not in _STATUS_OF]
        if unknown:
            raise ValueError(f"unknown message types {unknown}; known: {sorted(_STATUS_OF)}")
        self._dropped_status = frozenset(self._dropped_status | {_STATUS_OF[t] for t in types})

    def _on_event(self, event, _data=None) -> None:
        self._deliver(event[0], _now())

    def _drain(self) -> None:
        while not self._closed:
            try:
                with self._lock:
                    event = None if self._closed else self._rt.get_message()
                if event is None:
                    time.sleep(DRAIN_EVERY)
                    continue
                self._deliver(event[0], self.arrival(event[1], _now()))
            except Exception as err:  # noqa: BLE001 - the input must outlive any one message
                self.callback_errors += 1
                self.last_error = err
                time.sleep(DRAIN_EVERY)

    def _deliver(self, data, t: float) -> None:
        fn = self._fn
        if fn is None or not data:
            return
        status = data[0]
        if status < 0x80:  # data bytes without a status byte (a broken running status)
            self.bad_messages += 1
            return
        if (status if status >= 0xF0 else status & 0xF0) in self._dropped_status:
            return
        try:
            msg = mido.Message.from_bytes(data)
        except (ValueError, TypeError, IndexError):
            self.bad_messages += 1
            return
        try:
            fn(msg, t)
        except Exception as err:  # noqa: BLE001 - never raise into the MIDI thread
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
        if not self._closed and self._drainer is None:
            try:
                self._rt.cancel_callback()
            except Exception:  # noqa: BLE001
                pass
        super().close()
        if self._drainer is not None and self._drainer is not threading.current_thread():
            self._drainer.join(timeout=1.0)


#: JACK: python-rtmidi hands a JACK output's messages to the next process cycle all at once, and a
#: JACK MIDI port holds only as many events a cycle as its buffer (the size of one audio period:
#: 64 frames -> 256 bytes, about 19 short events); RtMidi drops the rest without a word. A bar line
#: of a dense bar (its notes closing, the next bar's starting) or a panic overflowed that, and the
#: lost note-offs left notes hanging. So at most JACK_BURST messages go out back to back; the next
#: one waits JACK_BURST_GAP (over two 64-frame periods at 48 kHz). On the SIGTERM fault test
#: (tests/ports/test_faults.py, a dense bar, 64-frame server, a slow shared machine): stuck notes in
#: 4 runs of 10 without pacing; with 12 / 3 ms none in 8 runs, then lost notes in 2 of 8 more; 8 / 4 ms
#: did worse. Pacing cannot help when a cycle itself runs late and finds several chunks waiting:
#: the real-port tests therefore run 256-frame periods (srlive.jackserver).
JACK_BURST = 12
JACK_BURST_GAP = 0.003  # seconds
#: ... and a JACK output waits this long before it closes, so that what was sent last (a panic's
#: note-offs) leaves in the cycles to come rather than with the port.
JACK_DRAIN = 0.02  # seconds


class MidiOutput(_Port):
    kind = "output"

    def __init__(self, *args, now=time.perf_counter, sleep=time.sleep, **kwargs):
        super().__init__(*args, **kwargs)
        self.send_errors = 0
        self._now, self._sleep = now, sleep
        self._burst_start = -1.0
        self._burst = 0
        self.paced = 0  # messages that waited for a fresh JACK cycle

    def send(self, msg: mido.Message) -> None:
        """Send one message now (its bytes straight through python-rtmidi)."""
        self.send_bytes(msg.bytes())

    def _pace(self) -> None:
        """JACK only: no more than JACK_BURST messages into one process cycle (see JACK_BURST)."""
        t = self._now()
        if t - self._burst_start >= JACK_BURST_GAP:
            self._burst_start, self._burst = t, 0
        elif self._burst >= JACK_BURST:
            self._sleep(max(0.0, self._burst_start + JACK_BURST_GAP - t))
            self.paced += 1
            self._burst_start, self._burst = self._now(), 0
        self._burst += 1

    def send_bytes(self, data) -> None:
        try:
            with self._lock:
                if not self._closed:
                    if self.backend == "jack":
                        self._pace()
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


def _find_own_port(local: str, previous: Optional[str] = None, before: Optional[set] = None) -> Optional[str]:
    """JACK: the full name of the port we just made, found as the new ':local' port."""
    ports = _jack().midi_ports()
    if ports is None:
        return previous
    mine = [p for p in ports if p.endswith(":" + local)]
    if before is not None:
        fresh = [p for p in mine if p not in before]
        if len(fresh) == 1:
            return fresh[0]
    if previous in mine:
        return previous
    return mine[0] if len(mine) == 1 else previous


def _local_name(name: str) -> str:
    return name.strip() or "srlive"


def _open(kind: str, name: str, backend: str, client_name: str):
    backend = resolve_backend(backend)
    if not name or not name.strip():
        raise PortError(f"empty MIDI {kind} port name: give --{'in' if kind == 'input' else 'out'} NAME")
    rt = _new("in" if kind == "input" else "out", backend, client_name)
    try:
        ports = list(rt.get_ports())
        target = match_port(name, ports)
        local = _local_name(name)
        before = set(_jack().midi_ports() or ()) if backend == "jack" else None
        if target is None:
            if not CAN_MAKE_VIRTUAL[backend]:
                raise PortError(
                    f"no MIDI {kind} named '{name}' on {LABELS[backend]} (ports there: {_port_list(ports)}); "
                    f"{HINTS[backend]}"
                )
            rt.open_virtual_port(local)
            shown = local
        else:
            rt.open_port(ports.index(target), local)
            shown = target
        full = _find_own_port(local, None, before) if backend == "jack" else None
    except PortError:
        _delete(rt)
        raise
    except _rtmidi.RtMidiError as err:
        _delete(rt)
        raise PortError(f"can't open MIDI {kind} '{name}' on {LABELS[backend]}: {_one_line(err)}") from None
    cls = MidiInput if kind == "input" else MidiOutput
    return cls(rt, backend, shown, target, local, full)


def open_input(name: str, backend: str = "auto", client_name: str = "srlive") -> MidiInput:
    """Open (or make) the input port ``name``; see the module docstring for matching."""
    return _open("input", name, backend, client_name)


def open_output(name: str = "srlive out", backend: str = "auto", client_name: str = "srlive") -> MidiOutput:
    """Open (or make) the output port ``name``; see the module docstring for matching."""
    return _open("output", name, backend, client_name)
