"""step.onnx at a fixed batch N with its inputs and output bound once (onnxruntime I/O binding).

On the CPU the bound OrtValues lie over numpy buffers, so writing a buffer is writing the input and
a step allocates nothing but the copy it returns. On CUDA the bound values live on the GPU: each
call copies the bars, noise and temperatures up, runs, and copies the answers back, the whole round
trip a performer waits for. The batch-1 instance is Runtime.step's; `srlive --bench` times
N = 1, 8, 32, 128 (N candidate answers in one step) with it.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from srlive import roll


class BoundStep:
    """One step.onnx session at batch `n`, bound once. One instance serves one thread."""

    def __init__(self, session: ort.InferenceSession, n: int, latent: int, on_cuda: bool = False,
                 steps: int = roll.STEPS, context: int = 1):
        self.n = n
        self._session = session
        self._on_cuda = on_cuda
        self.steps = steps  # the bar's width: 16 (4/4) or 12 (triple), the model's srlive.steps
        self.context = context  # bars heard per item, the model's srlive.context
        self._bar = np.zeros((n, context, roll.N_PITCHES, steps), np.float32)
        self._noise = np.zeros((n, latent), np.float32)
        self._temp = np.zeros((n, 1), np.float32)
        self._out = np.zeros((n, 1, roll.N_PITCHES, steps), np.float32)
        self._host = (self._bar, self._noise, self._temp)
        if on_cuda:
            self._in_values = [ort.OrtValue.ortvalue_from_shape_and_type(a.shape, np.float32, "cuda", 0) for a in self._host]
            self._out_value = ort.OrtValue.ortvalue_from_shape_and_type(self._out.shape, np.float32, "cuda", 0)
        else:
            self._in_values = [ort.OrtValue.ortvalue_from_numpy(a) for a in self._host]
            self._out_value = ort.OrtValue.ortvalue_from_numpy(self._out)
        self._binding = session.io_binding()
        for arg, value in zip(session.get_inputs(), self._in_values):
            self._binding.bind_ortvalue_input(arg.name, value)
        self._binding.bind_ortvalue_output(session.get_outputs()[0].name, self._out_value)

    def run(self, bars: np.ndarray, noise: np.ndarray, temperature) -> np.ndarray:
        """bars [n, 88, 16] ([n, context, 88, 16] for a model that hears two bars), noise [n, latent],
        temperature (scalar or [n]) → next bars [n, 88, 16], an array the caller owns."""
        np.copyto(self._bar, np.reshape(bars, self._bar.shape))
        np.copyto(self._noise, np.reshape(noise, self._noise.shape))
        self._temp[:, 0] = temperature
        if self._on_cuda:
            for value, host in zip(self._in_values, self._host):
                value.update_inplace(host)
            self._session.run_with_iobinding(self._binding)
            return self._out_value.numpy().reshape(self.n, roll.N_PITCHES, self.steps)
        self._session.run_with_iobinding(self._binding)
        return self._out.reshape(self.n, roll.N_PITCHES, self.steps).copy()
