"""The contract every part of srlive shares: the bar roll's shape, the ONNX files' names and
metadata, the clock's units, the defaults and ranges, and the names of modes, backends, devices and
live controls (docs/design.md). Each is written here once; the live tool, training, export and the
tests import it from here.

Light on purpose (no numpy, no onnxruntime), so `srlive --help` stays fast.
"""

from __future__ import annotations

# --- the bar roll (docs/design.md, "The bar roll") ------------------------------------------------
LOWEST_PITCH = 21  # row 0: A0
HIGHEST_PITCH = 108  # row 87: C8
N_PITCHES = HIGHEST_PITCH - LOWEST_PITCH + 1  # 88 piano keys
STEPS = 16  # sixteenth steps in a 4/4 bar
BEATS_PER_BAR = 4
STEPS_PER_BEAT = STEPS // BEATS_PER_BAR
BAR_SHAPE = (N_PITCHES, STEPS)  # one bar roll
DEFAULT_THRESHOLD = 0.5  # a cell sounds from this value

# --- the model and its ONNX files (docs/design.md, "The model and its ONNX contract") -------------
LATENT = 128  # size of z, mu and log_scale
#: the encoder's log scale is capped here when z is sampled (training, export and runtime alike):
#: z = mu + temperature * noise * exp(min(log_scale, LOG_SCALE_MAX))
LOG_SCALE_MAX = 1.0
FORMAT_VERSION = 1  # srlive.format
#: metadata key of each field, as written into every ONNX file (srlive.<field>)
META = {
    k: f"srlive.{k}"
    for k in ("format", "config", "lowest_pitch", "steps", "latent", "data", "trained_steps", "created", "temperature",
              "candidates", "selection")
}
#: file → (input names, output names), in order
ONNX_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "encoder.onnx": (("bar",), ("mu", "log_scale")),
    "generator.onnx": (("z",), ("bar",)),
    "step.onnx": (("bar", "noise", "temperature"), ("next_bar",)),
    "critic.onnx": (("bar",), ("logit",)),  # optional: the discriminator, to rank candidate answers
}

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
