"""Never deaf in silence, on a real JACK server: srlive plays on a server of its own, the server is
killed under it, and srlive says so in one line and exits non-zero within seconds (it neither hangs
nor goes on silently)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.jackserver import TEST_COMMAND_NO_RT

pytestmark = pytest.mark.jack

ROOT = str(Path(__file__).resolve().parents[2])


def test_the_jack_server_killed_under_srlive_is_one_line_and_exit_1(tmp_path):
    name = "srlive-deaf-test"  # one name: a server killed here leaves its slot in JACK's registry, and
    # JACK takes back a dead server's slot only for its own name (8 slots: other names then fail to start)
    command = [name if a == "srlive-test" else a for a in TEST_COMMAND_NO_RT]
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                              start_new_session=True)
    srlive = None
    try:
        time.sleep(1.5)
        assert server.poll() is None
        srlive = subprocess.Popen([sys.executable, "-m", "srlive", "--mode", "solo", "--backend", "jack",
                                   "--tempo", "240", "--out", "deaf test out"], env=env, cwd=tmp_path,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        seen = ""
        while "ready in" not in seen and time.monotonic() < deadline:
            seen += srlive.stderr.readline()
        assert "ready in" in seen, seen
        time.sleep(1.0)  # a few bars played
        server.kill()
        server.wait(10)
        _, err = srlive.communicate(timeout=20)
        lines = [ln for ln in err.splitlines() if "JACK server stopped" in ln]
        assert srlive.returncode == 1, err
        assert len(lines) == 1 and "closing every note and stopping" in lines[0], err
        assert "Traceback" not in err
    finally:
        for proc in (srlive, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        # the same name started again and stopped cleanly gives its registry slot back
        again = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(1.5)
        again.terminate()
        again.wait(10)
