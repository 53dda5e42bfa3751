"""The srlive metadata props written into every exported ONNX file (docs/design.md, "The model and its
ONNX contract"). The key names and the format version live in srlive.contract (srlive.model.runtime
reads them); this module only builds and writes them.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import PurePosixPath, PureWindowsPath

import onnx

from srlive import roll
from srlive.contract import FORMAT_VERSION, META


MAX_LIST = 8  # longer lists in the data summary (failed files, duplicate examples) are cut to this


def portable(text: str) -> str:
    """A path as the model's files may carry it: an absolute path becomes its file name, so a shipped
    model says which file it came from without naming the machine it was made on."""
    if isinstance(text, str) and (PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute()):
        return PureWindowsPath(text).name if "\\" in text else PurePosixPath(text).name
    return text


def compact(value, max_list: int = MAX_LIST):
    """The data summary without its long tails: lists cut to `max_list` items plus a count of the
    rest, so the metadata says what the model was trained on without carrying a file list; and
    without absolute paths (`portable`)."""
    if isinstance(value, dict):
        return {str(k): compact(v, max_list) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [compact(v, max_list) for v in value[:max_list]]
        if len(value) > max_list:
            items.append(f"... {len(value) - max_list} more")
        return items
    return portable(value)


def build_metadata(config: dict, data_summary: dict | None, trained_steps: int | None, created: str | None = None,
                   temperature: float = 1.0, candidates: int | None = None, selection: dict | None = None) -> dict[str, str]:
    """The props, all strings (ONNX metadata is string → string). `temperature` is the one the
    model plays at when the performer gives none (the one it was measured at); `candidates` and
    `selection` (weights by term name), when given, how hard it selects its answers by default.

    `data_summary` is the checkpoint's description of its training data, stored as compact JSON;
    a missing summary is recorded as such rather than invented.
    """
    if created is None:
        created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    if data_summary is None:
        data = "unknown (checkpoint has no data_summary)"
    elif isinstance(data_summary, str):
        data = data_summary
    else:
        data = json.dumps(compact(data_summary), sort_keys=True, separators=(",", ":"), default=str)
    return {
        META["format"]: str(FORMAT_VERSION),
        META["config"]: json.dumps(config, sort_keys=True, separators=(",", ":")),
        META["lowest_pitch"]: str(roll.LOWEST_PITCH),
        META["steps"]: str(int(config.get("steps", roll.STEPS))),  # the bar's width: 16, or 12 (triple)
        META["latent"]: str(int(config.get("latent", roll.LATENT))),
        META["context"]: "1",  # bars the encoder hears: the VAE-GAN's one (phrase_export writes the step decoder's)
        META["data"]: data,
        META["trained_steps"]: str(int(trained_steps or 0)),
        META["created"]: created,
        META["temperature"]: repr(float(temperature)),
        **({} if candidates is None else {META["candidates"]: str(int(candidates))}),
        **({} if selection is None else {META["selection"]: json.dumps(selection, sort_keys=True)}),
    }


def set_metadata(model: onnx.ModelProto, props: dict[str, str]) -> onnx.ModelProto:
    """Replace any srlive.* props on `model` with `props` (others are kept). Returns the model."""
    keep = [p for p in model.metadata_props if not p.key.startswith("srlive.")]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def read_metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}
