"""ddcli: dataset distillation of multi-index regression tasks.

The public API; the command line is one client of it::

    from ddcli import generate, distill, train, evaluate, read_ddh5, write_ddh5

    result = distill(teacher_source(d=128, r=3, n=65536), r=3, recipe=Recipe(width=512))
    write_ddh5(result.distilled, "set.ddh5")
    model = train("set.ddh5").network
"""

from ._dataset import GenerateResult, generate
from ._ddh5 import DistilledSet, read_ddh5, write_ddh5
from ._distill import DistillResult, distill, train_distilled
from ._evaluate import ModelEvaluation, SetEvaluation, evaluate, evaluate_model, evaluate_set
from ._inspect import inspect_file
from ._model import read_model, write_model
from ._recipe import Network, Recipe, train_on_source
from ._train import TrainResult, train
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
from ._hdf5 import NewerMinorVersionWarning
from ._links import parse_link
from ._sources import DataSource, TeacherSource, open_source, teacher_source
from ._teacher import Teacher
from ._version import __version__

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
