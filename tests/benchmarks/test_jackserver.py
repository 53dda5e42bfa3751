"""benchmarks.jackserver: a missing or failing jackd is reported with the fix, never ignored."""

import sys

import pytest

from benchmarks import jackserver


def test_missing_jackd_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(jackserver, "jack_running", lambda: False)
    with pytest.raises(jackserver.JackUnavailable, match="apt-get install jackd2"):
        jackserver.start(["no-such-jackd-binary", "-d", "dummy"])


def test_a_server_that_dies_at_once_is_reported_with_its_words(monkeypatch):
    monkeypatch.setattr(jackserver, "jack_running", lambda: False)
    command = [sys.executable, "-c", "import sys; sys.stderr.write('cannot open driver\\n'); sys.exit(1)"]
    with pytest.raises(jackserver.JackUnavailable, match="cannot open driver"):
        jackserver.start(command, timeout=5)


def test_a_running_server_is_used_and_never_stopped(monkeypatch):
    monkeypatch.setattr(jackserver, "jack_running", lambda: True)
    server = jackserver.start(["no-such-jackd-binary"])
    assert not server.started
    server.stop()  # nothing to stop


def test_the_test_server_waits_for_every_client_whether_realtime_or_not(monkeypatch):
    # asynchronous JACK loses or repeats MIDI messages when a cycle runs late (jackserver's comment)
    for allowed in (True, False):
        monkeypatch.setattr(jackserver, "realtime_allowed", lambda: allowed)
        command = jackserver.test_command()
        assert "-S" in command and ("--realtime" in command) == allowed


def test_a_benchmark_takes_the_first_server_it_gets_or_one_line_saying_why(capsys):
    def unavailable(why):
        def starter():
            raise jackserver.JackUnavailable(why)
        return starter

    got = jackserver.JackServer()
    assert jackserver.server_or_say("bench", unavailable("no realtime"), lambda: got) is got
    assert capsys.readouterr().err == ""
    assert jackserver.server_or_say("bench", unavailable("no realtime"), unavailable("jackd is not installed")) is None
    assert capsys.readouterr().err == "bench: jackd is not installed\n"
