"""Shared fixtures.

Tests marked ``jack`` get a JACK server named ``srlive-test`` (dummy driver, 48 kHz, 256 frames;
synchronous mode, realtime where allowed — benchmarks/jackserver.py says why) — used when it runs
(.ci/run starts it with ``python -m benchmarks.jackserver test``), else started for the session and
stopped at its end. Its own name keeps the tests off other JACK users' graphs. Real-port tests are
part of the suite and run in CI: when jackd is missing or won't start they FAIL with the fix,
they are never skipped.

``jack_clients`` makes the helper JACK clients a real-port test needs: a ``performer`` (an output
that plays into srlive's input), a ``recorder`` (an input that receives srlive's output, stamping
arrivals with perf_counter) and a ``daw`` clock source, closed after the test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI (.ci/run sets CI) draws the same examples on every run, so its verdict never depends on the
# draw; a developer's runs keep drawing new ones, which is how edge cases are found
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def jack_server():
    from benchmarks import jackserver

    try:
        server = jackserver.use_test_server()
    except jackserver.JackUnavailable as err:
        pytest.fail(f"real-port tests need a JACK server: {err}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _jack_for_marked_tests(request):
    if request.node.get_closest_marker("jack") is not None:
        request.getfixturevalue("jack_server")


class JackClients:
    def __init__(self):
        from benchmarks import clients

        self._clients_mod = clients
        self.performer = clients.Performer()
        self.recorder = clients.Recorder()
        self._extra = []

    def clock(self):
        source = self._clients_mod.ClockSource()
        self._extra.append(source)
        return source

    def close(self):
        for client in [self.performer, self.recorder, *self._extra]:
            try:
                getattr(client, "shutdown", client.close)()
            except Exception:  # noqa: BLE001 - a test may have closed it already
                pass


@pytest.fixture
def jack_clients(jack_server):
    clients = JackClients()
    yield clients
    clients.close()
