"""What srlive does on JACK beyond python-rtmidi: ask the server (is one running, which MIDI
ports are there, how many connections a port has), stamp input from JACK's own times, and pace
output into JACK's process cycles.

The server is asked through JACK-Client (``jack``, an optional Linux dependency, CFFI over libjack),
never starting a server (``no_start_server=True``) and with libjack's chatter about a missing
server silenced. Without JACK-Client or libjack (importing ``jack`` raises ImportError or
OSError then), JACK is simply "not running".
"""

from __future__ import annotations

import atexit
import threading
from typing import Callable, Optional

try:  # optional: absent off Linux, and useless without libjack
    import jack as _jack_client
except (ImportError, OSError):
    _jack_client = None


#: seconds srlive waits for libjack to close the watching client; then it goes on without it.
#: jack_client_close can wait forever on the server (seen about once in 40 sessions on the test
#: server: srlive never exited after its take); the call releases the GIL, so a helper thread makes
#: it and srlive exits whatever the server does.
CLOSE_TIMEOUT = 2.0


def _quiet(_message: str) -> None:
    pass


#: what libjack prints in every client of a process when its server goes away; srlive.ports.watch
#: says it in one line instead
SERVER_GONE_CHATTER = ("Cannot read socket", "CheckRes error", "JackSocketClientChannel read fail",
                       "Server is not running", "Cannot connect to server", "Cannot open", "jack server is not running",
                       "JackShmReadWritePtr", "Failed to connect", "Unable to connect")


def _to_stderr_but_shutdown_chatter(message: str) -> None:
    """libjack's messages on stderr as usual, except the lines it prints when its server is gone."""
    import sys

    if not any(message.startswith(line) for line in SERVER_GONE_CHATTER):
        print(message, file=sys.stderr, flush=True)


class JackGraph:
    """One JACK client that watches the server's graph (opened on first use, kept until ``close()``,
    at the latest when Python begins to exit: see ``_watcher``)."""

    def __init__(self, module=_jack_client, at_exit: Callable[[Callable[[], None]], object] = atexit.register,
                 close_timeout: float = CLOSE_TIMEOUT) -> None:
        self.jack = module
        self.client = None
        self.lock = threading.Lock()
        self._at_exit = at_exit
        self._closes_at_exit = False
        self.close_timeout = close_timeout
        self.stuck: list = []  # clients whose close never returned (kept: never closed twice or collected)
        self.gone: Optional[str] = None  # why the server shut the watcher down (its shutdown callback)

    def _open(self, name: str):
        """A client on the running server, or None; libjack says nothing when there is none."""
        jack = self.jack
        jack.set_error_function(_quiet)
        jack.set_info_function(_quiet)
        try:
            return jack.Client(name, no_start_server=True)
        except jack.JackError:
            return None
        finally:
            jack.set_error_function(_to_stderr_but_shutdown_chatter)  # libjack's printing again, less the chatter
            jack.set_info_function(_to_stderr_but_shutdown_chatter)

    def running(self) -> bool:
        if self.jack is None:
            return False
        with self.lock:
            if self.client is not None:
                return True
            probe = self._open("srlive-probe")
            if probe is None:
                return False
            probe.close()
            return True

    def _watcher(self):
        if self.jack is None or self.gone:
            return None  # a client whose server went is asked nothing more
        if self.client is None:
            self.client = self._open("srlive-watch")
            if self.client is not None:
                try:  # libjack calls it from its own thread when the server goes (or drops the client)
                    self.client.set_shutdown_callback(self._on_shutdown)
                except Exception:  # noqa: BLE001 - an old JACK-Client: the graph queries still tell
                    pass
            if self.client is not None and not self._closes_at_exit:
                # Closed by an exit hook, not left to jack.Client.__del__, which would close libjack's
                # last client in the interpreter's module teardown (docs/design.md: shutdown order).
                self._at_exit(self.close)
                self._closes_at_exit = True
        return self.client

    def _on_shutdown(self, status, reason: str) -> None:
        self.gone = " ".join(str(reason).split()) or "no reason given"

    def server_gone(self) -> Optional[str]:
        """Why the server is gone (its shutdown callback said so), or None while it is there."""
        return self.gone

    def close(self) -> None:
        """Drop the watching client (before stopping a server we started, to keep libjack quiet).

        Returns within ``close_timeout`` whatever the server does: libjack's close runs in a helper
        thread; one that has not returned by then is left to the process's exit (``stuck``)."""
        with self.lock:
            client, self.client = self.client, None
        if client is None:
            return
        closing = threading.Thread(target=client.close, name="srlive-jack-watcher-close", daemon=True)
        closing.start()
        closing.join(self.close_timeout)
        if closing.is_alive():
            self.stuck.append(client)

    def midi_ports(self) -> Optional[list[str]]:
        """Every MIDI port's full name, or None when JACK-Client or the server isn't there."""
        with self.lock:
            client = self._watcher()
            if client is None:
                return None
            return [p.name for p in client.get_ports(is_midi=True)]

    def period(self) -> Optional[float]:
        """Seconds of one JACK process cycle (frames / rate), or None when no server answers."""
        with self.lock:
            client = self._watcher()
            if client is None:
                return None
            return client.blocksize / client.samplerate

    def connections(self, full_name: str) -> Optional[int]:
        """How many connections the port has, or None when that can't be told."""
        with self.lock:
            client = self._watcher()
            if client is None:
                return None
            try:
                return len(client.get_all_connections(full_name))
            except self.jack.JackError:  # no such port
                return None


