"""One exception hierarchy and one table of exit codes for the whole tool."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    INVALID_FILE = 3
    UNSUPPORTED_VERSION = 4
    QUALITY_GATE = 5


class DdcliError(Exception):
    """Base class of every error ddcli raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL


class InvalidParameterError(DdcliError, ValueError):
    """A parameter has a value outside what it accepts.

    ``name`` is the Python parameter name; the CLI shows it as ``--name``.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, name: str, value: object, expected: str):
        self.name = name
        self.value = value
        self.expected = expected
        super().__init__(f"invalid value for {name!r}: {value!r} (expected {expected})")

    def cli_message(self) -> str:
        option = "--" + self.name.replace("_", "-")
        return f"Invalid value for '{option}': {self.value!r} (expected {self.expected})"


class UsageError(DdcliError, ValueError):
    """Options that contradict each other, or a missing option."""

    exit_code = ExitCode.USAGE


class OutputExistsError(UsageError, FileExistsError):
    """The output file exists and overwriting was not asked for."""


class InvalidFileError(DdcliError, ValueError):
    """An input file is missing, unreadable, corrupt, unsafe or of another format."""

    exit_code = ExitCode.INVALID_FILE

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsupportedVersionError(InvalidFileError):
    """A file declares a major format version this ddcli cannot read."""

    exit_code = ExitCode.UNSUPPORTED_VERSION


class QualityGateError(DdcliError):
    """A measured quality is worse than the gate the user set."""

    exit_code = ExitCode.QUALITY_GATE


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int,)) or value < minimum:
        raise InvalidParameterError(name, value, f"an integer >= {minimum}")
    return int(value)


def check_seed(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidParameterError(name, value, "an integer in [0, 2**63)")
    return int(value)
