"""ddcli: dataset distillation of multi-index regression tasks.

The public API; the command line is one client of it::

    from ddcli import generate, open_source, Teacher
"""

from ._dataset import GenerateResult, generate
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
