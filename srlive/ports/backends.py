"""Which MIDI backend srlive uses, and which port a name means (no port is opened here).

* Backends. ``auto`` takes JACK when a JACK server is running (probed without starting one),
  else the ALSA sequencer when /dev/snd/seq exists, else CoreMIDI on macOS, the Windows MIDI
  service on Windows. When none works, the PortError says what to start.
* Names. A name is matched exactly, then case-insensitively, then by words: every word of the
  name (letters and digits) must be a word of the port's name, so "IAC Bus 1" finds
  "IAC Driver Bus 1" and "performer phrase" finds JACK's "performer:phrase". Two or more word
  matches are refused as ambiguous, listing them, unless one holds the words in order.

python-rtmidi is imported on first use (``rtmidi_module``), not with this module: name matching
and the tables below need none of it. Tests put a fake in ``_rtmidi`` and ``_platform``.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Optional

from srlive.contract import BACKENDS
from srlive.errors import PortError
from srlive.ports.jack_backend import jack_running

LABELS = {"jack": "JACK", "alsa": "the ALSA sequencer", "coremidi": "CoreMIDI", "windows": "Windows MIDI"}
#: python-rtmidi's API constant for each backend
API_NAMES = {
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

_rtmidi = None  # python-rtmidi once imported (or a test's fake)
_platform = sys.platform


def rtmidi_module():
    """The python-rtmidi module, imported on first use."""
    global _rtmidi
    if _rtmidi is None:
        import rtmidi

        _rtmidi = rtmidi
    return _rtmidi


def alsa_available() -> bool:
    return os.path.exists(ALSA_SEQ)


def _compiled(backend: str) -> bool:
    rt = rtmidi_module()
    api = getattr(rt, API_NAMES[backend], None)
    return api is not None and api in rt.get_compiled_api()


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
    for backend in _platform_order():
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


# --- name matching (pure) ------------------------------------------------------------------------


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
    hits = [name for name in names if all(w in _words(name) for w in wanted)]
    if len(hits) > 1:
        # A name that holds the query's words in the same order, contiguously, wins ("Bus 1").
        contiguous = [h for h in hits if " ".join(wanted) in " ".join(_words(h))]
        if len(contiguous) == 1:
            return contiguous[0]
        raise PortError(f"'{query}' matches several ports ({'; '.join(hits)}): give more of the name")
    return hits[0] if hits else None


def port_list(names: list[str]) -> str:
    """Port names for a one-line message: 'a'; 'b' (or "none")."""
    return "; ".join(f"'{n}'" for n in names) if names else "none"
