"""srlive --bench: how long does one bar's answer take on this machine, and how much memory?

    python -m srlive.model.bench [--json] [--model PATH] [--device auto|cpu|cuda] [--steps 2000]

Answers ≥ 2,000 bars — music-like input bars (srlive.model.synthetic_bars), fresh noise every bar —
exactly as srlive plays them by default (srlive.model.answer: the model's own number of candidates in
one batched model call, the critic and answer selection included; with one candidate, the bare
model step) and prints per-bar p50/p99/max, the provider that ran and the resident memory of the
process (the live tool's own footprint: this module never imports torch). Then the same at
N = 1, 8, 16, 32 candidates a bar (--candidates), so a performer sees what a harder selection
costs. Then a bar after 0.8 s idle (a bar at 300 BPM), cold and after srlive's rehearsals
(srlive.live.engine), up to 8 bars each way: on a machine whose memory goes cold while idle the cold
figure is many times the back-to-back one, which is why srlive rehearses. The model step in
torch, with the same weights, is timed by `python -m benchmarks.torch_vs_onnx`.

Then it times the step at batch N = 1, 8, 32, 128 (--batches): N candidate answers in one step,
inputs and output bound once with I/O binding (srlive.model.iobinding), on whichever provider runs; on
CUDA each step's time includes copying the bars up and the answers back. `max(10, steps // N)` steps
per N. Answer selection can afford the N whose step still fits in the time a bar leaves.

With --json the last line is one JSON object: provider (the one that ran, not the one asked for),
candidates (per bar, by default), steps, p50_ms, p99_ms, max_ms, cpu_p50_ms, cpu_p99_ms (a bar as
played), rss_mb, selection (per N: n, bars, p50_ms, p99_ms, max_ms), batches (per N: n, steps,
p50_ms, p99_ms, max_ms, per_bar_us, io_binding), after_rest (cold and rehearsed: bars, p50_ms,
max_ms), plus a few extras (load and start-up times, the
model, device asked for, device_note).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from srlive.errors import UserError
from srlive.meter import model_steps
from srlive.model.synthetic_bars import music_like_bars

def rss_mb() -> float:
    """Resident memory of this process in MB (psutil, else /proc, else peak from resource)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 1e6
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS
        return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def percentiles(times_s: list[float]) -> tuple[float, float, float]:
    ms = np.asarray(times_s) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.max())


_STARTUP = (
    "import time; t0 = time.perf_counter()\n"
    "import srlive.model.runtime as r\n"
    "rt = r.load_runtime({path!r}, {device!r}); rt.warmup()\n"
    "print((time.perf_counter() - t0) * 1e3)\n"
)


def startup_ms(model_path, device: str) -> tuple[float | None, float | None]:
    """(import srlive.model.runtime + load + warm-up, whole fresh process) in ms, from a new interpreter."""
    import subprocess

    code = _STARTUP.format(path=None if model_path is None else str(model_path), device=device)
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    wall = (time.perf_counter() - t0) * 1e3
    try:
        return float(proc.stdout.strip().splitlines()[-1]), wall
    except (ValueError, IndexError):
        return None, None


BATCHES = (1, 8, 32, 128)


