"""Notes lost inside JACK when its cycles come late: asynchronous against synchronous mode.

    python -m benchmarks.jack_stalls                  # 8 runs asynchronous, then 8 synchronous
    python -m benchmarks.jack_stalls --runs 4 --stall-ms 40 --every-ms 300

A shared virtual machine pauses now and then, and a JACK cycle comes late. Here that is done on
purpose: the benchmark's own JACK server (dummy driver, 256-frame periods, realtime where allowed)
is paused (SIGSTOP, SIGCONT) for ``--stall-ms`` every ``--every-ms`` while srlive accompanies one
bar of a dense phrase for 4 bars at 300 BPM. Two listening clients record srlive's output: the
session's recorder and a second one on the same port. A note-on neither heard closed is "stuck";
one only one listener missed was lost on the way to it; retriggers and stray note-offs are
messages repeated or out of order. srlive's --stats says it sent every note-off on time, so what
goes missing goes missing inside JACK. The real-port tests run synchronous mode for this reason
(benchmarks.jackserver).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from benchmarks.analysis import pair_notes
from benchmarks.clients import Recorder
from benchmarks.session import DENSE, LiveSession, phrase
from benchmarks import jackserver

SERVER = "srlive-stalls"
TEMPO = 300.0


def server_command(synchronous: bool) -> list[str]:
    realtime = ["--realtime", "-P", "70"] if jackserver.realtime_allowed() else ["--no-realtime"]
    return ["jackd", "-n", SERVER, *(["-S"] if synchronous else []), *realtime,
            "-d", "dummy", "-r", "48000", "-p", "256"]


#: the pauses run in a process of their own: a thread here could wait for the interpreter while a
#: JACK call holding it waits for the paused server, and the server would never be woken
PAUSER = ("import os, signal, sys, time\n"
          "pid, stall, every = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])\n"
          "while True:\n"
          "    time.sleep(every)\n"
          "    os.kill(pid, signal.SIGSTOP)\n"
          "    try:\n"
          "        time.sleep(stall)\n"
          "    finally:\n"
          "        os.kill(pid, signal.SIGCONT)\n")


def pause_now_and_then(pid: int, stall: float, every: float) -> subprocess.Popen:
    """A process that pauses ``pid`` for ``stall`` s every ``every`` s until it is terminated."""
    return subprocess.Popen([sys.executable, "-c", PAUSER, str(pid), str(stall), str(every)])


def one_run(server_pid: int, stall: float, every: float) -> dict:
    """One 4-bar accompany session between a performer and two listeners on srlive's output, the
    server paused while it plays (not while clients open and close: libjack gives up on a client
    whose server does not answer)."""
    with LiveSession(tempo=TEMPO, bars=4, extra=[*DENSE, "--mode", "accompany"]) as run:
        run.wait_ready()
        import jack  # JACK-Client, srlive's own dependency on Linux

        client = jack.Client("stalls-probe", no_start_server=True)
        try:
            source = client.get_all_connections(run.recorder.full_name)[0].name
        finally:
            client.close()
        second = Recorder(client="listener2", target=source)
        try:
            time.sleep(0.2)
            pauser = pause_now_and_then(server_pid, stall, every)
            try:
                run.play(phrase(TEMPO, 1))
                code = run.wait(40)
            finally:
                pauser.terminate()  # it may die mid-pause: the server is woken here whatever happened
                pauser.wait()
                os.kill(server_pid, signal.SIGCONT)
            time.sleep(0.1)
            heard = [pair_notes(run.recorder.snapshot()), pair_notes(second.snapshot())]
        finally:
            second.close()
    stuck = [{(ch, p, round(on, 4)) for on, ch, p in h.stuck} for h in heard]
    return {"code": code, "notes": [len(h.notes) for h in heard],
            "stuck_both": len(stuck[0] & stuck[1]), "stuck_one": len(stuck[0] ^ stuck[1]),
            "repeated": sum(h.retriggers + h.stray_offs for h in heard)}


def measure(synchronous: bool, runs: int, stall: float, every: float) -> list[dict]:
    server = jackserver.use_server(SERVER, server_command(synchronous))
    if not server.started:
        raise jackserver.JackUnavailable(f"a JACK server named {SERVER} was already running; stop it first")
    try:
        return [one_run(server.process.pid, stall, every) for _ in range(runs)]
    finally:
        server.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.jack_stalls", description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8, help="sessions in each mode (default 8)")
    ap.add_argument("--stall-ms", type=float, default=40.0, help="how long each pause lasts (default 40)")
    ap.add_argument("--every-ms", type=float, default=300.0, help="time between pauses (default 300)")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.stall_ms <= 0 or args.every_ms <= 0:
        print("jack_stalls: --runs, --stall-ms and --every-ms must be positive", file=sys.stderr)
        return 2
    try:
        for synchronous in (False, True):
            mode = "synchronous (-S)" if synchronous else "asynchronous (JACK's default)"
            results = measure(synchronous, args.runs, args.stall_ms / 1000, args.every_ms / 1000)
            bad = sum(1 for r in results if r["stuck_both"] or r["stuck_one"] or r["repeated"])
            print(f"{mode}: {bad} of {len(results)} runs lost or repeated messages", flush=True)
            for i, r in enumerate(results):
                print(f"  run {i}: exit {r['code']}, notes heard {r['notes'][0]}/{r['notes'][1]}, stuck at both "
                      f"listeners {r['stuck_both']}, at one {r['stuck_one']}, repeated {r['repeated']}", flush=True)
    except jackserver.JackUnavailable as err:
        print(f"jack_stalls: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
