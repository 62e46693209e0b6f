"""The trained-model file (format ``ddcli-model``), specified in formats/model.md."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from ._errors import InvalidFileError, InvalidParameterError
from ._hdf5 import atomic_output, create_group, read_attributes, set_attr, digest, open_untrusted, read_array, read_attr, read_format, write_root
from ._network import Network, Recipe

FORMAT = "ddcli-model"
VERSION = (1, 0)
_RECIPE_KINDS = {"width": int, "seed": int, "ridge": float, "stage1_fraction": float, "feature_learning": bool,
                 "init": str, "head": str, "gd_steps": int, "validation_fraction": float, "activation": str}


def _arrays(net: Network) -> list[np.ndarray]:
    return [net.weights.astype("<f4"), net.biases.astype("<f8"), net.head.astype("<f8"),
            np.asarray(net.alpha, dtype="<f8"), net.beta.astype("<f8")]


def write_model(net: Network, output: str | os.PathLike, *, force: bool = False, command: str | None = None) -> Path:
    with atomic_output(output, force, validate=read_model) as tmp:
        with h5py.File(tmp, "w", libver=("v110", "latest")) as fh:
            write_root(fh, FORMAT, f"{VERSION[0]}.{VERSION[1]}", command)
            for name, array in zip(("weights", "biases", "head", "alpha", "beta"), _arrays(net)):
                fh.create_dataset(name, data=array)
            set_attr(fh, "digest", digest(_arrays(net)))
            recipe = create_group(fh, "recipe")
            for key, value in net.recipe.to_dict().items():
                set_attr(recipe, key, value)
            provenance = create_group(fh, "provenance")
            for key, value in net.provenance.items():
                set_attr(provenance, key, value if isinstance(value, (int, float, str, bool)) else json.dumps(value))
    return Path(output)


def read_recipe(path: Path, group: h5py.Group) -> Recipe:
    values = {key: read_attr(path, group, key, kind) for key, kind in _RECIPE_KINDS.items() if key in group.attrs or key in ("width", "seed")}
    try:
        return Recipe(**values).validate()
    except InvalidParameterError as exc:
        raise InvalidFileError(path, f"recipe attribute '{exc.name}' is {exc.value!r}, expected {exc.expected}") from None


def read_provenance(path: Path, group: h5py.Group | None) -> dict:
    return read_attributes(path, group) if group is not None else {}


def read_model(path: str | os.PathLike) -> Network:
    path = Path(path)
    with open_untrusted(path) as fh:
        read_format(path, fh, FORMAT, *VERSION)
        weights = read_array(path, fh, "weights", ndim=2).astype(np.float32)
        biases = read_array(path, fh, "biases", ndim=1).astype(np.float64)
        head = read_array(path, fh, "head", ndim=1).astype(np.float64)
        alpha = read_array(path, fh, "alpha", ndim=0).astype(np.float64)
        beta = read_array(path, fh, "beta", ndim=1).astype(np.float64)
        width, d = weights.shape
        for name, array, size in (("biases", biases, width), ("head", head, width), ("beta", beta, d)):
            if array.shape != (size,):
                raise InvalidFileError(path, f"dataset '/{name}' has shape {array.shape}, expected ({size},) to match '/weights' {weights.shape}")
        if "recipe" not in fh:
            raise InvalidFileError(path, "group '/recipe' is missing")
        recipe = read_recipe(path, fh["recipe"])
        if recipe.width != width:
            raise InvalidFileError(path, f"recipe width {recipe.width} contradicts '/weights' with {width} rows")
        net = Network(weights, biases, head, float(alpha), beta, recipe, read_provenance(path, fh.get("provenance")))
        if read_attr(path, fh, "digest", str) != digest(_arrays(net)):
            raise InvalidFileError(path, "digest mismatch: the arrays were changed or corrupted after writing")
        return net
