"""The live path, one bar at a time: input in (``intake``), the bar heard (``quantise``), the play
mode (``modes``), the engine that ties a bar together (``engine``), the answer as timed events
(``render``) and the thread that sends them (``scheduler``); ``memlock`` keeps it all in RAM.
"""
