"""Keeping srlive's memory in RAM while it plays (best effort, Linux).

Between two window closes srlive touches little of its memory. A kernel that reclaims pages left
untouched for a while (memory pressure, or a proactive-reclaim scheme such as DAMON's ``pageout``)
can take the model's and the interpreter's pages away in that time; the next touch then waits
for the disk, tens of ms, and a note or a bar goes out late. JACK and audio programs lock their
memory for that reason, and so does srlive while it plays:
``mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`` locks the pages already in RAM and each page
as it is first touched (nothing is read in ahead, so resident memory stays what it was).

It is tried as root, or with an unlimited ``memlock`` limit (what the ``audio`` group of JACK
setups has, /etc/security/limits.d/audio.conf; ``ulimit -l`` says ``unlimited``). With a finite
limit it is not tried, because every later allocation would count against the limit and could
fail mid-set.
Without the right nothing changes. ``SRLIVE_NO_REALTIME`` opts out, as for real-time priority.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4  # <sys/mman.h> on Linux (MCL_ONFAULT: kernel 4.4+)


def may_lock() -> bool:
    """Linux, not opted out, and a memlock right that no allocation can run into."""
    if not sys.platform.startswith("linux") or os.environ.get("SRLIVE_NO_REALTIME"):
        return False
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    return os.geteuid() == 0 or soft == resource.RLIM_INFINITY


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def lock_memory() -> bool:
    """Lock what is in RAM and what gets touched from now on; True when locked."""
    if not may_lock():
        return False
    try:
        return _libc().mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0
    except (OSError, AttributeError):
        return False


def unlock_memory() -> None:
    """Undo lock_memory (the session is over; in-process callers go on unlocked)."""
    try:
        _libc().munlockall()
    except (OSError, AttributeError):
        pass
