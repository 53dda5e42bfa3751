"""A scripted Ableton Link peer (aalink) for the Link tests and benchmark; runs only inside a
private network namespace (benchmarks/link_netns.py).

Joins (or starts) the session at --tempo with quantum one bar and answers commands on stdin, one
JSON line each on stdout:

- ``snap``: ``{"perf", "beat", "tempo", "peers", "playing"}``: its beat (quantum 4) at
  time.perf_counter() ``perf``, read between two perf_counter readings (their mean);
- ``tempo BPM``: sets the session's tempo (answers ``{"perf"}`` of the change);
- ``play 1|0``: starts or stops the session (start/stop sync on), answers ``{"perf"}``;
- ``quit``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from link_netns import refuse_unless_private


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tempo", type=float, default=133.0)
    args = p.parse_args(argv)
    refuse_unless_private()
    from srlive.clocks.link import AalinkSession
    from srlive.errors import UserError

    try:
        session = AalinkSession(args.tempo, enable_delay=0.0)
    except UserError as e:
        print(f"link_peer: {e}", file=sys.stderr)
        return 2
    session.enable()
    link = session.link
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "snap":
            a = time.perf_counter()
            beat = link.beat
            b = time.perf_counter()
            out = {"perf": (a + b) / 2, "beat": beat, "tempo": link.tempo, "peers": link.num_peers,
                   "playing": link.playing}
        elif cmd == "tempo":
            link.tempo = float(arg)
            out = {"perf": time.perf_counter()}
        elif cmd == "play":
            link.playing = arg.strip() == "1"
            out = {"perf": time.perf_counter()}
        elif cmd == "quit":
            break
        else:
            out = {"error": f"unknown command {cmd!r}"}
        print(json.dumps(out), flush=True)
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
