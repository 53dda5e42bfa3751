"""MIDI ports: pick a backend, find or make a port by name, stamp input, send output fast.

The engine uses exactly this API::

    inputs, outputs = list_ports(backend="auto")
    backend = resolve_backend("auto")           # "jack" | "alsa" | "coremidi" | "windows"
    port_in = open_input("IAC Bus 1")           # MidiInput
    port_in.ignore("sysex", "active_sensing")    # dropped before Python where the backend can
    port_in.set_callback(fn)                     # fn(msg: mido.Message, t: float), t = arrival on perf_counter
    port_out = open_output("srlive out")        # MidiOutput
    port_out.send(mido.Message("note_on", note=60, velocity=90))
    message = port_out.poll()                   # once a bar, off the hot path: str | None
    port_in.close(); port_out.close()
    close_all()                                  # every port left, then the JACK watcher (also at exit)

One job a module (mido's messages / ports / backends split is the model):

* ``backends``: which backend, which port a name means (no port opened, python-rtmidi imported
  on first use);
* ``midiports``: the port objects (input stamped on arrival and handed on by one consumer thread;
  output; disconnect and reconnect);
* ``jack_backend``: JACK's own part (the server and its graph through JACK-Client, arrival times
  from JACK times, output paced into JACK's cycles).
"""

from srlive.ports.backends import (
    ALSA_SEQ,
    CAN_MAKE_VIRTUAL,
    HINTS,
    LABELS,
    alsa_available,
    describe_backend,
    match_port,
    resolve_backend,
)
from srlive.ports.jack_backend import (
    JACK_BURST,
    JACK_BURST_GAP,
    JACK_DRAIN,
    ArrivalClock,
    forget_jack_server,
    jack_connections,
    jack_input_delay,
    jack_period,
    jack_midi_ports,
    jack_running,
)
from srlive.ports.midiports import MidiInput, MidiOutput, close_all, list_ports, open_input, open_output

__all__ = [
    "ALSA_SEQ", "CAN_MAKE_VIRTUAL", "HINTS", "LABELS", "JACK_BURST", "JACK_BURST_GAP", "JACK_DRAIN",
    "ArrivalClock", "MidiInput", "MidiOutput", "alsa_available", "close_all", "describe_backend", "forget_jack_server",
    "jack_connections", "jack_input_delay", "jack_period", "jack_midi_ports", "jack_running", "list_ports", "match_port", "open_input",
    "open_output", "resolve_backend",
]
