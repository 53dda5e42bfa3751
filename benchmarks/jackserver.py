"""A JACK server for tests and benchmarks: use the running one, or start a dummy one.

    with jack_server() as server:     # server.started is True only if we started it
        ...

The dummy driver needs no sound card: ``jackd --no-realtime -d dummy -r 48000 -p 64`` (1.3 ms
periods). A server we started is stopped on exit; one that was already running is left alone.

    python -m benchmarks.jackserver          # say whether a server runs; start one in the foreground if not
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator, Optional

from srlive.ports import forget_jack_server, jack_running

DUMMY_COMMAND = ["jackd", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "64"]
# The real-port tests run on their own server (its own name keeps them off other JACK users'
# graphs), in synchronous mode (-S), realtime where the machine allows it. In JACK's default
# asynchronous mode a cycle that runs late — a client thread preempted on a loaded machine, or the
# whole virtual machine paused for tens of ms — lets a writer refill a port buffer its reader has
# not read yet, and repeated or lost MIDI messages were seen that way (JACK 1.9.21): a note-off lost
# there is a note the test hears stuck although srlive sent its note-off on time (a CI run failed so).
# Synchronous mode waits for every client each period, so a late cycle is late, never garbled: with
# the server paused 40 ms every 300 ms, the 4-bar accompany run lost or repeated notes in 7 of 8 runs
# asynchronous (on one of two listening clients or both) and in 0 of 8 synchronous
# (`python -m benchmarks.jack_stalls`). Realtime client threads aren't preempted by ordinary load;
# the fault tests (srlive killed outright) pass on it.
# Its periods are 256 frames (5.3 ms), not 64: a JACK MIDI port holds one period's worth of events
# (about 19 at 64 frames, 80 at 256), and the tests' dense bars (threshold 0.05, ~100 notes a bar)
# at a bar line, on a slow shared machine where a cycle can come late, lost notes that way
# (srlive.ports.jack_backend.JACK_BURST). The timing benchmarks keep 64 frames (RT_COMMAND).
TEST_SERVER = "srlive-test"
TEST_COMMAND_RT = ["jackd", "-n", TEST_SERVER, "-S", "--realtime", "-P", "70", "-d", "dummy", "-r", "48000", "-p", "256"]
TEST_COMMAND_NO_RT = ["jackd", "-n", TEST_SERVER, "-S", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"]


def realtime_allowed() -> bool:
    """Can this user give a thread SCHED_FIFO priority (what jackd --realtime needs)?"""
    probe = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))"
    try:
        return subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def test_command() -> list[str]:
    return TEST_COMMAND_RT if realtime_allowed() else TEST_COMMAND_NO_RT


# A private realtime one for timing benchmarks (what stage setups run: qjackctl's default is realtime).
BENCH_SERVER = os.environ.get("SRLIVE_BENCH_SERVER", "srlive-bench")
RT_COMMAND = ["jackd", "-n", BENCH_SERVER, "--realtime", "-P", "70", "-d", "dummy", "-r", "48000", "-p", "64"]


def use_server(name: str, command: list[str]) -> "JackServer":
    """Point this process and its children at the JACK server ``name``; start it if not running."""
    os.environ["JACK_DEFAULT_SERVER"] = name
    forget_jack_server()  # a watching client opened on another server must not be reused
    return start(command)


def use_private_rt_server() -> "JackServer":
    return use_server(BENCH_SERVER, RT_COMMAND)


def use_test_server() -> "JackServer":
    return use_server(TEST_SERVER, test_command())


class JackUnavailable(RuntimeError):
    """jackd is missing or would not start; the message says what to do."""


class JackServer:
    def __init__(self, process: Optional[subprocess.Popen] = None):
        self.process = process

    @property
    def started(self) -> bool:
        return self.process is not None

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        forget_jack_server()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def start(command: list[str] = DUMMY_COMMAND, timeout: float = 10.0, log=None) -> JackServer:
    """Use a running JACK server (returns JackServer() that owns nothing) or start ``command``."""
    if jack_running():
        return JackServer()
    if shutil.which(command[0]) is None:
        raise JackUnavailable(
            f"{command[0]} is not installed: real-port tests and benchmarks need JACK "
            "(Debian/Ubuntu: `apt-get install jackd2`; macOS: `brew install jack`)"
        )
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            last = " ".join(err.strip().splitlines()[-2:]) if err else f"exit {proc.returncode}"
            raise JackUnavailable(f"{' '.join(command)} stopped at once: {last}")
        if jack_running():
            if proc.stderr is not None:
                # Keep draining jackd's chatter so a full pipe never blocks it.
                threading.Thread(target=proc.stderr.read, daemon=True).start()
            return JackServer(proc)
        time.sleep(0.05)
    JackServer(proc).stop()
    raise JackUnavailable(f"{' '.join(command)} did not answer within {timeout:.0f} s")


def server_or_say(prog: str, *starters: Callable[[], JackServer]) -> Optional[JackServer]:
    """The server from the first of ``starters`` that gets one, or None once the last has failed and
    its reason is printed as one line on stderr (``prog: ...``): the caller then exits 2."""
    for starter in starters:
        try:
            return starter()
        except JackUnavailable as err:
            reason = err
    print(f"{prog}: {reason}", file=sys.stderr)
    return None


@contextlib.contextmanager
def jack_server(command: list[str] = DUMMY_COMMAND) -> Iterator[JackServer]:
    server = start(command)
    try:
        yield server
    finally:
        server.stop()


def main(argv=None) -> int:
    """``python -m benchmarks.jackserver [test]``: run a dummy JACK server in the foreground until
    Ctrl-C or SIGTERM (``test``: the real-port tests' server, as .ci/run starts it)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["test"]:
        os.environ["JACK_DEFAULT_SERVER"] = TEST_SERVER
        command = test_command()
    else:
        command = DUMMY_COMMAND
    if jack_running():
        print("a JACK server is running", flush=True)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = server_or_say("benchmarks.jackserver", lambda: start(command))
    if server is None:
        return 2
    print(f"started {' '.join(command)} (pid {server.process.pid}); Ctrl-C stops it", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
