"""srlive leaves cleanly, run as a real process on real JACK ports: a take recorded, then exit code
0, whether --bars or SIGTERM ends it. A segfault (-11) after "recorded take.mid" was seen in about
one exit in six while the JACK-Client watcher was left to Python's teardown; srlive.ports.close_all()
now closes every JACK client first."""

from __future__ import annotations

import signal
import time

import pytest
from live_helpers import DENSE, TEMPO

from benchmarks.session import LiveSession, phrase

pytestmark = pytest.mark.jack

RUNS = 3  # a few seconds each; six runs in all would catch a crash in one exit in six two times in three


@pytest.mark.parametrize("end", ["bars", "sigterm"])
def test_every_run_exits_0_after_recording_its_take(tmp_path, end):
    codes = []
    for i in range(RUNS):
        workdir = tmp_path / f"run{i}"
        workdir.mkdir()
        with LiveSession(tempo=TEMPO, bars=2 if end == "bars" else None, workdir=workdir, stats=False,
                         extra=[*DENSE, "--record", "take.mid"]) as run:
            run.wait_ready()
            run.play(phrase(TEMPO, 1))
            if end == "sigterm":
                time.sleep(1.2)  # into bar 2
                run.signal(signal.SIGTERM)
            code = run.wait(30)
        assert "recorded take.mid" in run.stderr, run.stderr
        assert (workdir / "take.mid").stat().st_size > 0
        codes.append(code)
    assert codes == [0] * RUNS, f"exit codes {codes}; the last run's stderr: {run.stderr}"


def test_sigusr1_prints_every_threads_stack_and_srlive_plays_on(tmp_path):
    """A session that seems to hang can be asked where it is: `kill -USR1 PID` writes every thread's
    Python stack to stderr, and srlive goes on and ends as it would."""
    with LiveSession(tempo=TEMPO, bars=3, workdir=tmp_path, stats=False,
                     extra=[*DENSE, "--mode", "solo", "--record", "take.mid"]) as run:
        run.wait_ready()
        time.sleep(0.3)
        run.signal(signal.SIGUSR1)
        code = run.wait(30)
    assert code == 0, run.stderr
    assert "Current thread" in run.stderr and 'File "' in run.stderr and "engine.py" in run.stderr, run.stderr
    assert "recorded take.mid" in run.stderr
