"""A JACK server for tests and benchmarks: use the running one, or start a dummy one.

    with jack_server() as server:     # server.started is True only if we started it
        ...

The dummy driver needs no sound card: ``jackd --no-realtime -d dummy -r 48000 -p 64`` (1.3 ms
periods). A server we started is stopped on exit; one that was already running is left alone.

    python -m srlive.jackserver          # say whether a server runs; start one in the foreground if not
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Iterator, Optional

from srlive.ports import jack_running

DUMMY_COMMAND = ["jackd", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "64"]
# The real-port tests run on their own server, in JACK's synchronous mode (-S): there the server
# waits for every client to finish a period before starting the next. In the default asynchronous
# mode a client that runs late (a Python callback on a loaded machine) reads a port buffer its
# writer is already refilling: repeated and lost MIDI messages were seen that way (JACK 1.9.21).
# Clients find it through JACK_DEFAULT_SERVER, which use_server() sets for this process and its
# children. .ci/run starts the same server before the tests.
TEST_SERVER = "srlive-test"
TEST_COMMAND = ["jackd", "-n", TEST_SERVER, "-S", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "64"]
# A private realtime one for timing benchmarks (what stage setups run: qjackctl's default is realtime).
BENCH_SERVER = "srlive-bench"
RT_COMMAND = ["jackd", "-n", BENCH_SERVER, "-S", "--realtime", "-P", "70", "-d", "dummy", "-r", "48000", "-p", "64"]


def use_server(name: str, command: list[str]) -> "JackServer":
    """Point this process and its children at the JACK server ``name``; start it if not running."""
    import os

    os.environ["JACK_DEFAULT_SERVER"] = name
    from srlive.ports import _jack

    _jack().close()  # a watching client opened on another server must not be reused
    return start(command)


def use_private_rt_server() -> "JackServer":
    return use_server(BENCH_SERVER, RT_COMMAND)


def use_test_server() -> "JackServer":
    return use_server(TEST_SERVER, TEST_COMMAND)


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
        from srlive.ports import _jack

        _jack().close()
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


@contextlib.contextmanager
def jack_server(command: list[str] = DUMMY_COMMAND) -> Iterator[JackServer]:
    server = start(command)
    try:
        yield server
    finally:
        server.stop()


def main(argv=None) -> int:
    if jack_running():
        print("a JACK server is running")
        return 0
    try:
        server = start()
    except JackUnavailable as err:
        print(f"srlive.jackserver: {err}", file=sys.stderr)
        return 2
    print(f"started {' '.join(DUMMY_COMMAND)} (pid {server.process.pid}); Ctrl-C stops it")
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
