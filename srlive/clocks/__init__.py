"""Bar clocks: where each bar and step of the session lies on the engine's clock.

``internal`` (--tempo, and the counting MIDI clock follower), ``model_follower`` (the MIDI clock
follower the engine uses by default under --sync), ``link`` (Ableton Link), and ``timeline`` (a
clock's bars as musical time, for takes).
"""
