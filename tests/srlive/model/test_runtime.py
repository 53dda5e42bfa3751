"""srlive.model.runtime: loading, checks with one-line errors, devices, stepping — and never torch."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from srlive.errors import ModelError, UserError
from srlive.model import gpu, runtime
from srlive.model.runtime import CPU, load_runtime
from toy_models import GOOD_META, toy_step_model

REPO = Path(__file__).resolve().parents[3]


def _one_line_error(path, match: str, cls=ModelError) -> str:
    with pytest.raises(cls) as info:
        load_runtime(path, device="cpu")
    msg = str(info.value)
    assert "\n" not in msg and match in msg, msg
    return msg


def test_default_model_ships_and_steps():
    assert (runtime.default_model_path() / "step.onnx").is_file()
    rt = load_runtime()
    assert rt.provider == CPU and rt.metadata["srlive.format"] == "1"
    rt.warmup(3)
    rng = np.random.default_rng(0)
    first = rt.step((rng.random(rt.heard_shape) < 0.1).astype(np.float32), rng.standard_normal(rt.latent).astype(np.float32), 1.0)
    kept = first.copy()
    second = rt.step(np.zeros(rt.heard_shape, np.float32), rng.standard_normal(rt.latent).astype(np.float32), 1.0)
    assert first.shape == (88, 16) and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0
    assert np.array_equal(first, kept)  # a returned bar is never overwritten by the next step
    assert second is not first


def test_hand_made_model_with_the_contract_loads(tmp_path):
    rt = load_runtime(toy_step_model(tmp_path / "step.onnx"), device="cpu")
    bar = np.random.default_rng(1).random((88, 16), dtype=np.float32)
    np.testing.assert_allclose(rt.step(bar, np.zeros(128, np.float32), 0.5), bar * 0.5, rtol=1e-6)
    assert rt.config == {"name": "toy", "latent": 128}


def test_missing_model(tmp_path):
    msg = _one_line_error(tmp_path / "nowhere", "no such model file or folder")
    assert "shipped model (default, triple)" in msg
    assert str(tmp_path / "nowhere") in msg
    _one_line_error(tmp_path, "no step.onnx")
    (tmp_path / "best.pt").write_bytes(b"not onnx")
    _one_line_error(tmp_path / "best.pt", "export it with srlive-export")


def test_truncated_and_empty_files(tmp_path):
    data = (runtime.default_model_path() / "step.onnx").read_bytes()
    (tmp_path / "step.onnx").write_bytes(data[: len(data) // 2])
    msg = _one_line_error(tmp_path, "truncated or corrupt")
    assert str(tmp_path / "step.onnx") in msg
    (tmp_path / "step.onnx").write_bytes(b"")
    _one_line_error(tmp_path / "step.onnx", "is empty")


def test_wrong_shape(tmp_path):
    path = toy_step_model(tmp_path / "step.onnx", bar_shape=(1, 64, 16))
    msg = _one_line_error(path, "'bar' has shape [N,1,64,16], expected [N,1,88,16]")
    assert str(path) in msg


def test_without_srlive_metadata(tmp_path):
    path = toy_step_model(tmp_path / "step.onnx", meta=None)
    _one_line_error(path, "no srlive metadata")


def test_foreign_names(tmp_path):
    path = toy_step_model(tmp_path / "step.onnx", names=("input", "noise", "temperature"))
    _one_line_error(path, "are not step.onnx's ['bar', 'noise', 'temperature']")


@pytest.mark.parametrize("key,value,match", [
    ("srlive.format", "2", "newer than this srlive reads"),
    ("srlive.lowest_pitch", "24", "srlive.lowest_pitch is '24'"),
    ("srlive.latent", "64", "'noise' has shape [N,128], expected [N,64]"),
    ("srlive.config", "{oops", "unreadable"),
    ("srlive.temperature", "hot", "srlive.temperature is 'hot', not a number from 0 to 4"),
    ("srlive.temperature", "9", "srlive.temperature is '9', not a number from 0 to 4"),
])
def test_metadata_that_does_not_match(tmp_path, key, value, match):
    path = toy_step_model(tmp_path / "step.onnx", meta={**GOOD_META, key: value})
    _one_line_error(path, match)


def test_a_model_plays_at_its_own_temperature_and_one_without_it_at_1(tmp_path):
    assert load_runtime(toy_step_model(tmp_path / "old" / "step.onnx"), device="cpu").temperature == 1.0
    path = toy_step_model(tmp_path / "new" / "step.onnx", meta={**GOOD_META, "srlive.temperature": "1.35"})
    assert load_runtime(path, device="cpu").temperature == 1.35


def _no_driver(name):
    raise OSError(f"{name}: cannot open shared object file")


def test_cpu_is_chosen_when_no_gpu(monkeypatch):
    monkeypatch.setattr(runtime.gpu, "check_cuda", functools.partial(runtime.gpu.check_cuda, load=_no_driver))
    assert load_runtime(device="auto").provider == CPU
    with pytest.raises(UserError, match="no usable NVIDIA GPU") as info:
        load_runtime(device="cuda")
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="unknown device"):
        load_runtime(device="tpu")


@pytest.mark.skipif(gpu.cuda_device_count() > 0, reason="a real GPU is here")
def test_auto_falls_back_quietly_when_cuda_cannot_start(monkeypatch, capfd):
    """Every piece srlive checks claims to be there but the CUDA provider can't run here: auto says
    CPU (in Runtime.device_note, for the caller to say), prints nothing itself."""
    monkeypatch.setattr(runtime.gpu, "check_cuda", lambda: runtime.gpu.CudaCheck(None, libraries="faked"))
    if runtime.CUDA not in runtime.ort.get_available_providers():
        pytest.skip("this onnxruntime has no CUDA provider to fail")
    rt = load_runtime(device="auto")
    assert rt.provider == CPU
    assert rt.device_note.startswith("model on the CPU: onnxruntime could not start CUDA")
    rt.step(np.zeros(rt.heard_shape, np.float32), np.zeros(rt.latent, np.float32), 1.0)
    assert capfd.readouterr().err == ""
    with pytest.raises(UserError, match="could not start CUDA"):
        load_runtime(device="cuda")


NO_TORCH = textwrap.dedent("""
    import importlib.util, sys
    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this test")
            return None
    sys.meta_path.insert(0, BlockTorch())
    import numpy as np
    import srlive.model.runtime, srlive.model.bench
    if importlib.util.find_spec("srlive.cli") is not None:
        import srlive.cli
    rt = srlive.model.runtime.load_runtime(device="auto")
    rt.warmup(2)
    out = rt.step(np.zeros(rt.heard_shape, np.float32), np.zeros(rt.latent, np.float32), 1.0)
    assert out.shape == (88, 16)
    assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules), "torch was imported"
    maps = open("/proc/self/maps").read() if sys.platform == "linux" else ""
    print(rt.provider, "cuda-provider-loaded" if "providers_cuda" in maps else "cuda-provider-not-loaded")
