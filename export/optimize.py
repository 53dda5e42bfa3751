"""Exact rewrites of the exported graphs that make onnxruntime faster at batch 1 on the CPU.

ELU. onnxruntime's CPU Elu kernel is scalar; on the generator's largest activations (8×88×16) it
takes about twice as long as the same function written with vectorised elementwise ops:

    elu(x) = max(x, exp(min(x, 0)) − 1)         (alpha = 1)

For x > 0 the right side is exp(0) − 1 = 0 < x; for x ≤ 0 it is exp(x) − 1 ≥ x (since e^x ≥ 1 + x).
Measured on the live model: one step 0.171 → 0.152 ms (p50, one thread). Parameters keep their
names, and the parity check runs on the rewritten graphs, so torch still vouches for them.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

ZERO, ONE = "srlive_elu_zero", "srlive_elu_one"


def rewrite_elu(model: onnx.ModelProto) -> int:
    """Replace every Elu(alpha=1) in place; returns how many were replaced."""
    graph = model.graph
    nodes: list[onnx.NodeProto] = []
    count = 0
    for node in graph.node:
        alpha = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "alpha"), 1.0)
        if node.op_type != "Elu" or node.domain not in ("", "ai.onnx") or alpha != 1.0:
            nodes.append(node)
            continue
        x, y = node.input[0], node.output[0]
        base = f"{node.name or y}_elu"
        nodes += [
            helper.make_node("Min", [x, ZERO], [f"{base}_neg"], name=f"{base}_min"),
            helper.make_node("Exp", [f"{base}_neg"], [f"{base}_exp"], name=f"{base}_exp"),
            helper.make_node("Sub", [f"{base}_exp", ONE], [f"{base}_em1"], name=f"{base}_sub"),
            helper.make_node("Max", [x, f"{base}_em1"], [y], name=f"{base}_max"),
        ]
        count += 1
    if count:
        del graph.node[:]
        graph.node.extend(nodes)
        names = {i.name for i in graph.initializer}
        for name, value in ((ZERO, 0.0), (ONE, 1.0)):
            if name not in names:
                graph.initializer.append(numpy_helper.from_array(np.array(value, np.float32), name))
    return count
