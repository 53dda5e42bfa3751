"""Where a file srlive writes goes: never over one that exists, unless --overwrite.

A take (--record), file mode's answer (--out) and --stats each name a file; when it exists, the
new one goes to the next free name beside it (``take.mid`` → ``take-2.mid`` → ``take-3.mid``) and
srlive says which, so last night's take is never lost to tonight's run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def next_free(path, exists: Callable[[Path], bool] = os.path.exists) -> Path:
    """``path`` when nothing is there; else the first of ``stem-2.ext``, ``stem-3.ext``, ... that is free."""
    p = Path(path)
    if not exists(p):
        return p
    n = 2
    while exists(p.with_name(f"{p.stem}-{n}{p.suffix}")):
        n += 1
    return p.with_name(f"{p.stem}-{n}{p.suffix}")


def claim(path, overwrite: bool, doing: str, say: Callable[[str], None],
          exists: Callable[[Path], bool] = os.path.exists) -> Path:
    """The path to write to: ``path`` itself with ``overwrite``, else the next free name; a move is
    said in one line, e.g. "take.mid exists; recording to take-2.mid (use --overwrite to replace it)"."""
    p = Path(path)
    if overwrite:
        return p
    free = next_free(p, exists)
    if free != p:
        say(f"{p} exists; {doing} {free} (use --overwrite to replace it)")
    return free
