"""What the engine needs of the options, and how a live control (a preset's ``[cc]`` table) changes it.

Settings are frozen: a live control never changes a field under a running bar. ``apply_control``
returns a new Settings (``dataclasses.replace``) and the engine swaps its one reference at once, so
whoever read ``engine.settings`` keeps one consistent set for the whole job.

Live controls map a CC value (0..127) to temperature (0..2), threshold (0.05..0.95), mode (value
in thirds: accompany / call-response / solo), mute (≥ 64 on), panic (≥ 64) and scale (< 64 off,
≥ 64 follow the performer's key) and variety (how many candidates a bar draws to choose from:
0 → 32, 127 → 1, the model's first answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from srlive.contract import DEFAULT_METER, DEFAULT_TEMPERATURE, DEFAULT_TEMPO, DEFAULT_THRESHOLD, METERS, MODES, Meter
from srlive.live.render import Velocity
from srlive.live.scheduler import DEFAULT_MAX_LATE
from srlive.model.scales import FOLLOW, ScaleSetting
from srlive.model.selection import Weights


@dataclass(frozen=True)
class Settings:
    """What the engine needs of the options (channels are 0-based here, 1-based on the CLI)."""

    mode: str = "accompany"
    tempo: float = DEFAULT_TEMPO
    sync: bool = False
    link: bool = False  # an Ableton Link session is the clock (srlive.clocks.link), run by the --sync path
    count_in: int = 0
    metronome: bool = False
    metronome_channel: int = 9
    temperature: float = DEFAULT_TEMPERATURE
    threshold: float = DEFAULT_THRESHOLD
    velocity: Velocity = "model"
    transpose: int = 0
    channel: int = 0
    in_channel: int | None = None
    thru: bool = False
    seed: int | None = None
    bars: int | None = None
    max_late: float = DEFAULT_MAX_LATE
    allow_feedback: bool = False
    cc: dict[int, str] = field(default_factory=dict)  # CC number -> contract.CC_TARGETS name
    scale: ScaleSetting = None  # a Scale, "follow" (the performer's key) or None (off)
    candidates: int | None = None  # answers drawn per bar to choose from (None: the model's own)
    selection: Weights | None = None  # how they are scored (None: the model's own weights)
    offset: float = 0.0  # seconds added to every scheduled send (--offset; negative: early)
    input_latency: float = 0.0  # seconds the input path adds, taken off every arrival stamp
    input_cycle: float = 0.0  # seconds: arrival stamps are taken once a cycle this long (JACK), else 0
    meter: Meter = METERS[DEFAULT_METER]  # the bars' time signature and length in sixteenths (--meter)


def apply_control(settings: Settings, target: str, value: int) -> tuple[Settings, str | None]:
    """(the settings after CC ``target`` = ``value``, what the engine must do: 'mute-on' /
    'mute-off' / 'panic' / None). ``settings`` itself is left as it was."""
    v = min(max(int(value), 0), 127)
    if target == "temperature":
        return replace(settings, temperature=round(v / 127 * 2.0, 3)), None
    if target == "threshold":
        return replace(settings, threshold=round(0.05 + v / 127 * 0.9, 3)), None
    if target == "mode":
        return replace(settings, mode=MODES[min(v * len(MODES) // 128, len(MODES) - 1)]), None
    if target == "mute":
        return settings, "mute-on" if v >= 64 else "mute-off"
    if target == "panic":
        return settings, "panic" if v >= 64 else None
    if target == "scale":
        return replace(settings, scale=FOLLOW if v >= 64 else None), None
    if target == "variety":  # how hard srlive selects: 0 → 32 candidates a bar, 127 → 1 (none)
        return replace(settings, candidates=max(1, round(2 ** (5 * (1 - v / 127))))), None
    return settings, None
