"""srlive_export.optimize: the ELU rewrite is exact and leaves other nodes alone."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from srlive_export.optimize import rewrite_elu


def _graph(alpha: float) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 7])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 7])
    nodes = [helper.make_node("Elu", ["x"], ["h"], alpha=alpha), helper.make_node("Neg", ["h"], ["y"])]
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_elu_rewrite_matches_elu():
    x = np.concatenate([np.linspace(-30, 30, 7 * 50, dtype=np.float32), np.array([0, -0.0, 1e-30, -1e-30, 88, -88, 3], np.float32)]).reshape(-1, 7)
    model = _graph(1.0)
    before = _run(model, x)
    assert rewrite_elu(model) == 1
    onnx.checker.check_model(model, full_check=True)
    assert "Elu" not in {n.op_type for n in model.graph.node}
    after = _run(model, x)
    np.testing.assert_allclose(after, before, atol=1e-7, rtol=1e-6)
    np.testing.assert_allclose(after, -np.where(x > 0, x, np.expm1(x)), atol=1e-7, rtol=1e-6)


def test_elu_with_other_alpha_is_kept():
    model = _graph(0.5)
    assert rewrite_elu(model) == 0
    assert [n.op_type for n in model.graph.node] == ["Elu", "Neg"]
