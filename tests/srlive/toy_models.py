"""A hand-made step.onnx with srlive's contract: what the runtime, CLI and bad-file tests load."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper

GOOD_META = {
    "srlive.format": "1", "srlive.config": json.dumps({"name": "toy", "latent": 128}), "srlive.lowest_pitch": "21",
    "srlive.steps": "16", "srlive.latent": "128", "srlive.data": "toy", "srlive.trained_steps": "0",
    "srlive.created": "2026-11-22T00:00:00+00:00",
}


def toy_step_model(path: Path, bar_shape=(1, 88, 16), names=("bar", "noise", "temperature"),
                   meta: dict | None = GOOD_META) -> Path:
    """A tiny step.onnx made by hand: next_bar = bar * temperature (noise unused)."""
    bar, noise, temp = names
    inputs = [
        helper.make_tensor_value_info(bar, TensorProto.FLOAT, ["N", *bar_shape]),
        helper.make_tensor_value_info(noise, TensorProto.FLOAT, ["N", 128]),
        helper.make_tensor_value_info(temp, TensorProto.FLOAT, ["N", 1]),
    ]
    out = helper.make_tensor_value_info("next_bar", TensorProto.FLOAT, ["N", *bar_shape])
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 1, 1, 1])
    nodes = [helper.make_node("Reshape", [temp, "shape"], ["t4"]), helper.make_node("Mul", [bar, "t4"], ["next_bar"])]
    model = helper.make_model(helper.make_graph(nodes, "toy", inputs, [out], initializer=[shape]),
                              opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    for k, v in (meta or {}).items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
