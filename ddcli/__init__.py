"""ddcli: dataset distillation of multi-index regression tasks.

The public API; the command line is one client of it::

    from ddcli import generate, distill, train, evaluate, read_ddh5, write_ddh5

    result = distill(teacher_source(d=128, r=3, n=65536), r=3, recipe=Recipe(width=512))
    write_ddh5(result.distilled, "set.ddh5")
    model = train("set.ddh5").network
"""

from importlib import import_module
from typing import TYPE_CHECKING

from ._errors import (
    DdcliError,
    ExitCode,
    InvalidFileError,
    InvalidParameterError,
    OutputExistsError,
    QualityGateError,
    UnsupportedVersionError,
    UsageError,
)
from ._version import __version__

# Everything else loads on first use, so `import ddcli` and `ddcli --help` stay fast
# (the math pulls in torch).
_LAZY = {
    "GenerateResult": "_dataset", "generate": "_dataset",
    "DistilledSet": "_ddh5", "read_ddh5": "_ddh5", "write_ddh5": "_ddh5",
    "DistillResult": "_distill", "distill": "_distill", "train_distilled": "_distill",
    "ModelEvaluation": "_evaluate", "SetEvaluation": "_evaluate", "evaluate": "_evaluate",
    "evaluate_model": "_evaluate", "evaluate_set": "_evaluate",
    "NewerMinorVersionWarning": "_hdf5",
    "inspect_file": "_inspect",
    "parse_link": "_links",
    "read_model": "_model", "write_model": "_model",
    "Network": "_network", "Recipe": "_network", "train_on_source": "_recipe",
    "DataSource": "_sources", "TeacherSource": "_sources", "open_source": "_sources", "teacher_source": "_sources",
    "Teacher": "_teacher",
    "TrainResult": "_train", "train": "_train",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ddcli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from ._dataset import GenerateResult, generate
    from ._ddh5 import DistilledSet, read_ddh5, write_ddh5
    from ._distill import DistillResult, distill, train_distilled
    from ._evaluate import ModelEvaluation, SetEvaluation, evaluate, evaluate_model, evaluate_set
    from ._hdf5 import NewerMinorVersionWarning
    from ._inspect import inspect_file
    from ._links import parse_link
    from ._model import read_model, write_model
    from ._network import Network, Recipe
    from ._recipe import train_on_source
    from ._sources import DataSource, TeacherSource, open_source, teacher_source
    from ._teacher import Teacher
    from ._train import TrainResult, train

__all__ = [
    "DataSource",
    "DistillResult",
    "DistilledSet",
    "ModelEvaluation",
    "Network",
    "Recipe",
    "SetEvaluation",
    "TrainResult",
    "distill",
    "evaluate",
    "evaluate_model",
    "evaluate_set",
    "inspect_file",
    "read_ddh5",
    "read_model",
    "train",
    "train_distilled",
    "train_on_source",
    "write_ddh5",
    "write_model",
    "DdcliError",
    "ExitCode",
    "GenerateResult",
    "InvalidFileError",
    "InvalidParameterError",
    "NewerMinorVersionWarning",
    "OutputExistsError",
    "QualityGateError",
    "Teacher",
    "TeacherSource",
    "UnsupportedVersionError",
    "UsageError",
    "__version__",
    "generate",
    "open_source",
    "parse_link",
    "teacher_source",
]
