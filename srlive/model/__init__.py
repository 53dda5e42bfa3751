"""The model's side of a bar: loading and stepping the ONNX model (``runtime``, ``gpu``,
``iobinding``), drawing candidates and choosing one (``answer``, ``selection``), and keeping the
answer in a key (``scales``, ``keylock``). ``bench`` times it; ``synthetic_bars`` feeds the timing.
"""
