"""Run a command inside a private network namespace, where Ableton Link can't reach the machine's
real interfaces.

Link multicasts on every interface it sees. Every Link peer the tests and benchmarks start runs
inside a namespace made here: ``unshare -n`` (as root), then ``lo`` up with multicast on and a
route for 224.0.0.0/4 on ``lo``, so peers in the same namespace find each other over loopback and
nothing leaves it. ``only_loopback()`` is the guard each peer checks before it starts.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess

SETUP = "ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo"


def unshare_problem() -> str | None:
    """Why a private network namespace can't be made here, or None when it can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2)"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "unshare -n needs root"
    try:
        r = subprocess.run(["unshare", "-n", "--", "sh", "-c", SETUP], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare -n failed ({e})"
    if r.returncode != 0:
        return f"unshare -n failed: {r.stderr.decode(errors='replace').strip()[:200]}"
    return None


def command(argv: list[str]) -> list[str]:
    """``argv`` wrapped to run in a new private network namespace with multicast on ``lo``."""
    return ["unshare", "-n", "--", "sh", "-c", f"{SETUP} && exec {shlex.join(argv)}"]


def run(argv: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(command(argv), timeout=timeout, **kw)


def only_loopback() -> bool:
    """True when the only interface this process sees is ``lo`` (a private namespace)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def refuse_unless_private() -> None:
    """Exit (2) before any Link peer starts when this process sees more than ``lo``."""
    if not only_loopback():
        names = ", ".join(name for _, name in socket.if_nameindex())
        raise SystemExit(f"refusing to start a Link peer outside a private network namespace (sees {names}); "
                         f"run it through benchmarks/link_netns.command()")
