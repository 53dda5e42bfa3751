"""Benchmarks of the live tool through real JACK ports, run from the repo root as
``python -m benchmarks.<name>`` (a developer's harness: pip does not install it with srlive).

* ``timing`` — output onset deviation from the ideal sixteenth grid, stuck notes, drift of the last
  bar line; with ``--sync``, against a jittered MIDI clock's grid.
* ``load`` — the same while both CPU cores are saturated by other processes.
* ``soak`` — a long run at 240 BPM: resident memory growth, drift, stuck notes.
* ``jack_stalls`` — notes lost or repeated inside JACK when its server is paused now and then,
  asynchronous against synchronous mode (why the real-port tests run synchronous JACK).

They print figures; none of them is a timed test. ``clients`` holds the helper JACK clients
(performer, recorder, clock) that the real-port tests use too; ``analysis`` the pure maths.
"""
