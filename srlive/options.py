"""The one table of srlive's long options: name, type, default, choices, help.

The command line (argparse) and the presets (presets/*.toml) both read it, so a preset's keys are
exactly the long options (``count-in = 2``, ``mode = "solo"``; the ``[cc]`` table is ``--cc``).
Options marked ``preset=False`` are actions (``--list-ports``, ``--bench``, ...) and can't be set
by a preset. Every bad value is refused with a one-line message naming the valid choices.

Light on purpose: no numpy, mido or onnxruntime here, so ``srlive --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from srlive.contract import (
    BACKENDS,
    CC_TARGETS,
    DEFAULT_TEMPO,
    DEVICES,
    MAX_CANDIDATES,
    METERS,
    MODES,
    SELECTION_TERMS,
    TEMPERATURE_RANGE,
    TEMPO_RANGE,
    VELOCITY_POLICIES,
)
from srlive.errors import BadValue
from srlive.model.scales import parse_scale

OFFSET_RANGE = (-200.0, 200.0)  # ms, --offset
INPUT_LATENCY_RANGE = (0.0, 100.0)  # ms, --input-latency


# --- converters: accept CLI strings and TOML values alike; raise BadValue naming the valid range ---
def _number(kind, lo, hi, unit=""):
    valid = f"{'a whole number' if kind is int else 'a number'} from {lo:g} to {hi:g}{unit}"

    def convert(v):
        x = None
        if not isinstance(v, bool):
            try:
                if kind is float:
                    x = float(v)
                elif isinstance(v, int):
                    x = v
                elif isinstance(v, str):
                    x = int(v.strip())
            except (TypeError, ValueError):
                x = None
        if x is None or x != x or not lo <= x <= hi:
            raise BadValue(f"must be {valid}")
        return x

    convert.valid = valid
    return convert


parse_temperature = _number(float, *TEMPERATURE_RANGE)


def _optional(convert, none_word):
    def conv(v):
        if v is None or (isinstance(v, str) and v.strip().lower() == none_word):
            return None
        return convert(v)

    conv.valid = f"{convert.valid}, or {none_word}"
    return conv


def _choice(*values):
    def convert(v):
        s = str(v).strip().lower() if isinstance(v, str) else v
        if s not in values:
            raise BadValue(f"choose {', '.join(values[:-1])} or {values[-1]}")
        return s

    convert.valid = ", ".join(values)
    return convert


def _text(v):
    if not isinstance(v, str) or not v.strip():
        raise BadValue("must be a non-empty text")
    return v


_text.valid = "a text"


def _flag(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise BadValue("must be true or false")


_flag.valid = "true or false"


def parse_velocity(value):
    """'model' | 'follow' | an integer 1..127; BadValue otherwise."""
    if isinstance(value, str):
        v = value.strip().lower()
        if v in VELOCITY_POLICIES:
            return v
    if isinstance(value, bool):
        raise BadValue("choose model, follow or a fixed velocity 1..127")
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        n = None
    if n is None or not 1 <= n <= 127 or isinstance(value, float):
        raise BadValue("choose model, follow or a fixed velocity 1..127")
    return n


parse_velocity.valid = "model, follow or a fixed velocity 1..127"


def parse_selection(value):
    """Selection weights from ``critic=1,motif=2`` (a preset may give a table); BadValue otherwise.
    Returns the changes as a dict; the engine lays them over the model's own weights."""
    from srlive.model.selection import BadWeights, weight_changes

    try:
        return weight_changes(value)
    except BadWeights as e:
        raise BadValue(str(e).split(": ", 1)[-1]) from None


parse_selection.valid = f"NAME=NUMBER,... with NAME one of {', '.join(SELECTION_TERMS)}"


