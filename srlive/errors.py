"""User-facing errors.

Every mistake a performer can make (unknown port, missing or corrupt model, bad preset,
impossible tempo, unwritable file) is raised as a UserError whose message is ONE line that
names the problem and the fix. Entry points catch it, print ``srlive: <message>`` on stderr
and exit 2 — never a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; str(err) is a single line naming the fix."""

    exit_code = 2

    def __init__(self, message: str):
        message = " ".join(str(message).split())  # always one line
        super().__init__(message)


class ModelError(UserError):
    """A model file that is missing, truncated, foreign or of the wrong shape."""


class PortError(UserError):
    """A MIDI port or backend that can't be found or opened."""


class PresetError(UserError):
    """A preset with an unknown key or a bad value."""


class BadValue(ValueError):
    """A value an option can't take; str() says what it can take (srlive.options' converters, and
    the ones the options borrow: scales, selection weights, velocity curves)."""
