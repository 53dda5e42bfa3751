"""srlive: a real-time jam partner over MIDI.

The live package needs only numpy, mido, python-rtmidi and onnxruntime; it never imports torch.
"""

__version__ = "0.1.0"
