"""Can onnxruntime's CUDA provider run here, and with which CUDA/cuDNN libraries?

`check_cuda()` looks at the pieces a CUDA session needs, in the order a performer installs them,
and stops at the first one missing:

    provider  CUDAExecutionProvider in onnxruntime.get_available_providers() (the onnxruntime-gpu wheel)
    driver    NVIDIA's driver library (libcuda.so.1 / nvcuda.dll) loads, cuInit succeeds, it supports
              the CUDA major onnxruntime was built with, and it sees at least one GPU
    runtime   the CUDA runtime and cuBLAS of that major (libcudart.so.13, libcublasLt.so.13, libcublas.so.13)
    cudnn     cuDNN 9 (libcudnn.so.9)

The libraries are loaded the way onnxruntime documents, `onnxruntime.preload_dlls()`: NVIDIA's pip
wheels (the `gpu` extra: onnxruntime-gpu[cuda,cudnn]) when installed, else the system's (ldconfig,
LD_LIBRARY_PATH, PATH). The driver is asked first, so a machine without one never loads the CUDA
libraries. The result names the missing piece with the command that installs it, or where each
library was loaded from. The loader, the provider list, the preload and the "where was it loaded
from" question are parameters, so every case can be faked without a GPU.

Nothing here prints: the caller says the one line (`error_line` for --device cuda, `cpu_line` for
--device auto running on the CPU).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import platform as host
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CUDNN_MAJOR = 9
CUDA_ERROR_NO_DEVICE = 100
WHEEL_PLATFORMS = {("linux", "x86_64"), ("win32", "amd64")}  # where PyPI has onnxruntime-gpu wheels

Loader = Callable[[str], object]  # library name → handle; raises OSError when it cannot load


@dataclass(frozen=True)
class CudaCheck:
    """What `check_cuda` found. `missing` is None when CUDA can run; else one of
    "provider", "driver", "gpu", "runtime", "cudnn", with `reason` (what is missing, in words)
    and `fix` (the command that installs it). `libraries` says where the CUDA and cuDNN
    libraries were loaded from."""

    missing: str | None
    reason: str = ""
    fix: str = ""
    libraries: str = ""

    @property
    def ok(self) -> bool:
        return self.missing is None


def library_names(cuda_major: str, platform: str = sys.platform) -> dict[str, list[str]]:
    """The libraries each piece needs, by file name, for onnxruntime built with CUDA `cuda_major`."""
    if platform == "win32":
        return {"driver": ["nvcuda.dll"],
                "runtime": [f"cudart64_{cuda_major}.dll", f"cublasLt64_{cuda_major}.dll", f"cublas64_{cuda_major}.dll"],
                "cudnn": [f"cudnn64_{CUDNN_MAJOR}.dll"]}
    return {"driver": ["libcuda.so.1"],
            "runtime": [f"libcudart.so.{cuda_major}", f"libcublasLt.so.{cuda_major}", f"libcublas.so.{cuda_major}"],
            "cudnn": [f"libcudnn.so.{CUDNN_MAJOR}"]}


def built_cuda_major() -> str:
    """The CUDA major this onnxruntime-gpu was built with ("13" for 1.31); "" for a CPU-only build."""
    return str(getattr(ort, "cuda_version", "") or "").split(".")[0]


def gpu_install_command(extras: str = "cuda,cudnn") -> str:
    """pip's command for onnxruntime-gpu with NVIDIA's wheels, at the onnxruntime version installed."""
    version = getattr(ort, "__version__", "")
    pin = f"=={version}" if version and getattr(ort, "cuda_version", "") else ""
    return f'pip install "onnxruntime-gpu[{extras}]{pin}"'


# --- the driver ----------------------------------------------------------------------------------
def driver_status(load: Loader, name: str, cuda_major: str) -> tuple[str | None, str, str]:
    """(missing piece or None, reason, fix) for NVIDIA's driver, asked through libcuda directly
    (cuInit, cuDriverGetVersion, cuDeviceGetCount): cheap, and it loads no CUDA library."""
    try:
        lib = load(name)
    except OSError:
        return "driver", f"no NVIDIA driver ({name} not found)", \
            "install NVIDIA's driver for your GPU; `nvidia-smi` then lists the GPU"
    try:
        err = lib.cuInit(0)
        if err == CUDA_ERROR_NO_DEVICE:
            return "gpu", "the NVIDIA driver sees no GPU", "check `nvidia-smi`"
        if err != 0:
            return "gpu", f"the NVIDIA driver does not start (cuInit error {err})", "check `nvidia-smi` and reboot after a driver update"
        version = ctypes.c_int(0)
        if cuda_major.isdigit() and lib.cuDriverGetVersion(ctypes.byref(version)) == 0 \
                and 0 < version.value < int(cuda_major) * 1000:
            have = f"{version.value // 1000}.{version.value % 1000 // 10}"
            return "driver", f"the NVIDIA driver supports CUDA {have}, onnxruntime-gpu {ort.__version__} needs CUDA {cuda_major}", \
                f"update NVIDIA's driver to one for CUDA {cuda_major}; `nvidia-smi` shows the CUDA version it supports"
        count = ctypes.c_int(0)
        if lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
            return "gpu", "the NVIDIA driver sees no GPU", "check `nvidia-smi`"
    except (AttributeError, OSError):
        return "driver", f"{name} is not NVIDIA's driver library", "reinstall NVIDIA's driver; `nvidia-smi` then lists the GPU"
    return None, "", ""


def cuda_device_count(load: Loader = ctypes.CDLL) -> int:
    """How many CUDA devices the driver reports; 0 without a driver or a GPU."""
    if sys.platform not in ("linux", "win32"):
        return 0
    name = library_names("", sys.platform)["driver"][0]
    try:
        lib = load(name)
        count = ctypes.c_int(0)
        if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return int(count.value)
    except (AttributeError, OSError):
        return 0


# --- the libraries -------------------------------------------------------------------------------
def preload_libraries() -> str:
    """onnxruntime.preload_dlls(): NVIDIA's pip wheels first, then the system's search path. It
    prints what fails to stdout; that is kept out of srlive's output (the checks after it say what
    is missing). Returns how the libraries were looked for."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:  # onnxruntime-gpu before 1.21: the system's libraries only
        return "the system's library path"
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            preload()
        except (OSError, RuntimeError):
            return "the system's library path"
    return "onnxruntime.preload_dlls()"


