"""Never deaf in silence: a thread that watches srlive's ports and JACK from the moment they open,
whether or not a bar is playing, and says what it finds in one line.

Every ``every`` seconds (off the hot path; JACK is asked through the JACK-Client watcher, which lets
go of Python's lock while it waits on the server):

* each port's news (``poll()``: its other end went away or came back) is said as it comes;
* the JACK server stopped (the watcher's shutdown callback, or the server no longer answers): fatal;
* one of srlive's own ports has been missing from JACK's graph for ``give_up`` seconds (JACK removed
  srlive's client, as it does with a client that overran its cycle; a port being reconnected is
  away for a moment only): fatal;
* a port linked to a named port that is still there stays unlinked for ``give_up`` seconds although
  reconnecting was tried every round (JACK stopped running srlive's client: a zombified client keeps
  its ports but loses its links and never gets them back): fatal;
* the sender process ended (srlive.live.sender says so itself): fatal.

A fatal finding is said once, as one line, through ``on_fatal``: the engine then closes every note
and srlive exits non-zero. The JACK questions are injectable (``graph``), the clock too (``now``):
tests drive ``check()`` with fakes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Callable, Optional, Protocol

EVERY = 0.5  # seconds between looks
GIVE_UP = 3.0  # seconds a link to a named port that is there may stay broken before it counts as fatal


class WatchedPort(Protocol):
    kind: str  # "input" | "output"
    name: str
    full_name: Optional[str]
    virtual: bool

    def poll(self) -> Optional[str]: ...


class Graph(Protocol):
    def server_gone(self) -> Optional[str]: ...  # why the server is gone, or None while it answers

    def ports(self) -> Optional[list[str]]: ...  # every MIDI port's full name; None: can't tell

    def connections(self, full_name: str) -> Optional[int]: ...


class JackGraphView:
    """srlive.ports.jack_backend's watcher, as the watch asks it."""

    def __init__(self):
        from srlive.ports import jack_backend

        self._jack = jack_backend
        jack_backend.watch_server()

    def server_gone(self) -> Optional[str]:
        return self._jack.server_gone()

    def ports(self) -> Optional[list[str]]:
        return self._jack.jack_midi_ports()

    def connections(self, full_name: str) -> Optional[int]:
        return self._jack.jack_connections(full_name)


@dataclass(eq=False)
class PortWatch:
    """Watches ``ports`` (None entries are dropped: ports that did not open) every ``every`` seconds
    once started; ``check()`` is one round."""

    ports: list
    _: KW_ONLY
    log: Callable[[str], None]
    on_fatal: Callable[[str], None]
    graph: Optional[Graph] = None
    now: Callable[[], float] = time.monotonic
    every: float = EVERY
    give_up: float = GIVE_UP
    fatal: Optional[str] = field(default=None, init=False)
    # port index -> since when its named peer is there but not linked; ... since when it is not in the graph
    _unlinked: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _missing: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: Optional[threading.Thread] = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.ports = [p for p in self.ports if p is not None]

    # -- one round ---------------------------------------------------------------------------
    def check(self) -> Optional[str]:
        """Look once; returns the fatal line when this round found one (said once, ever)."""
        if self.fatal:
            return None
        for port in self.ports:
            try:
                news = port.poll()
            except Exception:  # noqa: BLE001 - a port that can't tell: nothing to say
                news = None
            if news:
                self.log(news)
        why = self._finding()
        if why:
            self.fatal = why
            self.on_fatal(why)
        return why

    def _finding(self) -> Optional[str]:
        for port in self.ports:  # the sender process's own word first
            lost = getattr(port, "lost", None)
            if lost:
                return f"{lost}: nothing srlive plays can be heard"
        if self.graph is None:
            return None
        gone = self.graph.server_gone()
        if gone:
            return f"the JACK server stopped ({gone}): srlive can neither hear nor play"
        listed = self.graph.ports()
        if listed is None:
            return None
        for i, port in enumerate(self.ports):
            full = port.full_name
            if not full:
                continue
            if full not in listed:  # (a port being reconnected is away for a moment: it must stay away)
                since = self._missing.setdefault(i, self.now())
                if self.now() - since < self.give_up:
                    continue
                return (f"JACK removed srlive's {port.kind} port '{full}' (its client was dropped, as JACK drops "
                        "one that overran its cycle): srlive can no longer "
                        f"{'hear' if port.kind == 'input' else 'play'}")
            self._missing.pop(i, None)
            why = self._unlinked_too_long(i, port, listed)
            if why:
                return why
        return None

    def _unlinked_too_long(self, i: int, port, listed: list[str]) -> Optional[str]:
        target = None if port.virtual else port.name
        links = self.graph.connections(port.full_name) if target in listed else None
        if links is None or links > 0:
            self._unlinked.pop(i, None)
            return None
        since = self._unlinked.setdefault(i, self.now())
        if self.now() - since < self.give_up:
            return None
        return (f"srlive's {port.kind} '{port.full_name}' has stayed unlinked from '{target}' for "
                f"{self.now() - since:.0f} s although both are there (JACK stopped running srlive's client): "
                f"srlive can no longer {'hear' if port.kind == 'input' else 'play'}")

    # -- the thread --------------------------------------------------------------------------
    def run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if self.check():
                    return
            except Exception:  # noqa: BLE001 - the watch must never take srlive down itself
                pass

    def start(self) -> "PortWatch":
        self._thread = threading.Thread(target=self.run, name="srlive-port-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
