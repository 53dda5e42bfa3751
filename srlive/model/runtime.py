"""The inference runtime: one model step (previous bar → next bar) with onnxruntime and numpy.

Never imports torch. docs/design.md, "The model and its ONNX contract":

    encoder.onnx    bar [N,1,88,16]                      → mu [N,L], log_scale [N,L]
    generator.onnx  z [N,L]                              → bar [N,1,88,16] in [0, 1]
    step.onnx       bar, noise [N,L], temperature [N,1]  → next_bar [N,1,88,16]

`load_runtime(path, device)` opens step.onnx (or, failing that, the encoder + generator pair, with
z = mu + temperature · noise · exp(log_scale) done in numpy), checks its metadata, names and shapes,
and refuses anything else with one-line ModelError naming the file and the problem. Beside
docs/design.md's metadata, `srlive.temperature` (optional, 0-4) is the temperature the model was
measured at and plays at when the performer gives none (`Runtime.temperature`; 1 without it).

Devices: "cpu"; "cuda" (a UserError naming the missing piece and its fix when CUDA can't run);
"auto" = CUDA when every piece is there, else the CPU. srlive.model.gpu checks the pieces (the CUDA
provider, NVIDIA's driver, then the CUDA runtime and cuDNN loaded with onnxruntime.preload_dlls)
before the CUDA provider is ever touched, so CPU-only machines never load the CUDA provider's
libraries (they cost start-up time and resident memory); after a CUDA session is made,
session.get_providers() says whether CUDA actually runs. `Runtime.provider` is the provider that
runs; `Runtime.device_note` the line to say about it (the libraries loaded, or why the CPU).

The CPU session is tuned for one bar at a time: one intra-op thread, sequential execution, all
graph optimisations, and input/output buffers bound once with I/O binding (srlive.model.iobinding) so a
step allocates nothing but its returned copy.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from srlive import roll
from srlive.model import gpu
from srlive.contract import (
    CONTEXTS,
    HISTORY_MAX,
    DEFAULT_TEMPERATURE,
    DEVICES,
    FORMAT_VERSION,
    HEARING_FILES,
    LOG_SCALE_MAX,
    MAX_CANDIDATES,
    MEMORY_KINDS,
    MEMORY_MAX,
    META,
    METERS,
    ONNX_FILES,
    TEMPERATURE_RANGE,
)
from srlive.errors import ModelError, UserError
from srlive.errors import BadValue
from srlive.model.iobinding import BoundStep
from srlive.model.selection import BadWeights, Weights, parse_weights
from srlive.options import parse_temperature

DEFAULT_CANDIDATES = 1  # candidates per bar for a model that names none (srlive.candidates)

#: the bar widths a model may have (srlive.steps): one per meter srlive plays (16: 4/4, 12: 3/4 and 6/8)
MODEL_STEPS = tuple(sorted({m.steps for m in METERS.values()}, reverse=True))
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
# every library srlive checks loaded, and still no CUDA session: onnxruntime's own report says why
CUDA_START_FIX = 'see python -c "import onnxruntime; onnxruntime.preload_dlls(); onnxruntime.print_debug_info()"'

ort.set_default_logger_severity(3)  # errors only: no provider/fallback chatter on stderr


def _item_shapes(latent: int, steps: int = roll.STEPS, heard: int = 1) -> dict[str, tuple[int, ...]]:
    """Per-item shape (after the batch dimension) of every tensor name in the contract; `heard`:
    the channels of a bar going in (the model's srlive.context for encoder.onnx and step.onnx)."""
    bar = (1, roll.N_PITCHES, steps)
    return {"bar": (heard, *bar[1:]), "next_bar": bar, "z": (latent,), "noise": (latent,),
            "mu": (latent,), "log_scale": (latent,), "temperature": (1,), "logit": (1,)}


def default_model_path() -> Path:
    """The model shipped inside the package (srlive/models/default)."""
    return Path(str(importlib.resources.files("srlive").joinpath("models", "default")))


def _session_options() -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def _open(file: Path, providers: list[str]) -> ort.InferenceSession:
    if not file.is_file():
        raise ModelError(f"{file}: model file not found")
    if file.stat().st_size == 0:
        raise ModelError(f"{file}: model file is empty")
    try:
        return ort.InferenceSession(str(file), _session_options(), providers=providers)
    except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf/... classes
        detail = " ".join(str(e).split())
        if len(detail) > 160:
            detail = detail[:157] + "..."
        raise ModelError(f"{file}: not a readable ONNX model (truncated or corrupt?): {detail}") from None


def _resolve(path: Path) -> dict[str, Path]:
    """{"step.onnx": file} or {"encoder.onnx": ..., "generator.onnx": ...}; in a folder, also the
    pair beside step.onnx (candidates encode the bar once and generate N) and critic.onnx (it ranks
    them) when they are there."""
    if path.is_dir():
        found = {name: path / name for name in ONNX_FILES if (path / name).is_file()}
        pair = {"encoder.onnx", "generator.onnx"} <= set(found)
        if "step.onnx" not in found and not pair:
            raise ModelError(f"{path}: no step.onnx (nor encoder.onnx + generator.onnx) in this folder")
        if not pair:
            found.pop("encoder.onnx", None)
            found.pop("generator.onnx", None)
        return found
    if not path.exists():
        shipped = ", ".join(sorted(p.name for p in default_model_path().parent.iterdir() if p.is_dir()))
        raise ModelError(f"{path}: no such model file or folder; give a model folder, a step.onnx, or the name of "
                         f"a shipped model ({shipped})")
    if path.suffix in (".pt", ".pth", ".ckpt"):
        raise ModelError(f"{path}: a training checkpoint, not an exported model; export it with srlive-export")
    return {"step.onnx": path}


# --- checks --------------------------------------------------------------------------------------
def read_metadata(session: ort.InferenceSession, file: Path) -> tuple[dict[str, str], dict, int]:
    """(all metadata props, model config dict, latent size); ModelError if not an srlive model.
    srlive.steps is the bar's width (`model_steps`)."""
    meta = dict(session.get_modelmeta().custom_metadata_map)
    if META["format"] not in meta:
        raise ModelError(f"{file}: no srlive metadata (srlive.format) — not an srlive model; make one with srlive-export")
    try:
        fmt = int(meta[META["format"]])
    except ValueError:
        raise ModelError(f"{file}: srlive.format is {meta[META['format']]!r}, not a version number") from None
    if fmt > FORMAT_VERSION:
        raise ModelError(f"{file}: model format {fmt} is newer than this srlive reads ({FORMAT_VERSION}); upgrade srlive")
    for key, want in (("lowest_pitch", (roll.LOWEST_PITCH,)), ("steps", MODEL_STEPS)):
        got = meta.get(META[key])
        if got is None or not got.lstrip("-").isdigit() or int(got) not in want:
            raise ModelError(f"{file}: srlive.{key} is {got!r}, this srlive needs {' or '.join(map(str, want))}")
    try:
        latent = int(meta.get(META["latent"], ""))
        config = json.loads(meta.get(META["config"], ""))
        if not isinstance(config, dict):
            raise ValueError
    except ValueError:
        raise ModelError(f"{file}: srlive.latent/srlive.config metadata missing or unreadable") from None
    model_temperature(meta, file)
    return meta, config, latent


def model_steps(meta: dict[str, str]) -> int:
    """The bar's width in sixteenth steps the model reads and writes (srlive.steps, checked by
    read_metadata): 16 for 4/4 bars, 12 for 3/4 and 6/8."""
    return int(meta[META["steps"]])


def model_context(meta: dict[str, str], file: Path) -> int:
    """How many bars the model's encoder hears (srlive.context): 1, the bar answered, or 2, with
    the bar before it; 1 for a model without it; with srlive.history, one bar per offset there."""
    raw = meta.get(META["context"], "1")
    if META["history"] in meta:
        history = model_history(meta, file)
        if raw != str(len(history)):
            raise ModelError(f"{file}: srlive.context is {raw!r} but srlive.history names {len(history)} bars; "
                             "re-export the model")
        return len(history)
    if not raw.isdigit() or int(raw) not in CONTEXTS:
        raise ModelError(f"{file}: srlive.context is {raw!r}, this srlive needs {' or '.join(map(str, CONTEXTS))}; "
                         "re-export the model")
    return int(raw)


def model_history(meta: dict[str, str], file: Path) -> tuple[int, ...]:
    """The bars the model hears, as offsets back from the bar it answers (srlive.history): 1 is the
    bar answered, 2 the bar that went by before it, ...; (1,) or (1, 2) for a model without it."""
    raw = meta.get(META["history"])
    if raw is None:
        return (1, 2) if meta.get(META["context"], "1") == "2" else (1,)
    try:
        history = tuple(json.loads(raw))
        ok = (history and all(isinstance(k, int) and 1 <= k <= HISTORY_MAX for k in history)
              and list(history) == sorted(set(history)) and history[0] == 1)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ModelError(f"{file}: srlive.history is {raw!r}, this srlive needs increasing bar offsets from 1 "
                         f"to {HISTORY_MAX}, such as [1, 2, 4, 8]; re-export the model")
    return history


def model_memory(meta: dict[str, str], file: Path, context: int) -> int:
    """What a two-bar model's second bar holds (srlive.memory): 0, the bar before the bar answered
    (and a model without it), or M, the memory of the performer's last M bars (srlive.memory_kind)."""
    raw = meta.get(META["memory"], "0")
    if not raw.isdigit() or int(raw) > MEMORY_MAX or (int(raw) and context != 2):
        raise ModelError(f"{file}: srlive.memory is {raw!r}, this srlive needs 0 to {MEMORY_MAX} "
                         "(with srlive.context 2); re-export the model")
    return int(raw)


def model_memory_kind(meta: dict[str, str], file: Path) -> str:
    """What the memory keeps of the performer's bars (srlive.memory_kind): "bars" (and a model
    without it) or "rhythm" (srlive.roll.memory_of)."""
    raw = meta.get(META["memory_kind"], "bars")
    if raw not in MEMORY_KINDS:
        raise ModelError(f"{file}: srlive.memory_kind is {raw!r}, this srlive needs {' or '.join(MEMORY_KINDS)}; "
                         "re-export the model")
    return raw


def model_temperature(meta: dict[str, str], file: Path) -> float:
    """The temperature the model was measured at and plays at by default (srlive.temperature,
    written by srlive-export --temperature); 1.0 for a model without it."""
    raw = meta.get(META["temperature"])
    if raw is None:
        return DEFAULT_TEMPERATURE
    try:
        return parse_temperature(raw)
    except BadValue:
        lo, hi = TEMPERATURE_RANGE
        raise ModelError(f"{file}: srlive.temperature is {raw!r}, not a number from {lo:g} to {hi:g}; "
                         "re-export the model") from None


def model_selection(meta: dict[str, str], file: Path) -> tuple[int, Weights]:
    """How hard the model selects by default: (candidates per bar, selection weights), from
    srlive.candidates and srlive.selection (written by srlive-export); 1 and the built-in weights
    for a model without them."""
    raw = meta.get(META["candidates"])
    candidates = DEFAULT_CANDIDATES
    if raw is not None:
        try:
            candidates = int(raw)
        except ValueError:
            candidates = -1
        if not 1 <= candidates <= MAX_CANDIDATES:
            raise ModelError(f"{file}: srlive.candidates is {raw!r}, not a whole number from 1 to {MAX_CANDIDATES}; "
                             "re-export the model")
    weights = Weights()
    raw = meta.get(META["selection"])
    if raw is not None:
        try:
            weights = parse_weights(json.loads(raw), where=f"{file}: srlive.selection")
        except (ValueError, BadWeights) as e:
            detail = str(e) if isinstance(e, BadWeights) else f"{file}: srlive.selection is not JSON"
            raise ModelError(f"{detail}; re-export the model") from None
    return candidates, weights


def _fmt(shape) -> str:
    return "[" + ",".join(d if isinstance(d, str) else "?" if d is None else str(d) for d in shape) + "]"


def check_signature(session: ort.InferenceSession, file: Path, role: str, latent: int,
                    steps: int = roll.STEPS, context: int = 1) -> None:
    """Names, element types and shapes of `session` must be those of `role` (an ONNX_FILES key)."""
    want_in, want_out = ONNX_FILES[role]
    got_in = tuple(i.name for i in session.get_inputs())
    got_out = tuple(o.name for o in session.get_outputs())
    if got_in != want_in or got_out != want_out:
        raise ModelError(
            f"{file}: inputs {list(got_in)} → outputs {list(got_out)} are not {role}'s {list(want_in)} → {list(want_out)}"
        )
    shapes = _item_shapes(latent, steps)
    heard = _item_shapes(latent, steps, context if role in HEARING_FILES else 1)
    for arg, want in [*((a, heard[a.name]) for a in session.get_inputs()),
                      *((a, shapes[a.name]) for a in session.get_outputs())]:
        if arg.type != "tensor(float)":
            raise ModelError(f"{file}: {arg.name!r} is {arg.type}, expected tensor(float)")
        shape = list(arg.shape)
        ok = len(shape) == 1 + len(want) and not isinstance(shape[0], int) and tuple(shape[1:]) == want
        if not ok:
            raise ModelError(f"{file}: {arg.name!r} has shape {_fmt(shape)}, expected {_fmt(['N', *want])} with a dynamic batch N")


# --- the runtime ---------------------------------------------------------------------------------
class Runtime:
    """One loaded model. `step` runs one bar; `step_batch` many at once.

    `step` reuses buffers bound once, so one Runtime serves one thread (the engine's model thread);
    the array it returns is the caller's own. `device_note` is the one line to say about the device
    (the CUDA libraries loaded, or why "auto" runs on the CPU)."""

    device_note: str | None = None

    def __init__(self, sessions: dict[str, ort.InferenceSession], path: Path, files: dict[str, Path],
                 metadata: dict[str, str], config: dict, latent: int):
        self._sessions = sessions
        self.path = path
        self.files = files
        self.metadata = metadata
        self.config = config
        self.latent = latent
        self.steps = model_steps(metadata)  # the bar's width: 16 (4/4) or 12 (3/4, 6/8)
        self.context = model_context(metadata, path)  # bars heard: the bar answered (and the one before)
        self.history = model_history(metadata, path)  # which bars back those are
        self.memory = model_memory(metadata, path, self.context)  # or the performer's last bars
        self.memory_kind = model_memory_kind(metadata, path)
        self.heard_shape = (self.context, roll.N_PITCHES, self.steps)  # what the model hears for one answer
        self.temperature = model_temperature(metadata, path)  # its own default (srlive.temperature)
        # how hard it selects by default (srlive.candidates, srlive.selection)
        self.candidates, self.selection = model_selection(metadata, path)
        first = next(iter(sessions.values()))
        self.provider = first.get_providers()[0]
        self._fused = "step.onnx" in sessions
        self._device = "cuda" if self.provider == CUDA else "cpu"
        self._bound = self.bound_step(1) if self._fused else None

    def bound_step(self, n: int) -> BoundStep | None:
        """step.onnx at batch `n` with I/O binding on this runtime's provider; None for the
        encoder + generator pair."""
        if not self._fused:
            return None
        return BoundStep(self._sessions["step.onnx"], n, self.latent, on_cuda=self._device == "cuda", steps=self.steps,
                         context=self.context)

    def step(self, bar: np.ndarray, noise: np.ndarray, temperature: float) -> np.ndarray:
        """Previous bar (88, steps) in [0, 1] (with context 2: (2, 88, steps), the bar before it
        second), noise (latent,), temperature → next bar (88, steps) float32."""
        if not self._fused:
            return self.step_batch(np.asarray(bar)[None], np.asarray(noise)[None], temperature)[0]
        return self._bound.run(bar, noise, temperature)[0]

    def step_batch(self, bars: np.ndarray, noise: np.ndarray, temperature) -> np.ndarray:
        """bars [N, 88, steps] ([N, context, 88, steps]), noise [N, latent], temperature (scalar or [N])
        → next bars [N, 88, steps]."""
        bars = np.ascontiguousarray(bars, np.float32).reshape(-1, *self.heard_shape)
        n = bars.shape[0]
        noise = np.ascontiguousarray(noise, np.float32).reshape(n, self.latent)
        temp = np.broadcast_to(np.asarray(temperature, np.float32).reshape(-1, 1), (n, 1)).copy()
        if self._fused:
            (out,) = self._sessions["step.onnx"].run(None, {"bar": bars, "noise": noise, "temperature": temp})
        else:
            mu, log_scale = self._sessions["encoder.onnx"].run(None, {"bar": bars})
            out = self._generate(mu, log_scale, noise, temp)
        return out.reshape(n, roll.N_PITCHES, self.steps)

    def _generate(self, mu, log_scale, noise, temp) -> np.ndarray:
        z = (mu + temp * noise * np.exp(np.minimum(log_scale, LOG_SCALE_MAX))).astype(np.float32)
        (out,) = self._sessions["generator.onnx"].run(None, {"z": z})
        return out

    def candidates_for(self, bars: np.ndarray, noise: np.ndarray, temperature) -> np.ndarray:
        """N answers to each of S bars: bars [S, context, 88, 16], noise [S*N, latent] (bar s's noises at rows
        s*N .. s*N+N-1) → [S*N, 88, 16]. Each bar is encoded once and its N latents generated in
        one call when the model has the encoder + generator pair; one bar and one noise is exactly
        `step`."""
        bars = np.ascontiguousarray(bars, np.float32).reshape(-1, *self.heard_shape)
        s = bars.shape[0]
        noise = np.ascontiguousarray(noise, np.float32).reshape(-1, self.latent)
        n = noise.shape[0] // s
        if s == 1 and n == 1 and self._fused:
            return self.step(bars[0], noise[0], temperature)[None]
        if n == 1 or "encoder.onnx" not in self._sessions:
            return self.step_batch(np.repeat(bars, n, axis=0), noise, temperature)
        mu, log_scale = self._sessions["encoder.onnx"].run(None, {"bar": bars.reshape(-1, *self.heard_shape)})
        temp = np.float32(temperature)
        out = self._generate(np.repeat(mu, n, axis=0), np.repeat(log_scale, n, axis=0), noise, temp)
        return out.reshape(s * n, roll.N_PITCHES, self.steps)

    @property
    def has_critic(self) -> bool:
        return "critic.onnx" in self._sessions

    def critic(self, bars: np.ndarray) -> np.ndarray:
        """The critic's realism logit of each bar [N, 88, 16] → [N] (higher: more like real music)."""
        bars = np.ascontiguousarray(bars, np.float32).reshape(-1, 1, roll.N_PITCHES, self.steps)
        (logit,) = self._sessions["critic.onnx"].run(None, {"bar": bars})
        return logit.reshape(-1).astype(np.float64)

    def warmup(self, n: int = 20) -> None:
        """Run `n` steps on throwaway input so the first real bar meets no cold caches."""
        rng = np.random.default_rng(0)
        for _ in range(n):
            bar = (rng.random(self.heard_shape) < 0.05).astype(np.float32)
            self.step(bar, rng.standard_normal(self.latent).astype(np.float32), 1.0)

    def __repr__(self) -> str:
        return f"Runtime({str(self.path)!r}, provider={self.provider!r}, latent={self.latent})"


def _providers_for(device: str) -> tuple[list[str], str | None]:
    """(providers to ask for, the line to say about the device: the CUDA libraries loaded, or why
    "auto" runs on the CPU; None for "cpu"). --device cuda without a piece CUDA needs is a UserError
    naming it and the command that installs it (srlive.model.gpu)."""
    if device not in DEVICES:
        raise UserError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return [CPU], None
    check = gpu.check_cuda()
    if check.ok:
        return [CUDA, CPU], f"CUDA libraries: {check.libraries}"
    if device == "cuda":
        raise UserError(gpu.error_line(check))
    return [CPU], gpu.cpu_line(check)


def _open_cuda_or_cpu(files: dict[str, Path], providers: list[str]) -> dict[str, ort.InferenceSession]:
    """For "auto" with a GPU: CUDA if it really starts for every file, else all on the CPU.

    CUDA can still fail with a GPU present (cuDNN/cuBLAS missing, driver too old): onnxruntime then
    logs an error and falls back, or raises. "auto" falls back silently; the caller reports which
    provider runs. A file that is broken fails again, with the proper message, on the CPU."""
    try:
        sessions = _open_quietly(files, providers)
        if all(s.get_providers()[0] == CUDA for s in sessions.values()):
            return sessions
    except UserError:
        pass
    return {role: _open(file, [CPU]) for role, file in files.items()}


def _open_quietly(files: dict[str, Path], providers: list[str]) -> dict[str, ort.InferenceSession]:
    """Open with onnxruntime's own error log muted (a CUDA provider that can't start logs an error
    line on stderr before it falls back; we say it in our own words instead)."""
    ort.set_default_logger_severity(4)
    try:
        return {role: _open(file, providers) for role, file in files.items()}
    finally:
        ort.set_default_logger_severity(3)


def load_runtime(path: str | os.PathLike | None = None, device: str = "auto") -> Runtime:
    """Open and check a model (folder with step.onnx, or the pair; or a step.onnx file)."""
    path = Path(path) if path is not None else default_model_path()
    files = _resolve(path)
    providers, device_note = _providers_for(device)
    if providers[0] != CUDA:
        sessions = {role: _open(file, providers) for role, file in files.items()}
    elif device == "auto":
        sessions = _open_cuda_or_cpu(files, providers)
        if next(iter(sessions.values())).get_providers()[0] != CUDA:
            device_note = f"model on the CPU: onnxruntime could not start CUDA ({CUDA_START_FIX})"
    else:
        sessions = _open_quietly(files, providers)
    if device == "cuda":
        for role, session in sessions.items():
            if session.get_providers()[0] != CUDA:
                raise UserError(f"--device cuda: onnxruntime could not start CUDA for {files[role]}; "
                                f"{CUDA_START_FIX} (or use --device cpu)")
    meta = config = latent = steps = None
    for role, session in sessions.items():
        m, c, lat = read_metadata(session, files[role])
        width = model_steps(m)
        check_signature(session, files[role], role, lat, width, model_context(m, files[role]))
        if meta is None:
            meta, config, latent, steps = m, c, lat, width
        elif lat != latent:
            raise ModelError(f"{files[role]}: latent size {lat} differs from the encoder's {latent}")
        elif width != steps:
            raise ModelError(f"{files[role]}: bars of {width} steps, the other files' {steps}; "
                             "export the model's files together")
    rt = Runtime(sessions, path, files, meta, config, latent)
    rt.device_note = device_note
    return rt
