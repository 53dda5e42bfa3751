"""Scales by name: the roots and scale names ``--scale`` takes, and the parser that reads them.

``--scale "D dorian"`` names a root and a scale; ``off`` (the default) locks nothing and
``follow`` locks to the key the performer plays in (srlive.model.keylock.KeyFollower).

- Roots: a letter A-G, upper or lower case, with an optional accidental right after it
  (``#``/``♯``/``b``/``♭``) or the word ``sharp``/``flat`` (``F#``, ``Gb``, ``f sharp``, ``bb``,
  ``E#`` = F). A root alone means its major scale; ``Am``/``F#m`` mean natural minor.
- Scales (aliases in brackets): major (ionian), minor (natural minor, aeolian), harmonic minor,
  dorian, phrygian, lydian, mixolydian, locrian, major pentatonic (pentatonic), minor pentatonic,
  blues (minor pentatonic with its flat fifth).

Light on purpose (no numpy), so srlive.options can take ``parse_scale`` as a converter and
``srlive --help`` stays fast.
"""

from __future__ import annotations

import difflib
import re
from typing import NamedTuple, Union

from srlive.errors import BadValue

#: scale name → semitones above the root
INTERVALS: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}
SCALE_NAMES = tuple(INTERVALS)
ALIASES = {
    "ionian": "major",
    "maj": "major",
    "natural minor": "minor",
    "aeolian": "minor",
    "min": "minor",
    "m": "minor",
    "harmonic": "harmonic minor",
    "pentatonic": "major pentatonic",
    "pentatonic major": "major pentatonic",
    "pentatonic minor": "minor pentatonic",
    "minor blues": "blues",
}
LETTERS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
ACCIDENTALS = {"#": 1, "♯": 1, "sharp": 1, "b": -1, "♭": -1, "flat": -1}
#: how a pitch class is spelled when srlive names a scale
ROOT_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
OFF, FOLLOW = "off", "follow"

_ROOT = re.compile(r"([a-g])(?:(#|♯|b|♭)|[\s_-]*(sharp|flat)(?![a-z]))?[\s_-]*(.*)", re.IGNORECASE)


class Scale(NamedTuple):
    """A root (pitch class, C = 0) and a scale name (a key of INTERVALS)."""

    root: int
    name: str

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """The scale's pitch classes (C = 0), ascending."""
        return tuple(sorted((self.root + i) % 12 for i in INTERVALS[self.name]))

    def contains(self, pitch: int) -> bool:
        return (int(pitch) - self.root) % 12 in INTERVALS[self.name]

    def __str__(self) -> str:
        return f"{ROOT_NAMES[self.root % 12]} {self.name}"


ScaleSetting = Union[Scale, None, str]  # a Scale, None (off) or "follow"

VALID = (f"ROOT SCALE like \"D dorian\" (ROOT C, C#, Db ... B; SCALE {', '.join(SCALE_NAMES)}), "
         f"{OFF} or {FOLLOW}")


def parse_scale(value) -> ScaleSetting:
    """``"D dorian"`` → Scale(2, "dorian"); ``"off"`` → None; ``"follow"`` → "follow".

    Takes what it returns, too (a Scale, None, "follow"), so converting twice is harmless.
    Raises srlive.errors.BadValue with one line naming the valid values."""
    if value is None or isinstance(value, Scale):
        return value
    hint = ""
    if isinstance(value, str):
        text = " ".join(value.replace("_", " ").replace("-", " ").split()).lower()
        if text in (OFF, "none"):
            return None
        if text == FOLLOW:
            return FOLLOW
        found = _ROOT.fullmatch(value.strip())
        if found:
            letter, sign, word, rest = found.groups()
            root = LETTERS[letter.lower()] + ACCIDENTALS[(sign or word or "#").lower()] * bool(sign or word)
            name = " ".join(rest.replace("_", " ").replace("-", " ").split()).lower() or "major"
            name = ALIASES.get(name, name)
            if name in INTERVALS:
                return Scale(root % 12, name)
            close = difflib.get_close_matches(name, [*INTERVALS, *ALIASES], n=1)
            hint = f"no scale {name!r}{f' (did you mean {close[0]}?)' if close else ''}; "
    raise BadValue(f"{hint}choose {VALID}")


parse_scale.valid = VALID