def loaded_from(name: str) -> str | None:
    """The file a loaded library `name` was mapped from (Linux: /proc/self/maps), else None."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rstrip("\n").split(maxsplit=5)[-1]
                if os.path.basename(path).startswith(name):
                    return path
    except OSError:
        pass
    return None


def describe_origin(path: str | None) -> str:
    """'pip wheel (<dir>)' for NVIDIA's wheels in site-packages, 'system (<dir>)' otherwise."""
    if path is None:
        return "the system's library path"
    folder = os.path.dirname(path)
    parts = folder.replace("\\", "/").split("/")
    if "nvidia" in parts and any(p in ("site-packages", "dist-packages") for p in parts):
        return f"NVIDIA's pip wheel ({folder})"
    return f"the system ({folder})"


def _first_missing(load: Loader, names: Iterable[str]) -> str | None:
    for name in names:
        try:
            load(name)
        except OSError:
            return name
    return None


# --- the whole check -----------------------------------------------------------------------------
def check_cuda(providers: list[str] | None = None, load: Loader = ctypes.CDLL,
               preload: Callable[[], str] = preload_libraries, where: Callable[[str], str | None] = loaded_from,
               cuda_major: str | None = None, platform: str | None = None, machine: str | None = None) -> CudaCheck:
    """Can a CUDA session run here? Asks the pieces in order and stops at the first missing one."""
    providers = ort.get_available_providers() if providers is None else providers
    platform = sys.platform if platform is None else platform
    machine = (host.machine() if machine is None else machine).lower()
    cuda_major = built_cuda_major() if cuda_major is None else cuda_major
    if CUDA not in providers:
        if (platform, machine) not in WHEEL_PLATFORMS:
            return CudaCheck("provider", f"onnxruntime has no CUDA build for {platform}/{machine}", "use --device cpu")
        return CudaCheck("provider", "this onnxruntime has no CUDA provider (the CPU-only onnxruntime wheel is installed)",
                         f"pip uninstall -y onnxruntime onnxruntime-gpu && {gpu_install_command()}")
    names = library_names(cuda_major or "13", platform)
    missing, reason, fix = driver_status(load, names["driver"][0], cuda_major)
    if missing:
        return CudaCheck(missing, f"no usable NVIDIA GPU: {reason}", fix)
    how = preload()
    lib = _first_missing(load, names["runtime"])
    if lib:
        return CudaCheck("runtime", f"no CUDA {cuda_major} runtime ({lib} not found)", gpu_install_command())
    lib = _first_missing(load, names["cudnn"])
    if lib:
        return CudaCheck("cudnn", f"no cuDNN {CUDNN_MAJOR} ({lib} not found)", gpu_install_command("cudnn"))
    cudart, cudnn = names["runtime"][0], names["cudnn"][0]
    return CudaCheck(None, libraries=f"CUDA {cuda_major} runtime from {describe_origin(where(cudart))}, "
                                     f"cuDNN {CUDNN_MAJOR} from {describe_origin(where(cudnn))} (loaded with {how})")


def error_line(check: CudaCheck) -> str:
    """--device cuda where CUDA cannot run: what is missing and the command that fixes it."""
    return f"--device cuda: {check.reason}; fix: {check.fix} (or use --device cpu)"


def cpu_line(check: CudaCheck) -> str:
    """--device auto running on the CPU: why, and what would put it on the GPU."""
    if check.missing == "provider" and check.fix == "use --device cpu":
        return f"model on the CPU: {check.reason}"
    return f"model on the CPU: {check.reason} (for the GPU: {check.fix})"
