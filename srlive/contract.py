"""The contract every part of srlive shares: the bar roll's shape, the ONNX files' names and
metadata, the clock's units, the defaults and ranges, and the names of modes, backends, devices and
live controls (docs/design.md). Each is written here once; the live tool, training, export and the
tests import it from here.

Light on purpose (no numpy, no onnxruntime), so `srlive --help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- the bar roll (docs/design.md, "The bar roll") ------------------------------------------------
LOWEST_PITCH = 21  # row 0: A0
HIGHEST_PITCH = 108  # row 87: C8
N_PITCHES = HIGHEST_PITCH - LOWEST_PITCH + 1  # 88 piano keys
STEPS = 16  # sixteenth steps in a 4/4 bar
BEATS_PER_BAR = 4
STEPS_PER_BEAT = STEPS // BEATS_PER_BAR
BAR_SHAPE = (N_PITCHES, STEPS)  # one bar roll
DEFAULT_THRESHOLD = 0.5  # a cell sounds from this value


@dataclass(frozen=True)
class Meter:
    """A bar's meter: its time signature, its length in sixteenth steps (the roll's width), and the
    beats a metronome counts in it. Every meter's step is a sixteenth, so a clock pulse is always
    PULSES_PER_STEP and a tempo is always quarter notes a minute (as MIDI clock and a DAW count it)."""

    name: str  # "4/4", "3/4", "6/8"
    numerator: int
    denominator: int
    steps: int  # sixteenths in a bar: the roll's width
    beats: int  # counted beats: 4/4 four quarters, 3/4 three quarters, 6/8 two dotted quarters
    model: str  # the shipped model (srlive/models/<model>) trained on bars of this length

    @property
    def steps_per_beat(self) -> int:
        return self.steps // self.beats

    @property
    def quarters(self) -> float:
        """Quarter notes in a bar (a bar lasts quarters × 60/tempo seconds)."""
        return self.steps / 4

    @property
    def beat_steps(self) -> tuple[int, ...]:
        """The steps a metronome clicks on; step 0 (the downbeat) is accented."""
        return tuple(range(0, self.steps, self.steps_per_beat))

    @property
    def pulses(self) -> int:
        """MIDI clock pulses in a bar (PULSES_PER_STEP a sixteenth)."""
        return self.steps * PULSES_PER_STEP

    @property
    def time_signature(self) -> tuple[int, int]:
        return (self.numerator, self.denominator)


#: the meters srlive plays, by name; bars of 12 sixteenths (3/4, 6/8) share the triple model
METERS = {
    "4/4": Meter("4/4", 4, 4, 16, 4, "default"),
    "3/4": Meter("3/4", 3, 4, 12, 3, "triple"),
    "6/8": Meter("6/8", 6, 8, 12, 2, "triple"),
}
DEFAULT_METER = "4/4"

# --- the model and its ONNX files (docs/design.md, "The model and its ONNX contract") -------------
LATENT = 128  # size of z, mu and log_scale
#: bars the encoder hears, stacked as channels of its input: the bar heard, and with 2 the bar before
#: it (srlive.context; 1 without it)
CONTEXTS = (1, 2)
#: a model may instead say which bars it hears (srlive.history): the bar offsets of its channels,
#: increasing from 1 (the bar answered; 2 the one that went by before it, ...) up to HISTORY_MAX;
#: without it, context 1 hears (1,) and context 2 (1, 2). The step decoder hears (1, 2, 4, 8).
HISTORY_MAX = 8
#: with context 2, the second bar may instead be the performer's memory of the last
#: srlive.memory bars they played (1..MEMORY_MAX; 0 or absent: the bar before the bar answered)
MEMORY_MAX = 8
#: what the memory keeps of those bars (srlive.memory_kind): "bars", their mean; "rhythm", at each
#: step the share of them with a note starting there, the same on every pitch (their pace and
#: rhythm, none of their pitches)
MEMORY_KINDS = ("bars", "rhythm")
#: the encoder's log scale is capped here when z is sampled (training, export and runtime alike):
#: z = mu + temperature * noise * exp(min(log_scale, LOG_SCALE_MAX))
LOG_SCALE_MAX = 1.0
FORMAT_VERSION = 1  # srlive.format
#: metadata key of each field, as written into every ONNX file (srlive.<field>)
META = {
    k: f"srlive.{k}"
    for k in ("format", "config", "lowest_pitch", "steps", "latent", "data", "trained_steps", "created", "temperature",
              "candidates", "selection", "context", "memory", "memory_kind", "history")
}
#: file → (input names, output names), in order
ONNX_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "encoder.onnx": (("bar",), ("mu", "log_scale")),
    "generator.onnx": (("z",), ("bar",)),
    "step.onnx": (("bar", "noise", "temperature"), ("next_bar",)),
    "critic.onnx": (("bar",), ("logit",)),  # optional: the discriminator, to rank candidate answers
}
#: the files whose `bar` input is what the encoder hears: [N, srlive.context, 88, S] (the others' bars are one bar)
HEARING_FILES = ("encoder.onnx", "step.onnx")

#: the temperature a model plays at when neither the performer nor the model says (models without
#: srlive.temperature), and the range srlive takes from the command line and from a model alike
DEFAULT_TEMPERATURE = 1.0
TEMPERATURE_RANGE = (0.0, 4.0)

# --- time (docs/design.md, "Time") ----------------------------------------------------------------
DEFAULT_TEMPO = 120.0  # BPM when neither the performer, the DAW nor a file gives one
TEMPO_RANGE = (20.0, 300.0)  # BPM srlive takes
PULSES_PER_QUARTER = 24  # MIDI clock
PULSES_PER_BAR = PULSES_PER_QUARTER * BEATS_PER_BAR
PULSES_PER_STEP = PULSES_PER_BAR // STEPS

# --- names the command line, the presets and the engine share --------------------------------------
MODES = ("accompany", "call-response", "solo")
BACKENDS = ("auto", "alsa", "jack", "coremidi", "windows")
DEVICES = ("auto", "cpu", "cuda")
CC_TARGETS = ("temperature", "threshold", "mode", "mute", "panic", "scale", "variety")
SELECTION_TERMS = ("critic", "motif", "density", "length", "copy")  # what answer selection scores
MAX_CANDIDATES = 256  # the most candidate answers a bar draws
VELOCITY_POLICIES = ("model", "follow")  # or a fixed velocity 1..127
