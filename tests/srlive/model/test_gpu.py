"""srlive.model.gpu: which piece CUDA lacks, said in one line with its fix; the provider choice; all with
the provider list, the library loader and onnxruntime.preload_dlls faked (no GPU needed)."""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from srlive import cli
from srlive.errors import UserError
from srlive.model import bench, gpu, runtime
from srlive.model.synthetic_bars import music_like_bars

ALL_LIBS = {"libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcudnn.so.9"}
PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]
WHEEL = "/venv/lib/python3.11/site-packages/nvidia/cu13/lib/libcudart.so.13"
SYSTEM = "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0"
CHECK_CUDA = gpu.check_cuda  # the real one, also where a test replaces runtime's with a fake machine


class FakeDriver:
    """libcuda's cuInit / cuDriverGetVersion / cuDeviceGetCount with chosen answers."""

    def __init__(self, init=0, version=13000, count=1):
        self.init, self.version, self.count = init, version, count

    def cuInit(self, flags):
        return self.init

    def cuDriverGetVersion(self, ref):
        ref._obj.value = self.version
        return 0

    def cuDeviceGetCount(self, ref):
        ref._obj.value = self.count
        return 0


class Machine:
    """A fake machine: which libraries load, what the driver says, whether preload_dlls ran."""

    def __init__(self, libs=ALL_LIBS, driver: FakeDriver | None = None, providers=PROVIDERS):
        self.libs, self.driver, self.providers = set(libs), driver, providers
        self.preloaded = False

    def load(self, name):
        if name == "libcuda.so.1" and self.driver is not None:
            return self.driver
        if name in self.libs and self.preloaded:  # the wheels' libraries load once preload_dlls ran
            return object()
        raise OSError(f"{name}: cannot open shared object file")

    def preload(self):
        self.preloaded = True
        return "onnxruntime.preload_dlls()"

    def check(self, **kw):
        where = {"libcudart.so.13": WHEEL, "libcudnn.so.9": SYSTEM}.get
        return CHECK_CUDA(providers=self.providers, load=self.load, preload=self.preload, where=where,
                              cuda_major="13", platform="linux", machine="x86_64", **kw)


# --- every missing piece ---------------------------------------------------------------------------
def test_a_cpu_only_onnxruntime_is_named_with_the_reinstall_command():
    check = Machine(driver=FakeDriver(), providers=["CPUExecutionProvider"]).check()
    assert check.missing == "provider" and "no CUDA provider" in check.reason
    assert check.fix.startswith("pip uninstall -y onnxruntime onnxruntime-gpu && pip install \"onnxruntime-gpu[cuda,cudnn]")


def test_a_platform_without_gpu_wheels_is_told_to_use_the_cpu():
    check = gpu.check_cuda(providers=["CPUExecutionProvider"], platform="darwin", machine="arm64")
    assert check.missing == "provider" and "darwin/arm64" in check.reason and check.fix == "use --device cpu"
    assert gpu.cpu_line(check) == "model on the CPU: onnxruntime has no CUDA build for darwin/arm64"


def test_no_driver_is_named_and_no_cuda_library_is_loaded():
    machine = Machine(driver=None)
    check = machine.check()
    assert check.missing == "driver" and "libcuda.so.1 not found" in check.reason
    assert "no usable NVIDIA GPU" in check.reason and "nvidia-smi" in check.fix
    assert not machine.preloaded  # a machine without NVIDIA's driver never loads the CUDA libraries


@pytest.mark.parametrize("driver, words", [
    (FakeDriver(count=0), "sees no GPU"),
    (FakeDriver(init=100), "sees no GPU"),
    (FakeDriver(init=999), "cuInit error 999"),
])
def test_a_driver_without_a_gpu_is_named(driver, words):
    check = Machine(driver=driver).check()
    assert check.missing == "gpu" and words in check.reason and "nvidia-smi" in check.fix


def test_a_driver_too_old_for_the_cuda_major_is_named():
    check = Machine(driver=FakeDriver(version=12040)).check()
    assert check.missing == "driver"
    assert "supports CUDA 12.4" in check.reason and "needs CUDA 13" in check.reason and "update" in check.fix


