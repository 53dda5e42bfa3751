"""How much faster onnxruntime runs the model step than torch eager with the same weights.

    python -m benchmarks.torch_vs_onnx [--json] [--model PATH] [--device auto|cpu|cuda] [--steps 2000] [--block 50]

Needs torch and the training package (the `train` extra); the live tool never imports either, so
this comparison lives here rather than in `srlive --bench`.

The torch model of an all-at-once VAE-GAN is rebuilt from the ONNX file itself — the config from
its srlive.config metadata, the weights from its initializers, which the exporter names after the
torch parameters ("encoder.fc.weight", ...); a step decoder's traced graph renames its weights, so
its torch model is read from its checkpoint (--checkpoint; for a shipped model, its own in
training/checkpoints/). Either is checked to give the same output. The two run interleaved in this
process, torch on one thread like onnxruntime, taking turns in blocks of 50 steps (--block): load
on the shared machine hits both alike, and neither measures the other's cache pollution (with
--block 1, onnxruntime's p50 rises by ~70 µs on a 1 MB-L2 core: its 2.3 MB of weights are evicted
by torch's between steps). The ratio of their p50s is the speedup.

With --json the last line is one JSON object: provider, steps, block, p50_ms, p99_ms, max_ms (onnx),
torch_p50_ms, torch_p99_ms, torch_max_ms, speedup, torch_onnx_max_abs_diff.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from srlive.errors import UserError
from srlive.model.bench import percentiles
from srlive.model.synthetic_bars import music_like_bars

WARMUP = 20



def time_steps(rt, bars: np.ndarray, noise: np.ndarray, indices: range, wall: list[float], cpu: list[float],
               temperature: float = 1.0, clock=time.perf_counter) -> None:
    """Run rt.step (one bar, the bare model step) on bar i % len(bars) with noise[i] for each i in
    `indices`, appending each step's wall time to `wall` and this thread's CPU time to `cpu`, in s."""
    for i in indices:
        bar, z = bars[i % len(bars)], noise[i]
        c, s = time.thread_time(), clock()
        rt.step(bar, z, temperature)
        wall.append(clock() - s)
        cpu.append(time.thread_time() - c)

REPO = Path(__file__).resolve().parents[1]


def torch_twin(onnx_file: Path, checkpoint: Path | None = None):
    """The torch module that step.onnx was exported from (same config and weights), or (None, reason)."""
    try:
        import onnx
        import torch
        from onnx import numpy_helper

        from srlive_training.checkpoint import CheckpointError
        from srlive_training.config import ModelConfig
        from srlive_training.model import VAEGAN, StepModule
        from srlive_training.phrase_model import PlayModule, is_phrase_config
        from srlive_training.phrase_train import load_phrase_checkpoint
    except ImportError as e:
        return None, f"{e.name} is not installed (fix: pip install -e \".[train]\")"
    proto = onnx.load(str(onnx_file))
    meta = {p.key: p.value for p in proto.metadata_props}
    config = json.loads(meta["srlive.config"])
    if is_phrase_config(config):
        checkpoint = checkpoint or REPO / "training" / "checkpoints" / f"{Path(onnx_file).parent.name}.pt"
        try:
            model, _ = load_phrase_checkpoint(checkpoint)
        except CheckpointError as e:
            return None, f"{e} (a step decoder's torch model comes from its checkpoint: give --checkpoint)"
        return PlayModule(model).eval(), ""
    try:
        model = VAEGAN(ModelConfig.from_dict(config))
    except ValueError as e:  # a VAE-GAN of a retired configuration
        return None, f"{onnx_file.name}: no VAE-GAN of the paper's or live configuration to rebuild in torch ({e})"
    step = StepModule(model.encoder, model.generator).eval()
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in proto.graph.initializer}
    wanted = step.state_dict()
    missing = [k for k in wanted if k not in weights]
    if missing:
        return None, f"{onnx_file.name} lacks the initializers {missing[:3]}... (export it with srlive-export)"
    step.load_state_dict({k: weights[k] for k in wanted})
    return step, ""


def compare(rt, twin, steps: int, block: int, temperature: float = 1.0, clock=time.perf_counter) -> dict:
    """Time rt.step and the torch twin on the same bars and noise, alternating blocks of `block` steps."""
    import torch

    rng = np.random.default_rng(0)
    bars = music_like_bars(64 * rt.context, rng, steps=rt.steps).reshape(64, *rt.heard_shape)
    noise = rng.standard_normal((max(steps, WARMUP), rt.latent)).astype(np.float32)  # warm-up steps too
    torch.set_num_threads(1)
    temp_t = torch.full((1, 1), temperature)

    def torch_step(i: int) -> np.ndarray:
        bar = torch.from_numpy(bars[i % len(bars)][None])
        return twin(bar, torch.from_numpy(noise[i][None]), temp_t).numpy()

    ort_times: list[float] = []
    torch_times: list[float] = []
    with torch.inference_mode():
        same = float(np.abs(torch_step(0)[0, 0] - rt.step(bars[0], noise[0], temperature)).max())
        for i in range(WARMUP):  # warm torch up as rt.warmup warmed onnxruntime
            torch_step(i)
        for start in range(0, steps, block):
            chunk = range(start, min(start + block, steps))
            time_steps(rt, bars, noise, chunk, ort_times, [], temperature, clock)
            for i in chunk:
                s = clock()
                torch_step(i)
                torch_times.append(clock() - s)
    p50, p99, pmax = percentiles(ort_times)
    tp50, tp99, tmax = percentiles(torch_times)
    return {"provider": rt.provider, "steps": steps, "block": block,
            "p50_ms": round(p50, 4), "p99_ms": round(p99, 4), "max_ms": round(pmax, 4),
            "torch_p50_ms": round(tp50, 4), "torch_p99_ms": round(tp99, 4), "torch_max_ms": round(tmax, 4),
            "speedup": round(tp50 / p50, 2), "torch_onnx_max_abs_diff": same}


def report(r: dict, out) -> None:
    print(f"onnx      {r['steps']} steps, batch 1, {r['provider']}: "
          f"p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  max {r['max_ms']:.3f} ms", file=out)
    print(f"torch     same weights (max |Δ| {r['torch_onnx_max_abs_diff']:.1e}), 1 thread, alternating blocks of "
          f"{r['block']}: p50 {r['torch_p50_ms']:.3f} ms  p99 {r['torch_p99_ms']:.3f} ms  max {r['torch_max_ms']:.3f} ms",
          file=out)
    print(f"speedup   {r['torch_p50_ms'] / r['p50_ms']:.1f}x (torch p50 / onnx p50)", file=out)


def main(argv: list[str] | None = None, out=None) -> int:
    out = sys.stdout if out is None else out
    p = argparse.ArgumentParser(prog="python -m benchmarks.torch_vs_onnx", description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    p.add_argument("--model", default=None, help="model folder or step.onnx (default: the shipped model)")
    p.add_argument("--checkpoint", type=Path, default=None, help="a step decoder's checkpoint (default: a shipped "
                   "model's own in training/checkpoints/)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, default=2000, help="model steps to time in each (default 2000)")
    p.add_argument("--block", type=int, default=50, help="steps per turn (default 50; 1 = every step)")
    args = p.parse_args(argv)
    from srlive.model.runtime import load_runtime

    try:
        rt = load_runtime(args.model, args.device)
    except UserError as e:
        print(f"torch_vs_onnx: {e}", file=sys.stderr)
        return e.exit_code
    step_file = rt.files.get("step.onnx")
    twin, why = (None, f"{rt.path} has no step.onnx (give a model folder with one)") if step_file is None \
        else torch_twin(step_file, args.checkpoint)
    if twin is None:
        print(f"torch_vs_onnx: {why}", file=sys.stderr)
        return 2
    rt.warmup()
    result = compare(rt, twin, max(int(args.steps), 1), max(int(args.block), 1))
    print(f"model     {rt.path} ({rt.config.get('name')}, trained steps {rt.metadata.get('srlive.trained_steps')})",
          file=out)
    report(result, out)
    if args.json:
        print(json.dumps(result, sort_keys=True), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