def time_batches(rt, batches, steps: int, clock=time.perf_counter) -> list[dict]:
    """Per N in `batches`: the step at batch N, bound once with I/O binding where the model is one
    step.onnx (else Runtime.step_batch), max(10, steps // N) timed steps after 5 untimed."""
    rng = np.random.default_rng(1)
    rows = []
    for n in batches:
        bars = music_like_bars(n, rng, model_steps(rt))
        bars = np.repeat(bars[:, None], getattr(rt, "context", 1), axis=1)  # [n, bars heard, 88, W]
        noise = rng.standard_normal((n, rt.latent)).astype(np.float32)
        bound = rt.bound_step(n)
        step = bound.run if bound is not None else rt.step_batch
        for _ in range(5):
            step(bars, noise, 1.0)
        times = []
        for _ in range(max(10, steps // n)):
            s = clock()
            step(bars, noise, 1.0)
            times.append(clock() - s)
        p50, p99, pmax = percentiles(times)
        rows.append({"n": n, "steps": len(times), "p50_ms": round(p50, 4), "p99_ms": round(p99, 4),
                     "max_ms": round(pmax, 4), "per_bar_us": round(p50 * 1e3 / n, 2), "io_binding": bound is not None})
    return rows


def print_batches(rows: list[dict], provider: str, out) -> None:
    print(f"batches   N answers in one step, {provider}, I/O binding:", file=out)
    for r in rows:
        print(f"          N={r['n']:<4d} p50 {r['p50_ms']:8.3f} ms  p99 {r['p99_ms']:8.3f} ms  "
              f"({r['per_bar_us']:.1f} µs a bar, {r['steps']} steps)" + ("" if r["io_binding"] else "  [no I/O binding]"),
              file=out)


def time_bars(rt, bars: np.ndarray, count: int, candidates: int, wall: list[float], cpu: list[float],
              temperature: float | None = None, seed: int = 0, clock=time.perf_counter) -> None:
    """Answer `count` bars (bar i % len(bars)) as srlive does (srlive.model.answer, `candidates` a bar,
    the model's own selection weights, each bar heard and its answer remembered), appending each
    bar's wall time to `wall` and this thread's CPU time (the cost when the core is ours) to `cpu`,
    in seconds."""
    from srlive.model.answer import Answerer

    answerer = Answerer(rt, candidates, getattr(rt, "selection", None))
    rng = np.random.default_rng(seed)
    temperature = getattr(rt, "temperature", 1.0) if temperature is None else temperature
    for i in range(count):
        bar = bars[i % len(bars)]
        c, s = time.thread_time(), clock()
        answer = answerer.answer(bar, rng, temperature)
        wall.append(clock() - s)
        cpu.append(time.thread_time() - c)
        answerer.hear(heard=bar, played=answer.heard)


SELECTION = (1, 8, 16, 32)  # candidates a bar timed through the whole answer path
REST = 0.8  # seconds idle before a bar in time_after_rest: a bar at 300 BPM, the shortest wait live
REST_COUNT = 8  # bars timed after a rest, each way (fewer when --steps is small)


def time_after_rest(rt, candidates: int, rests: int, rest: float = REST, sleep=time.sleep,
                    clock=time.perf_counter) -> dict:
    """A bar as played after `rest` seconds idle, `rests` times each way: "cold" (nothing before
    it), and "rehearsed" (srlive.live.engine.REHEARSE_LEADS before it, as the live loop runs them). On
    a machine whose memory goes cold while idle the first is many times a bar back to back."""
    from srlive.live.engine import REHEARSE_LEADS
    from srlive.model.answer import Answerer

    answerer = Answerer(rt, candidates, getattr(rt, "selection", None))
    steps = model_steps(rt)
    bars = music_like_bars(8, np.random.default_rng(3), steps)
    rng = np.random.default_rng(3)
    temperature = getattr(rt, "temperature", 1.0)
    rows = {}
    for label, leads in (("cold", ()), ("rehearsed", REHEARSE_LEADS)):
        wall: list[float] = []
        for i in range(rests):
            left = rest
            for lead in leads:
                sleep(left - lead)
                left = lead
                answerer.rehearse(steps, temperature)
            sleep(left)
            s = clock()
            answerer.answer(bars[i % len(bars)], rng, temperature)
            wall.append(clock() - s)
        p50, _, pmax = percentiles(wall)
        rows[label] = {"bars": rests, "p50_ms": round(p50, 4), "max_ms": round(pmax, 4)}
    return rows


def time_selection(rt, counts, steps: int, clock=time.perf_counter) -> list[dict]:
    """Per N in `counts`: a bar as played with N candidates, max(50, steps // N) bars."""
    bars = music_like_bars(64, np.random.default_rng(2), model_steps(rt))
    rows = []
    for n in counts:
        wall: list[float] = []
        time_bars(rt, bars, 5, n, [], [], clock=clock)  # warm
        time_bars(rt, bars, max(50, steps // n), n, wall, [], clock=clock)
        p50, p99, pmax = percentiles(wall)
        rows.append({"n": n, "bars": len(wall), "p50_ms": round(p50, 4), "p99_ms": round(p99, 4), "max_ms": round(pmax, 4)})
    return rows


def run(model_path=None, device: str = "auto", as_json: bool = False, steps: int = 2000, out=None,
        batches=BATCHES, selection=SELECTION, candidates: int | None = None) -> int:
    """Benchmark the model at `model_path` (default: the shipped one). Returns an exit code.
    `candidates`: a bar as played draws this many (a performer's --candidates); None: the model's own."""
    out = sys.stdout if out is None else out
    from srlive.model.runtime import load_runtime

    steps = max(int(steps), 1)
    t0 = time.perf_counter()
    rt = load_runtime(model_path, device)
    t1 = time.perf_counter()
    rt.warmup()
    t2 = time.perf_counter()
    rss = rss_mb()
    start_ms, process_ms = startup_ms(model_path, device)
    torch_loaded = "torch" in sys.modules  # then rss is not the live tool's own footprint

    bars = music_like_bars(64, np.random.default_rng(0), model_steps(rt))
    candidates = int(candidates) if candidates else getattr(rt, "candidates", 1)
    wall: list[float] = []
    cpu: list[float] = []
    time_bars(rt, bars, steps, candidates, wall, cpu)

    p50, p99, pmax = percentiles(wall)
    cpu50, cpu99, _ = percentiles(cpu)
    result = {
        "provider": rt.provider, "candidates": candidates, "critic": bool(getattr(rt, "has_critic", False)), "steps": steps, "p50_ms": round(p50, 4), "p99_ms": round(p99, 4),
        "max_ms": round(pmax, 4), "cpu_p50_ms": round(cpu50, 4), "cpu_p99_ms": round(cpu99, 4), "rss_mb": round(rss, 1),
        "load_ms": round((t1 - t0) * 1e3, 1), "warmup_ms": round((t2 - t1) * 1e3, 1),
        "startup_ms": None if start_ms is None else round(start_ms, 1),
        "process_startup_ms": None if process_ms is None else round(process_ms, 1), "model": str(rt.path),
        "model_config": rt.config.get("name"), "trained_steps": rt.metadata.get("srlive.trained_steps"),
        "rss_includes_torch": torch_loaded, "device": device, "device_note": rt.device_note,
    }
    print(f"model     {rt.path} ({rt.config.get('name')}, trained steps {rt.metadata.get('srlive.trained_steps')})", file=out)
    print(f"provider  {rt.provider}; load {result['load_ms']} ms, warm-up {result['warmup_ms']} ms", file=out)
    if rt.device_note:
        print(f"device    {rt.device_note}", file=out)
    if start_ms is not None:
        print(f"start-up  {start_ms:.0f} ms to import the runtime, load and warm up in a fresh process "
              f"({process_ms:.0f} ms with the interpreter's own start)", file=out)
    how = f"{candidates} candidates a bar, " + ("critic and selection" if candidates > 1 else "the model step alone")
    print(f"bar       {steps} bars as played ({how}): p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {pmax:.3f} ms", file=out)
    print(f"          CPU time of a bar (excludes waiting for a core): p50 {cpu50:.3f} ms  p99 {cpu99:.3f} ms",
          file=out)
    print(f"memory    {rss:.1f} MB resident" + (" (torch was already imported)" if torch_loaded else ""), file=out)
    result["selection"] = time_selection(rt, selection, steps)
    print("selection a bar as played with N candidates (the critic, when the model has one, and srlive.model.selection):", file=out)
    for r in result["selection"]:
        print(f"          N={r['n']:<4d} p50 {r['p50_ms']:8.3f} ms  p99 {r['p99_ms']:8.3f} ms  max {r['max_ms']:8.3f} ms",
              file=out)
    from srlive.live.engine import REHEARSE_LEADS

    rests = min(REST_COUNT, max(1, steps // 250))
    result["after_rest"] = after = time_after_rest(rt, candidates, rests)
    leads = " and ".join(f"{lead * 1e3:g}" for lead in REHEARSE_LEADS)
    print(f"rested    a bar as played after {REST:g} s idle (a bar at 300 BPM), {rests} bars each way:", file=out)
    print(f"          cold       p50 {after['cold']['p50_ms']:8.3f} ms  max {after['cold']['max_ms']:8.3f} ms", file=out)
    print(f"          rehearsed  p50 {after['rehearsed']['p50_ms']:8.3f} ms  max {after['rehearsed']['max_ms']:8.3f} ms"
          f"  (the answer path run on silence {leads} ms before, as srlive does live)", file=out)
    result["batches"] = time_batches(rt, batches, steps)
    print_batches(result["batches"], rt.provider, out)
    if as_json:
        print(json.dumps(result, sort_keys=True), file=out)
    return 0


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers from 1 up, e.g. 1,8,32,128")
    return sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="srlive --bench", description="Time one model step on this machine.")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    p.add_argument("--model", default=None, help="model folder or step.onnx (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, default=2000, help="model steps to time (default 2000)")
    p.add_argument("--batches", type=_batch_sizes, default=BATCHES,
                   help="batch sizes N to time with I/O binding, comma-separated (default 1,8,32,128)")
    args = p.parse_args(argv)
    try:
        return run(args.model, args.device, args.json, args.steps, batches=args.batches)
    except UserError as e:
        print(f"srlive: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