@pytest.mark.parametrize("absent, missing, lib, fix", [
    ({"libcudart.so.13"}, "runtime", "libcudart.so.13", 'pip install "onnxruntime-gpu[cuda,cudnn]'),
    ({"libcublasLt.so.13", "libcublas.so.13"}, "runtime", "libcublasLt.so.13", 'pip install "onnxruntime-gpu[cuda,cudnn]'),
    ({"libcudnn.so.9"}, "cudnn", "libcudnn.so.9", 'pip install "onnxruntime-gpu[cudnn]'),
])
def test_missing_cuda_runtime_or_cudnn_is_named_after_preloading(absent, missing, lib, fix):
    machine = Machine(libs=ALL_LIBS - absent, driver=FakeDriver())
    check = machine.check()
    assert machine.preloaded  # looked for the documented way first
    assert check.missing == missing and f"({lib} not found)" in check.reason and check.fix.startswith(fix)
    line = gpu.error_line(check)
    assert line.startswith("--device cuda: ") and "\n" not in line and fix in line and line.endswith("(or use --device cpu)")
    assert gpu.cpu_line(check).startswith("model on the CPU: ") and fix in gpu.cpu_line(check)


def test_all_pieces_there_says_where_each_library_came_from():
    check = Machine(driver=FakeDriver()).check()
    assert check.ok and check.missing is None
    assert "CUDA 13 runtime from NVIDIA's pip wheel (/venv/lib/python3.11/site-packages/nvidia/cu13/lib)" in check.libraries
    assert "cuDNN 9 from the system (/usr/lib/x86_64-linux-gnu)" in check.libraries
    assert "onnxruntime.preload_dlls()" in check.libraries


def test_windows_library_names():
    names = gpu.library_names("13", "win32")
    assert names == {"driver": ["nvcuda.dll"], "runtime": ["cudart64_13.dll", "cublasLt64_13.dll", "cublas64_13.dll"],
                     "cudnn": ["cudnn64_9.dll"]}


def test_preload_keeps_onnxruntimes_prints_out_of_srlives_output(monkeypatch, capsys):
    monkeypatch.setattr(gpu.ort, "preload_dlls", lambda: print("Failed to load libcublasLt.so.13"), raising=False)
    assert gpu.preload_libraries() == "onnxruntime.preload_dlls()"
    assert capsys.readouterr().out == ""
    monkeypatch.delattr(gpu.ort, "preload_dlls")
    assert gpu.preload_libraries() == "the system's library path"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/maps")
def test_loaded_from_finds_a_loaded_library():
    ctypes.CDLL("libc.so.6")
    assert gpu.loaded_from("libc.so.6").endswith("libc.so.6")
    assert gpu.loaded_from("libnothing-here.so.1") is None


# --- the provider choice and what srlive says -------------------------------------------------------
@pytest.fixture
def machine(monkeypatch):
    """The runtime's check_cuda on a fake machine; set machine.driver/libs/providers in the test."""
    m = Machine(driver=None)
    monkeypatch.setattr(runtime.gpu, "check_cuda", lambda: m.check())
    return m


def test_cpu_never_asks_about_cuda(monkeypatch):
    monkeypatch.setattr(runtime.gpu, "check_cuda", lambda: pytest.fail("--device cpu checked CUDA"))
    assert runtime._providers_for("cpu") == (["CPUExecutionProvider"], None)


def test_provider_choice(machine):
    machine.driver = FakeDriver()
    providers, note = runtime._providers_for("auto")
    assert providers == ["CUDAExecutionProvider", "CPUExecutionProvider"] and note.startswith("CUDA libraries: CUDA 13")
    assert runtime._providers_for("cuda")[0] == providers
    machine.libs.discard("libcudnn.so.9")
    providers, note = runtime._providers_for("auto")
    assert providers == ["CPUExecutionProvider"] and note.startswith("model on the CPU: no cuDNN 9")
    with pytest.raises(UserError, match=r"^--device cuda: no cuDNN 9 \(libcudnn.so.9 not found\); fix: pip install"):
        runtime._providers_for("cuda")