_graph: Optional[JackGraph] = None


def _the_graph() -> JackGraph:
    global _graph
    if _graph is None:
        _graph = JackGraph()
    return _graph


def jack_running() -> bool:
    """True when a JACK server answers (never starts one)."""
    return _the_graph().running()


def jack_midi_ports() -> Optional[list[str]]:
    """Every JACK MIDI port ("client:port"); None when no server answers."""
    return _the_graph().midi_ports()


def jack_connections(full_name: str) -> Optional[int]:
    """How many connections a JACK port ("client:port") has; None when that can't be told."""
    return _the_graph().connections(full_name)


def jack_period() -> Optional[float]:
    """Seconds of one JACK process cycle; None when no server answers."""
    return _the_graph().period()


def jack_input_delay() -> float:
    """What the JACK input path adds to an arrival stamp, on average: half a period.

    python-rtmidi (1.5.8's RtMidi) stamps each JACK input message with ``jack_get_time()`` inside
    its process callback, not with the event's frame time: a message sent anywhere in one cycle is
    stamped at the start of the next, on average half a period after it was sent (0.67 ms at 64
    frames / 48 kHz). 0 when no server answers."""
    period = jack_period()
    return period / 2 if period else 0.0


def watch_server() -> bool:
    """Open the watcher now (so its shutdown callback is in place from the start); False without JACK."""
    graph = _the_graph()
    with graph.lock:
        return graph._watcher() is not None


def server_gone() -> Optional[str]:
    """Why the JACK server went away under srlive (None while it is there, or when never watched)."""
    return _the_graph().server_gone()


def forget_jack_server() -> None:
    """Close the watching client: before its server stops, or to watch another server."""
    _the_graph().close()


def find_own_port(local: str, previous: Optional[str] = None, before: Optional[set] = None) -> Optional[str]:
    """The full name of the port we just made, found as the new ':local' port."""
    ports = jack_midi_ports()
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


# --- input: arrival times from JACK's own times ----------------------------------------------------


#: seconds of drains after which an origin no drain came near is let go (ArrivalClock)
REBASE_WINDOW = 0.5
#: how far above the origin every drain of a window must lie for the origin to move up to them
REBASE_LAG = 0.005
#: ... and how many messages the window must hold (only a flood overflows the queue: a few messages
#: drained late on a busy machine must not move the origin)
REBASE_COUNT = 64


