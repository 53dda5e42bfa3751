"""The one way a training or export tool ends on a mistake: one line on stderr, a non-zero exit.

Every entry point of srlive_training and srlive_export is ``main(argv=None) -> int`` and runs its
work through ``run_tool``: a UserError (the user's to fix: a bad option, a file that isn't what it
should be) is its message after the tool's name and its exit code (2); an OSError (a file that
can't be read or written) is one line naming it and the exit code 2; never a traceback.
"""

from __future__ import annotations

import sys
from typing import Callable

from srlive.errors import UserError


def os_error_line(err: OSError, writing: str | None = None) -> str:
    """An OSError in one line: what went wrong and with which file."""
    what = err.strerror or str(err)
    if writing is not None:
        return f"cannot write {writing}: {what}"
    return f"{what}: {err.filename}" if err.filename else what


def run_tool(prog: str, work: Callable[[], int | None], writing: str | None = None) -> int:
    """``work()``'s exit code (None: 0), or the one line and exit code of the mistake it made.
    ``writing`` names the file the tool writes, for an OSError's line."""
    try:
        code = work()
    except UserError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        print(f"{prog}: {os_error_line(err, writing)}", file=sys.stderr)
        return 2
    return 0 if code is None else code
