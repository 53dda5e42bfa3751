"""The sender: srlive's output port and scheduler in a process of their own, so that nothing the
main process does (a flood on the input, the recorder, the view, the model step) can delay a note.

Python threads share one interpreter lock: an input consumer busy with a flood, or a take being
written, held the scheduler's thread back for milliseconds at a time. The sender process has its own
interpreter and owns the output port; the main process hands it each bar's events ahead of time
(absolute deadlines on ``time.perf_counter``, which is the system-wide monotonic clock on Linux,
macOS and Windows, so both processes read the same time) and never waits on it.

    sender = open_sender("srlive out", backend="jack", client_name="srlive", realtime=True)
    scheduler = sender.scheduler(max_late=0.01, offset=0.0, on_sent=..., on_dropped=..., on_output=...)
    scheduler.start(); scheduler.add(events); scheduler.send_now(ON, 0, 60, 90, "thru")
    scheduler.stop(panic=True)           # every note closed, CC 123 sent, the process gone

* Commands go down one pipe (``add``, ``now``, ``mute``, ``off``, ``panic``, ``line``, ``poll``,
  ``stop``); reports come up another, in batches, from a writer thread of the sender's own (what was
  sent, when, and at which grid place; notes dropped late; a port's news), so the sender never blocks
  on a main process that is slow to read. A reader thread in the main process hands them to the
  engine (recorder, stats, echo suppression, the view's counters).
* ``SenderCore`` is the sender's side without the process: a srlive.scheduler.Scheduler on the port,
  driven by commands. Every guarantee of the scheduler holds there: note-offs always sent,
  ``--max-late``, ``--offset``, sweeps, mute, panic, All Notes Off on exit.
* A clock that bends (``--sync``, ``--follow``): the scheduler follows the clock's latest estimate.
  The clock lives in the main process, so a thread there sends its line where it is now (a pulse,
  its time, seconds a pulse: ``local_line``) whenever it moves (``RETIME_EVERY``); the sender
  re-times from the line it last got.
* Endings. ``stop`` closes every note and sends CC 123. If the main process dies (even SIGKILL) the
  command pipe ends and the sender does the same, then exits. SIGINT is the main process's to
  handle (Ctrl-C reaches both); SIGTERM to the sender alone ends it like ``stop``. If the sender dies,
  the reader thread says so once (``on_lost``): the engine stops and srlive exits non-zero.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from typing import Callable, Optional

from srlive.errors import PortError
from srlive.live.render import Event
from srlive.live.scheduler import Scheduler, message_bytes

START_TIMEOUT = 20.0  # seconds the main process waits for the sender to open its port
STOP_TIMEOUT = 3.0  # seconds it waits for the sender to close its notes and exit
RETIME_EVERY = 0.002  # seconds between looks at the clock's line under --sync
REPORT_BATCH = 512  # reports sent up in one message at most


# --- the sender's side -----------------------------------------------------------------------------
def local_line(time_of_pulse: Callable[[float], float], now: float, span: float = 24.0) -> tuple[float, float, float]:
    """(pulse, its time, seconds a pulse): the clock's line at the pulse it is at ``now``, its slope
    over the next ``span`` pulses. A clock that bends (the performer-following clock) is a line
    only piece by piece, so the line is taken where the notes about to go out are, not from bar 1;
    for a clock that is one line (a MIDI clock's model, Link) it is that line."""
    t0 = time_of_pulse(0.0)
    period = (time_of_pulse(96.0) - t0) / 96.0
    pulse = max(0.0, (now - t0) / period)
    for _ in range(2):  # Newton's steps onto the pulse at ``now`` along the clock's own path
        t = time_of_pulse(pulse)
        period = (time_of_pulse(pulse + span) - t) / span
        pulse = max(0.0, pulse + (now - t) / period)
    t = time_of_pulse(pulse)
    return (pulse, t, (time_of_pulse(pulse + span) - t) / span)


class PulseLine:
    """The main process's clock as the sender knows it: time of a pulse on the line it last got."""

    def __init__(self):
        self.line: Optional[tuple[float, float, float]] = None  # (pulse, its time, seconds a pulse)

    def __call__(self, pulse: float) -> float:
        line = self.line
        if line is None:
            raise RuntimeError("no clock estimate yet")
        p0, t0, period = line
        return t0 + (pulse - p0) * period


class SenderCore:
    """A Scheduler on ``send`` driven by commands (``handle``); what it sends, drops and hears from
    its port goes to ``report(item)``. No process or pipe here: tests drive it with a fake clock."""

    def __init__(self, send: Callable[[bytes], None], report: Callable[[tuple], None], *,
                 now: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep,
                 realtime: bool = False, poll: Optional[Callable[[], Optional[str]]] = None):
        self._write = send
        self.report = report
        self.now = now
        self.line = PulseLine()
        self._poll = poll
        self.scheduler = Scheduler(self._send, now=now, sleep=sleep, realtime=realtime,
                                   on_sent=lambda e, t: report(("sent", e, t)),
                                   on_dropped=lambda e, t: report(("dropped", e, t)))
        self.stopped = False

    def _send(self, kind: int, channel: int, data1: int, data2: int, source: str) -> None:
        data = message_bytes(kind, channel, data1, data2)
        self._write(data)  # first; the report after
        self.report(("out", source, self.now(), data, self.scheduler.firing))

    def handle(self, cmd: tuple) -> bool:
        """Carry out one command; False once it was ``stop``."""
        op, args = cmd[0], cmd[1:]
        s = self.scheduler
        if op == "add":
            s.add(args[0])
        elif op == "now":
            s.send_now(*args)
        elif op == "mute":
            s.mute(*args)
        elif op == "off":
            s.all_notes_off(*args)
        elif op == "panic":
            s.panic(*args)
        elif op == "line":
            self.line.line = args[0]
        elif op == "config":
            max_late, offset, sync = args
            s.max_late, s.offset = float(max_late), float(offset)
            s.retime = self.line if sync else None
        elif op == "start":
            s.start()
        elif op == "poll":
            news = self._poll() if self._poll is not None else None
            if news:
                self.report(("news", news))
        elif op == "stop":
            self.stop(bool(args[0]) if args else True)
            return False
        return True

    def stop(self, panic: bool = True) -> None:
        """Close every note (CC 123 too with ``panic``); once."""
        if not self.stopped:
            self.stopped = True
            self.scheduler.stop(panic=panic)


def _reports_up(conn, items: "queue.SimpleQueue[Optional[tuple]]") -> None:
    """The sender's writer thread: reports up the pipe in batches until None."""
    while True:
        first = items.get()
        batch = [first] if first is not None else []
        while len(batch) < REPORT_BATCH:
            try:
                item = items.get_nowait()
            except queue.Empty:
                break
            if item is None:
                first = None
                break
            batch.append(item)
        try:
            if batch:
                conn.send(batch)
        except (OSError, EOFError, ValueError):
            return  # the main process is gone: nothing to tell
        if first is None:
            return


def sender_main(commands, reports, out_name: str, backend: str, client_name: str, realtime: bool) -> None:
    """The sender process: open the port, then carry out commands until ``stop`` or the pipe ends."""
    import gc
    import sys

    stop_now = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    signal.signal(signal.SIGTERM, lambda *_: stop_now.set())
    from srlive import ports
    from srlive.live import memlock

    items: "queue.SimpleQueue[Optional[tuple]]" = queue.SimpleQueue()
    try:
        port = ports.open_output(out_name, backend=backend, client_name=client_name)
    except PortError as err:
        reports.send([("error", str(err))])
        return
    writer = threading.Thread(target=_reports_up, args=(reports, items), name="srlive-sender-reports", daemon=True)
    writer.start()
    core = SenderCore(port.send_bytes, items.put, realtime=realtime, poll=port.poll)
    sys.setswitchinterval(0.0005)
    gc.collect()
    gc.freeze()
    locked = memlock.lock_memory()
    items.put(("ready", port.name, port.full_name, port.virtual))
    try:
        while not stop_now.is_set():
            try:
                if not commands.poll(0.05):
                    continue
                cmd = commands.recv()
            except (EOFError, OSError):
                break  # the main process is gone (even SIGKILL): close every note, then exit
            try:
                if not core.handle(cmd):
                    break
            except Exception as err:  # noqa: BLE001 - one bad command must not silence the rest
                items.put(("news", f"the sender ignored a command it could not carry out ({err})"))
    finally:
        core.stop(panic=True)
        items.put(("stopped", core.scheduler.sent, core.scheduler.dropped, core.scheduler.send_errors))
        items.put(None)
        writer.join(STOP_TIMEOUT)
        if locked:
            memlock.unlock_memory()
        port.close()
        ports.close_all()


# --- the main process's side -----------------------------------------------------------------------
class SenderProcess:
    """The sender as the main process sees it: a port (``name``, ``full_name``, ``virtual``, ``poll``,
    ``lost``: why the process is gone) and, from
    ``scheduler()``, the scheduler's API (``add``, ``send_now``, ``mute``, ``all_notes_off``, ``panic``,
    ``start``, ``stop``), each call one command down the pipe, never waiting for the sender."""

    kind = "output"

    def __init__(self, out_name: str, backend: str, client_name: str = "srlive", realtime: bool = False,
                 context=None, timeout: float = START_TIMEOUT):
        import multiprocessing as mp

        ctx = context or mp.get_context("spawn")  # its own interpreter on every OS, nothing inherited
        cmd_recv, self._cmd = ctx.Pipe(duplex=False)
        self._rep, rep_send = ctx.Pipe(duplex=False)
        self.backend = backend
        self.realtime = realtime
        self.process = ctx.Process(target=sender_main, name="srlive-sender", daemon=True,
                                   args=(cmd_recv, rep_send, out_name, backend, client_name, realtime))
        self.process.start()
        cmd_recv.close()
        rep_send.close()
        self._lock = threading.Lock()  # one command at a time down the pipe
        self.name, self.full_name, self.virtual = out_name, None, True
        self.sent = self.dropped = self.send_errors = 0
        self.on_sent: Optional[Callable[[Event, float], None]] = None
        self.on_dropped: Optional[Callable[[Event, float], None]] = None
        self.on_output: Optional[Callable[[str, float, bytes, Optional[Event]], None]] = None
        self.on_lost: Optional[Callable[[str], None]] = None
        self._news: list[str] = []
        self._stopped = threading.Event()
        self._closing = False
        self.lost: Optional[str] = None
        self._retime: Optional[Callable[[float], float]] = None
        self._timeout = timeout
        self._reader: Optional[threading.Thread] = None

    # -- start-up --------------------------------------------------------------------------
    def wait_ready(self) -> "SenderProcess":
        """Until the sender has its port open (PortError, one line, when it can't); the process was
        started by the constructor, so a caller does other work (the model's loading) meanwhile."""
        if self._reader is not None:
            return self
        if not self._rep.poll(self._timeout):
            self.process.kill()
            raise PortError(f"the sender process did not open output '{self.name}' within {self._timeout:.0f} s")
        try:
            batch = self._rep.recv()
        except (EOFError, OSError):
            raise PortError(f"the sender process ended before opening output '{self.name}'") from None
        kind = batch[0][0]
        if kind == "error":
            self.process.join(STOP_TIMEOUT)
            raise PortError(batch[0][1])
        _, self.name, self.full_name, self.virtual = batch[0]
        self._first = batch[1:]
        self._reader = threading.Thread(target=self._read, name="srlive-sender-reader", daemon=True)
        self._reader.start()
        return self

    # -- commands --------------------------------------------------------------------------
    def _command(self, *cmd) -> None:
        with self._lock:
            if self._stopped.is_set() or self.lost:
                return
            try:
                self._cmd.send(cmd)
            except (OSError, EOFError, ValueError):
                self._lose("the sender process is gone")

    def scheduler(self, *, max_late: float, offset: float = 0.0, retime: Optional[Callable[[float], float]] = None,
                  on_sent=None, on_dropped=None, on_output=None, on_lost=None) -> "SenderProcess":
        """Configure the sender's scheduler; this object is then the engine's scheduler."""
        self.on_sent, self.on_dropped, self.on_output, self.on_lost = on_sent, on_dropped, on_output, on_lost
        self._retime = retime
        self._command("config", max_late, offset, retime is not None)
        return self

    def start(self) -> "SenderProcess":
        self._command("start")
        if self._retime is not None:
            threading.Thread(target=self._follow_clock, name="srlive-sender-retime", daemon=True).start()
        return self

    def add(self, events) -> None:
        events = list(events)
        if events:
            self._command("add", events)

    def send_now(self, kind: int, channel: int, data1: int, data2: int, source: str = "thru") -> None:
        self._command("now", kind, channel, data1, data2, source)

    def mute(self, source: str = "srlive", on: bool = True) -> None:
        self._command("mute", source, on)

    def all_notes_off(self, source: Optional[str] = None, drop_pending: bool = True) -> None:
        self._command("off", source, drop_pending)

    def panic(self, channels=()) -> None:
        self._command("panic", list(channels))

    def poll(self) -> Optional[str]:
        """The output's news since the last call (asked of the sender; its answer comes by the next)."""
        self._command("poll")
        if self.lost:
            return None
        news, self._news = self._news, []
        return " ".join(news) or None

    def _follow_clock(self) -> None:
        """A clock that bends (--sync, --follow): send its line where it is now whenever it moves
        (the sender re-times by it)."""
        last = None
        while not self._stopped.is_set() and not self.lost:
            try:
                line = local_line(self._retime, time.perf_counter())
            except Exception:  # noqa: BLE001 - no estimate (stopped): the events' own times
                line = None
            if line != last:
                self._command("line", line)
                last = line
            self._stopped.wait(RETIME_EVERY)

    def stop(self, panic: bool = True) -> None:
        """Close every note (and CC 123), wait for the sender to exit; idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            try:
                self._cmd.send(("stop", panic))
            except (OSError, EOFError, ValueError):
                pass
        if self._reader is not None:  # (its "stopped" report: every note closed)
            self._stopped.wait(STOP_TIMEOUT)
        self.process.join(STOP_TIMEOUT)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        self._stopped.set()

    close = stop

    # -- reports ---------------------------------------------------------------------------
    def _read(self) -> None:
        pending = self._first
        while True:
            for item in pending:
                self._dispatch(item)
            if self._stopped.is_set():
                return
            try:
                pending = self._rep.recv()
            except (EOFError, OSError):
                if not self._closing:
                    code = self.process.exitcode
                    self._lose("the sender process ended" + (f" (exit code {code})" if code is not None else ""))
                self._stopped.set()
                return

    def _dispatch(self, item: tuple) -> None:
        kind = item[0]
        try:
            if kind == "out":
                if self.on_output is not None:
                    self.on_output(*item[1:])
            elif kind == "sent":
                self.sent += 1
                if self.on_sent is not None:
                    self.on_sent(*item[1:])
            elif kind == "dropped":
                self.dropped += 1
                if self.on_dropped is not None:
                    self.on_dropped(*item[1:])
            elif kind == "news":
                self._news.append(item[1])
            elif kind == "stopped":
                _, self.sent, self.dropped, self.send_errors = item
                self._stopped.set()
        except Exception:  # noqa: BLE001 - a report the engine could not take must not stop the reading
            pass

    def _lose(self, why: str) -> None:
        if self.lost:
            return
        self.lost = why
        if self.on_lost is not None:
            self.on_lost(why)


def open_sender(name: str, backend: str, client_name: str = "srlive", realtime: bool = False) -> SenderProcess:
    """Start the sender process with output ``name`` open (PortError, one line, when it can't be)."""
    return SenderProcess(name, backend, client_name, realtime).wait_ready()
