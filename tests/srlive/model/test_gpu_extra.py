"""The installed package metadata declares the `gpu` extra as intended: onnxruntime-gpu with its
`cuda` and `cudnn` extras where NVIDIA's wheels exist, nothing more in the plain install (read from
the installed metadata; nothing is downloaded)."""

from __future__ import annotations

from importlib.metadata import metadata, requires

from packaging.requirements import Requirement

WHEELS = [{"sys_platform": "linux", "platform_machine": "x86_64"}, {"sys_platform": "win32", "platform_machine": "AMD64"}]
NO_WHEELS = [{"sys_platform": "darwin", "platform_machine": "arm64"}, {"sys_platform": "linux", "platform_machine": "aarch64"}]


def _requirements() -> list[Requirement]:
    return [Requirement(r) for r in requires("srlive")]


def _wanted(env: dict, extra: str) -> dict[str, set[str]]:
    """name → extras of it that `pip install "srlive[extra]"` ("" = plain) asks for on `env`."""
    out: dict[str, set[str]] = {}
    for req in _requirements():
        if req.marker is None or req.marker.evaluate({**env, "extra": extra}):
            out.setdefault(req.name, set()).update(req.extras)
    return out


def test_gpu_is_a_declared_extra():
    assert "gpu" in metadata("srlive").get_all("Provides-Extra")


def test_gpu_brings_onnxruntime_gpu_with_cuda_and_cudnn_where_the_wheels_exist():
    for env in WHEELS:
        gpu = [r for r in _requirements() if r.marker is not None and r.marker.evaluate({**env, "extra": "gpu"})
               and not r.marker.evaluate({**env, "extra": ""})]
        assert [r.name for r in gpu] == ["onnxruntime-gpu"], env
        assert gpu[0].extras == {"cuda", "cudnn"}
        assert gpu[0].specifier.contains("1.31.1") and not gpu[0].specifier.contains("1.20.0")  # extras from 1.21


def test_gpu_adds_nothing_where_no_wheels_exist():
    for env in NO_WHEELS:
        assert _wanted(env, "gpu") == _wanted(env, ""), env


def test_plain_install_is_unchanged():
    for env in WHEELS:
        plain = _wanted(env, "")
        assert plain["onnxruntime-gpu"] == set() and "onnxruntime" not in plain
    for env in NO_WHEELS:
        plain = _wanted(env, "")
        assert "onnxruntime" in plain and "onnxruntime-gpu" not in plain
    assert not any(r.name.startswith("nvidia-") for r in _requirements())