def parse_cc(value) -> dict[int, str]:
    """CC map from ``["21=temperature", ...]`` (CLI) or ``{"21": "temperature"}`` (a preset's [cc])."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for item in value or []:
            num, sep, target = str(item).partition("=")
            if not sep:
                raise BadValue(f"{item!r}: write NUMBER=TARGET, TARGET one of {', '.join(CC_TARGETS)}")
            items.append((num, target))
    out: dict[int, str] = {}
    for num, target in items:
        try:
            n = int(str(num).strip())
        except ValueError:
            n = -1
        if not 0 <= n <= 119:
            raise BadValue(f"{num!r} is not a controller number 0..119")
        t = str(target).strip().lower()
        if t not in CC_TARGETS:
            raise BadValue(f"CC {n} = {target!r}: choose {', '.join(CC_TARGETS)}")
        out[n] = t
    return out


parse_cc.valid = "controller numbers 0..119 mapped to " + ", ".join(CC_TARGETS)


@dataclass(frozen=True)
class Option:
    name: str
    convert: Callable[[Any], Any]
    default: Any
    help: str
    metavar: str | None = None
    flag: bool = False  # --x / --no-x
    preset: bool = True  # may a preset set it?
    choices: tuple | None = None

    @property
    def valid(self) -> str:
        return getattr(self.convert, "valid", "")


OPTIONS: tuple[Option, ...] = (
    # ports
    Option("in", _text, None, "MIDI input port the performer plays into (matched loosely; made as a virtual "
           "port when missing), or a .mid take to answer offline (file mode)", "PORT|TAKE.mid"),
    Option("out", _text, None, "MIDI output port (default: a virtual port 'srlive out'); in file mode the answer "
           ".mid to write (default answer.mid)", "PORT|ANSWER.mid"),
    Option("list-ports", _flag, False, "list the MIDI ports there are and exit", flag=True, preset=False),
    Option("backend", _choice(*BACKENDS), "auto", "MIDI backend; auto picks one that works here and says which",
           choices=BACKENDS),
    Option("allow-feedback", _flag, False, "allow the same port for --in and --out (srlive ignores its own "
           "messages coming back)", flag=True),
    # time
    Option("tempo", _number(float, *TEMPO_RANGE, " BPM"), None, f"tempo in BPM, {TEMPO_RANGE[0]:g}-{TEMPO_RANGE[1]:g} "
           f"(default {DEFAULT_TEMPO:g}; in file mode the take's)", "BPM"),
    Option("sync", _flag, False, "follow MIDI clock from the DAW on --in (Start/Stop/Continue, Song Position "
           "Pointer) instead of --tempo", flag=True),
    Option("follow", _flag, False, "the bar clock follows the tempo and beat you play (no DAW, no click): it "
           "starts at --tempo, the count-in's, or the tempo of your first bar", flag=True),
    Option("link", _flag, False, "join (or start) an Ableton Link session: its tempo and bars, start/stop "
           "when peers use it; --tempo is proposed if srlive starts the session (needs pip install \".[link]\")",
           flag=True),
    Option("meter", _choice(*METERS), None, "the bars' meter: 4/4 (default), 3/4 or 6/8 (two beats of three "
           "eighths); picks the bar length and the shipped model for it (in file mode the take's time signature "
           "picks it unless given)", "|".join(METERS), choices=tuple(METERS)),
    Option("count-in", _number(int, 0, 16, " bars"), 0, "bars of metronome before bar 1 (default 0: bar 1 "
           "begins on your first note)", "BARS"),
    Option("metronome", _flag, False, "click every beat on --metronome-channel", flag=True),
    Option("metronome-channel", _number(int, 1, 16), 10, "MIDI channel of the metronome and count-in "
           "(default 10, GM drums)", "CH"),
    Option("bars", _optional(_number(int, 1, 1_000_000), "none"), None, "stop cleanly after N bars", "N"),
    Option("max-late", _number(float, 0.1, 1000, " ms"), 10.0, "drop a note-on that would go out later than "
           "this (ms, default 10); note-offs always go out", "MS"),
    Option("offset", _number(float, *OFFSET_RANGE, " ms"), 0.0, "send everything srlive plays this many ms "
           "early (negative) or late (positive), to meet a DAW that records srlive late: srlive --calibrate "
           "says which (default 0)", "MS"),
    Option("input-latency", _optional(_number(float, *INPUT_LATENCY_RANGE, " ms"), "auto"), None, "advanced: ms "
           "the input path adds, taken off every arrival stamp (MIDI clock, notes); auto (default): half a "
           "JACK period on JACK, else 0", "MS|auto"),
    # music
    Option("mode", _choice(*MODES), "accompany", "accompany: answer every bar; call-response: answer after "
           "you stop; solo: play on its own, you steer it", choices=MODES),
    Option("temperature", parse_temperature, None, "how far the model strays from its best guess "
           "(0 = none; default: the model's own, chosen when it was exported)", "T"),
    Option("threshold", _number(float, 0.01, 1), 0.5, "a cell of the generated bar sounds from this value "
           "(0.01-1, default 0.5; higher = sparser)", "X"),
    Option("velocity", parse_velocity, "model", "note velocities: model, follow (your mean velocity of the "
           "previous bar) or a fixed 1-127", "model|follow|N"),
    Option("transpose", _number(int, -48, 48, " semitones"), 0, "shift srlive's notes by semitones", "SEMITONES"),
    Option("scale", parse_scale, "off", "keep srlive's notes in a scale: ROOT SCALE like \"D dorian\" (major, minor, "
           "harmonic minor, the modes, major/minor pentatonic, blues), follow (the key you play in) or off (default)",
           "\"ROOT SCALE\"|follow|off"),
    Option("channel", _number(int, 1, 16), 1, "MIDI channel srlive plays on (1-16)", "CH"),
    Option("in-channel", _optional(_number(int, 1, 16), "all"), None, "listen to this input channel only "
           "(default all)", "CH"),
    Option("thru", _flag, False, "pass what you play on to the output", flag=True),
    Option("seed", _optional(_number(int, 0, 2**63 - 1), "none"), None, "random seed (same seed, same "
           "input: same answers)", "N"),
    Option("seed-file", _text, None, "solo: start from the last bar of this .mid", "FILE.mid"),
    Option("cc", parse_cc, {}, "live control: map a CC number to temperature, threshold, mode, mute, "
           "panic, scale (off below 64, follow from 64), variety or follow (the clock follows you from 64) "
           "(repeatable; a preset's [cc] table)", "NUM=TARGET"),
    # takes
    Option("record", _text, None, "record the session to this .mid in musical time (the clock's bars and "
           "tempo map; tracks performer and srlive), brought up to date after every bar", "FILE.mid"),
    Option("stats", _text, None, "at exit, write per-bar inference ms and per-event lateness to this "
           "JSON file", "FILE.json"),
    Option("overwrite", _flag, False, "replace an existing --record take, file-mode answer or --stats file "
           "(default: write to the next free name, take-2.mid, and say so)", flag=True),
    # terminal
    Option("view", _flag, None, "show a panel redrawn each bar (the bar heard and the answer about to play as "
           "a piano roll, tempo, model ms, lateness) instead of the status line (default: on when stderr is a "
           "terminal)", flag=True),
    # model
    Option("candidates", _optional(_number(int, 1, MAX_CANDIDATES), "model"), None, "answers drawn each bar "
           "(in one batched model call) to choose the best from: 1 plays the model's first answer; default "
           "the model's own", "N"),
    Option("selection", parse_selection, None, "how the candidates are scored: weights of critic, motif, "
           "density, length and copy, e.g. critic=1,motif=2 (default: the model's own)", "NAME=W,..."),
    Option("model", _text, None, "model folder or step.onnx, or a shipped model's name (default, triple; "
           "default: the shipped model for the meter; its bars must be the meter's length)", "PATH"),
    Option("device", _choice(*DEVICES), "auto", "where the model runs", choices=DEVICES),
    # actions
    Option("preset", _text, None, "load options from a preset (name in presets/, or a .toml path); the "
           "command line overrides it", "NAME|PATH", preset=False),
    Option("demo", _text, None, "answer the shipped example take offline and write OUT (default answer.mid)",
           "OUT.mid", preset=False),
    Option("bench", _flag, False, "measure the model step's speed and exit", flag=True, preset=False),
    Option("calibrate", _flag, False, "measure the round trip from --out back to --in (a cable, or a DAW track "
           "monitoring --out into --in), print the --offset to use and exit", flag=True, preset=False),
    Option("json", _flag, False, "with --bench or --list-ports: print JSON", flag=True, preset=False),
)
BY_NAME = {o.name: o for o in OPTIONS}
PRESET_KEYS = tuple(sorted(o.name for o in OPTIONS if o.preset))


def dest(name: str) -> str:
    return name.replace("-", "_")


def convert(name: str, value, where: str) -> Any:
    """Convert one value of option ``name``; a bad one raises UserError "<where>: <what is valid>"."""
    try:
        return BY_NAME[name].convert(value)
    except BadValue as e:
        from srlive.errors import UserError

        raise UserError(f"{where}: {e}") from None


def defaults() -> dict[str, Any]:
    return {o.name: (dict(o.default) if isinstance(o.default, dict) else o.default) for o in OPTIONS}


def build_parser():
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message):  # one line, no usage dump
            from srlive.errors import UserError

            raise UserError(f"{message}; see srlive --help")

    p = Parser(prog="srlive", description="A real-time jam partner: it listens bar by bar on a MIDI port and "
               "answers each bar with one of its own.", argument_default=argparse.SUPPRESS,
               epilog="Start here: srlive --demo   (answers a folk tune offline, writes answer.mid).  "
               "Live: srlive --in 'IAC Bus 1' --out 'IAC Bus 2' --tempo 110")
    for o in OPTIONS:
        flag = f"--{o.name}"
        if o.name == "demo":
            p.add_argument(flag, nargs="?", const="answer.mid", metavar=o.metavar, help=o.help)
        elif o.name == "cc":
            p.add_argument(flag, action="append", metavar=o.metavar, help=o.help)
        elif o.flag and o.preset:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, help=o.help)
        elif o.flag:
            p.add_argument(flag, action="store_true", help=o.help)
        else:
            metavar = o.metavar or ("|".join(o.choices) if o.choices else None)
            p.add_argument(flag, metavar=metavar, help=o.help)
    return p


def from_command_line(argv) -> dict[str, Any]:
    """The options given on the command line (converted and checked), and nothing else."""
    ns = vars(build_parser().parse_args(argv))
    given = {}
    for o in OPTIONS:
        if dest(o.name) in ns:
            v = ns[dest(o.name)]
            shown = " ".join(v) if isinstance(v, list) else v
            given[o.name] = convert(o.name, v, f"--{o.name} {shown}" if not isinstance(v, bool) else f"--{o.name}")
    return given


def resolve(given: dict[str, Any], preset: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the preset, then the command line (already converted)."""
    cfg = defaults()
    cfg.update(preset or {})
    cfg.update(given)
    return cfg
