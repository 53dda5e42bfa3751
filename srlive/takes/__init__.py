"""What srlive writes and reads as files: the take (``recorder``, ``midifile``, ``takepath``), file
mode (``filemode``: a take in, the answer out) and the per-bar statistics (``stats``).
"""
