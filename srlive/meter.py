"""Which meter a session plays, and whether a model can play it (pure but for a folder look-up).

A meter (srlive.contract.METERS: 4/4, 3/4, 6/8) fixes a bar's length in sixteenth steps, and a
model takes bars of one length only (its ``srlive.steps`` metadata): 16 for 4/4, 12 for 3/4 and
6/8. So the meter picks the shipped model (``srlive/models/<meter.model>``) unless ``--model``
names one, and a model whose bars are of another length is refused in one line naming the fix.
In file mode a take's time signature picks the meter unless ``--meter`` is given.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from srlive.contract import DEFAULT_METER, META, METERS, STEPS, Meter
from srlive.errors import ModelError, UserError


def named(name: str | None) -> Meter:
    """The meter called ``name`` (None: the default, 4/4)."""
    return METERS[name or DEFAULT_METER]


def _choices() -> str:
    names = list(METERS)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def of_signature(signature: tuple[int, int] | None, source: str) -> Meter | None:
    """The meter of a take's time signature (None when it has none); a signature srlive has no
    model for is one line naming ``--meter`` as the fix."""
    if signature is None:
        return None
    for meter in METERS.values():
        if meter.time_signature == tuple(signature):
            return meter
    num, den = signature
    raise UserError(f"{source}: its time signature is {num}/{den}, and srlive plays bars of {_choices()}; "
                    f"give --meter to answer it in one of those")


def _models(root: Path | None) -> Path:
    """The folder of the models shipped inside srlive (or ``root``, for tests)."""
    return root if root is not None else Path(str(importlib.resources.files("srlive").joinpath("models")))


def shipped_model(meter: Meter, root: Path | None = None) -> Path:
    """The folder of the model shipped for ``meter``'s bars; one line when this srlive has none."""
    path = _models(root) / meter.model
    if not (path / "step.onnx").is_file() and not (path / "generator.onnx").is_file():
        raise ModelError(f"no shipped model for {meter.name} bars ({path} is not there); give --model PATH of a "
                         f"model trained on {meter.steps}-step bars, or play --meter {DEFAULT_METER}")
    return path


def model_path(given: str | None, meter: Meter, root: Path | None = None) -> Path:
    """The model a session plays: --model as a path when it is one, else the name of a model
    shipped inside srlive (a folder of srlive/models: `default`, `triple`), else, with no
    --model, the one shipped for the meter's bars (`shipped_model`)."""
    if not given:
        return shipped_model(meter, root)
    path = Path(given)
    base = _models(root)
    if not path.exists() and path.name == given and (base / given / "step.onnx").is_file():
        return base / given
    return path


def model_steps(runtime) -> int:
    """The bar length a model takes, in sixteenths: its ``steps``, else its ``srlive.steps``
    metadata, else 16 (a model made before meters had none other)."""
    steps = getattr(runtime, "steps", None)
    if steps is None:
        steps = (getattr(runtime, "metadata", None) or {}).get(META["steps"])
    try:
        return int(steps) if steps is not None else STEPS
    except (TypeError, ValueError):
        raise ModelError(f"{getattr(runtime, 'path', 'the model')}: srlive.steps is {steps!r}, not a number of "
                         "steps; re-export the model") from None


def check_model(runtime, meter: Meter) -> None:
    """One line when the model's bars are not ``meter``'s length, naming the fix."""
    steps = model_steps(runtime)
    if steps == meter.steps:
        return
    fits = [name for name, m in METERS.items() if m.steps == steps]
    plays = f" ({' or '.join(fits)})" if fits else ""
    where = getattr(runtime, "path", None) or "the model"
    raise ModelError(f"{where}: a model of {steps}-step bars{plays} can't play {meter.name} bars ({meter.steps} "
                     f"steps); give --model a {meter.steps}-step model, or leave --model out for the shipped one"
                     + (", or play " + " or ".join(f"--meter {name}" for name in fits) if fits else ""))