class ArrivalClock:
    """Arrival times on perf_counter from JACK times: ``clock(delta, drained)`` for a message
    drained at ``drained`` that came ``delta`` s of JACK time after the one before it (python-rtmidi's
    delta: the difference of two ``jack_get_time()`` readings in its process callback, so messages
    of one cycle share a time and the time is the cycle's, not the event's frame: see
    jack_input_delay). The origin is the least (drained − JACK time) seen: a message can't be
    drained before it arrived, so the quickest drain bounds the origin best; spacing stays JACK's own.

    When python-rtmidi's queue is full (a flood the consumer could not keep up with) it drops
    messages, and each takes its delta with it: the sum of deltas falls behind JACK's time and every
    later stamp would come that much early, for good (notes put into bars already closed: srlive
    deaf to them). So an origin that no drain came within REBASE_LAG of for REBASE_WINDOW seconds of
    drains, REBASE_COUNT messages at least, is let go: it moves up to the least of that window. A backlog that made every drain of a
    window late moves it up too, and the next prompt drain brings it back down."""

    def __init__(self, window: float = REBASE_WINDOW, lag: float = REBASE_LAG, count: int = REBASE_COUNT):
        self.jack_time = 0.0
        self.origin: Optional[float] = None
        self.window, self.lag, self.count = window, lag, count
        self._window_count = 0
        self._window_start: Optional[float] = None
        self._window_min = float("inf")  # the least (drained − JACK time) of this window
        self.rebased = 0  # times the origin moved up

    def __call__(self, delta: float, drained: float) -> float:
        self.jack_time += delta
        origin = drained - self.jack_time
        if self.origin is None or origin < self.origin:
            self.origin = origin
        if self._window_start is None:
            self._window_start = drained
        self._window_min = min(self._window_min, origin)
        self._window_count += 1
        if drained - self._window_start >= self.window:
            if self._window_min > self.origin + self.lag and self._window_count >= self.count:
                self.origin = self._window_min
                self.rebased += 1
            self._window_start, self._window_min, self._window_count = drained, float("inf"), 0
        return self.origin + self.jack_time


# --- output: no more into one process cycle than a JACK port holds ---------------------------------

#: python-rtmidi hands a JACK output's messages to the next process cycle all at once, and a
#: JACK MIDI port holds only as many events a cycle as its buffer (the size of one audio period:
#: 64 frames -> 256 bytes, about 19 short events); RtMidi drops the rest without a word. A bar line
#: of a dense bar (its notes closing, the next bar's starting) or a panic overflowed that, and the
#: lost note-offs left notes hanging. So at most JACK_BURST messages go out back to back; the next
#: one waits JACK_BURST_GAP (over two 64-frame periods at 48 kHz). On the SIGTERM fault test
#: (tests/ports/test_faults.py, a dense bar, 64-frame server, a slow shared machine): stuck notes in
#: 4 runs of 10 without pacing; with 12 / 3 ms none in 8 runs, then lost notes in 2 of 8 more; 8 / 4 ms
#: did worse. Pacing cannot help when a cycle itself runs late and finds several chunks waiting:
#: the real-port tests therefore run 256-frame periods (benchmarks.jackserver).
JACK_BURST = 12
JACK_BURST_GAP = 0.003  # seconds
#: ... and a JACK output waits this long before it closes, so that what was sent last (a panic's
#: note-offs) leaves in the cycles to come rather than with the port.
JACK_DRAIN = 0.02  # seconds


class BurstPacer:
    """``pace()`` before each message: waits once JACK_BURST went out within JACK_BURST_GAP."""

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None]):
        self._now, self._sleep = now, sleep
        self._burst_start = -1.0
        self._burst = 0
        self.paced = 0  # messages that waited for a fresh JACK cycle

    def pace(self) -> None:
        t = self._now()
        if t - self._burst_start >= JACK_BURST_GAP:
            self._burst_start, self._burst = t, 0
        elif self._burst >= JACK_BURST:
            self._sleep(max(0.0, self._burst_start + JACK_BURST_GAP - t))
            self.paced += 1
            self._burst_start, self._burst = self._now(), 0
        self._burst += 1
