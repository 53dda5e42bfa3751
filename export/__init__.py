"""Checkpoint → ONNX export with metadata and a parity check against torch (srlive-export)."""