@pytest.mark.parametrize("setup, words", [
    (dict(providers=["CPUExecutionProvider"]), "no CUDA provider"),
    (dict(driver=None), "no NVIDIA driver"),
    (dict(driver=FakeDriver(count=0)), "sees no GPU"),
    (dict(driver=FakeDriver(), libs=ALL_LIBS - {"libcudart.so.13"}), "no CUDA 13 runtime"),
    (dict(driver=FakeDriver(), libs=ALL_LIBS - {"libcudnn.so.9"}), "no cuDNN 9"),
])
def test_bench_device_cuda_without_a_piece_is_one_line_exit_2(machine, setup, words, capsys):
    for key, value in setup.items():
        setattr(machine, key, set(value) if key == "libs" else value)
    assert bench.main(["--device", "cuda", "--steps", "10"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("srlive: --device cuda: ") and words in err and "fix: " in err


def test_auto_says_once_why_it_runs_on_the_cpu(machine, tmp_path, capsys):
    take = Path(cli.__file__).parent / "data" / "example_take.mid"
    assert cli.main(["--in", str(take), "--out", str(tmp_path / "a.mid"), "--bars", "2"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["srlive: model on the CPU: no usable NVIDIA GPU: no NVIDIA driver (libcuda.so.1 not found) "
                   "(for the GPU: install NVIDIA's driver for your GPU; `nvidia-smi` then lists the GPU)"]


def test_a_mistake_after_loading_the_model_stays_one_line(machine, tmp_path, capsys):
    assert cli.main(["--in", str(tmp_path / "missing.mid"), "--out", str(tmp_path / "a.mid")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such MIDI file" in err[0]


def test_cpu_device_says_nothing_about_devices(tmp_path, capsys):
    take = Path(cli.__file__).parent / "data" / "example_take.mid"
    assert cli.main(["--in", str(take), "--out", str(tmp_path / "a.mid"), "--bars", "2", "--device", "cpu"]) == 0
    assert capsys.readouterr().err == ""


def test_bench_json_names_the_provider_that_ran_and_each_batch(machine, capsys):
    assert bench.main(["--json", "--steps", "20", "--batches", "1,8,32"]) == 0
    text = capsys.readouterr().out
    result = json.loads(text.strip().splitlines()[-1])
    assert result["provider"] == "CPUExecutionProvider" and result["device"] == "auto"
    assert result["device_note"].startswith("model on the CPU: ")
    assert [b["n"] for b in result["batches"]] == [1, 8, 32]
    for b in result["batches"]:
        assert b["io_binding"] is True and b["steps"] >= 10
        assert 0 < b["p50_ms"] <= b["p99_ms"] <= b["max_ms"]
        assert b["per_bar_us"] == pytest.approx(b["p50_ms"] * 1e3 / b["n"], rel=1e-3)
    assert "N=32" in text and "I/O binding" in text


def test_bench_rejects_bad_batch_sizes(capsys):
    with pytest.raises(SystemExit) as info:
        bench.main(["--batches", "0,8"])
    assert info.value.code == 2 and "whole numbers from 1 up" in capsys.readouterr().err


def test_bound_step_at_batch_n_gives_step_batchs_answers():
    rt = runtime.load_runtime(device="cpu")
    rng = np.random.default_rng(0)
    bars = music_like_bars(8 * rt.context, rng).reshape(8, *rt.heard_shape)  # every bar the model hears
    noise = rng.standard_normal((8, rt.latent)).astype(np.float32)
    temps = np.linspace(0.5, 1.5, 8, dtype=np.float32)
    got = rt.bound_step(8).run(bars, noise, temps)
    np.testing.assert_allclose(got, rt.step_batch(bars, noise, temps), atol=1e-5)
    assert got.shape == (8, 88, 16)
    assert not np.shares_memory(got, rt.bound_step(8).run(bars, noise, temps))