""")


def test_live_package_runs_a_step_without_torch():
    proc = subprocess.run([sys.executable, "-c", NO_TORCH], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == CPU
    if sys.platform == "linux" and gpu.cuda_device_count() == 0:
        assert "cuda-provider-not-loaded" in proc.stdout  # CPU-only start never maps the CUDA libraries
    assert proc.stderr == ""


def test_candidates_for_one_bar_and_one_noise_is_exactly_the_step():
    rt = load_runtime(None, "cpu")
    rng = np.random.default_rng(5)
    bar = (rng.random(rt.heard_shape) < 0.05).astype(np.float32)
    noise = rng.standard_normal((1, rt.latent)).astype(np.float32)
    assert np.array_equal(rt.candidates_for(bar[None], noise, 1.3)[0], rt.step(bar, noise[0], 1.3))


def test_candidates_for_each_bar_answer_like_the_step_model():
    rt = load_runtime(None, "cpu")
    rng = np.random.default_rng(6)
    bars = (rng.random((3, *rt.heard_shape)) < 0.05).astype(np.float32)
    noise = rng.standard_normal((12, rt.latent)).astype(np.float32)
    got = rt.candidates_for(bars, noise, 1.2)
    want = rt.step_batch(np.repeat(bars, 4, axis=0), noise, 1.2)
    assert got.shape == (12, 88, 16)
    assert np.abs(got - want).max() < 1e-4  # one model, however it is called: float rounding apart


@pytest.mark.parametrize("key,value,says", [
    ("srlive.candidates", "0", "srlive.candidates is '0', not a whole number from 1 to 256"),
    ("srlive.candidates", "many", "srlive.candidates is 'many'"),
    ("srlive.selection", "{", "srlive.selection is not JSON"),
    ("srlive.selection", '{"critic": -1}', "critic=-1 must be a number >= 0"),
])
def test_a_models_selection_metadata_is_checked_in_one_line(key, value, says):
    from srlive.errors import ModelError
    from srlive.model.runtime import model_selection

    with pytest.raises(ModelError) as err:
        model_selection({key: value}, Path("m/step.onnx"))
    assert says in str(err.value) and "re-export the model" in str(err.value) and "\n" not in str(err.value)


def test_a_model_without_selection_metadata_draws_one_candidate():
    from srlive.model.runtime import model_selection
    from srlive.model.selection import Weights

    assert model_selection({}, Path("m")) == (1, Weights())
    assert model_selection({"srlive.candidates": "16", "srlive.selection": '{"motif": 2}'}, Path("m")) == (16, Weights(motif=2.0))
