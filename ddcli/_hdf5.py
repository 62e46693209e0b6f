"""Shared HDF5 plumbing: opening untrusted files safely, digests, atomic writes.

Every reader in ddcli opens files through :func:`open_untrusted`, and every writer
goes through :func:`atomic_output`, so the file rules of the project live here once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import h5py
import numpy as np

from ._errors import InvalidFileError, InvalidParameterError, OutputExistsError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# gzip, shuffle, fletcher32, lzf: what h5py writes without plugins.
ALLOWED_FILTERS = {1, 2, 3, 32000}
MAX_ELEMENTS = 1 << 40
_NUMERIC_KINDS = "fiub"


def file_signature(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(8)
    except FileNotFoundError:
        raise InvalidFileError(path, "no such file") from None
    except IsADirectoryError:
        raise InvalidFileError(path, "is a directory, expected a file") from None
    except OSError as exc:
        raise InvalidFileError(path, f"cannot be read ({exc.strerror})") from None


def _check_dataset(path: Path, name: str, ds: h5py.Dataset) -> None:
    where = f"dataset '/{name}'"
    if ds.is_virtual:
        raise InvalidFileError(path, f"{where} is a virtual dataset; ddcli reads only plain datasets")
    if ds.external:
        raise InvalidFileError(path, f"{where} uses external storage; ddcli reads only plain datasets")
    if ds.dtype.kind not in _NUMERIC_KINDS or ds.dtype.fields is not None:
        raise InvalidFileError(path, f"{where} has dtype {ds.dtype}, expected a numeric dtype")
    if ds.size > MAX_ELEMENTS:
        raise InvalidFileError(path, f"{where} has an absurd size {ds.shape}")
    plist = ds.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in ALLOWED_FILTERS:
            raise InvalidFileError(path, f"{where} uses unknown HDF5 filter {code}")


def check_tree(path: Path, group: h5py.Group, prefix: str = "", seen: set | None = None) -> None:
    """Walk every link of ``group``: only hard links to groups and safe datasets pass."""
    seen = set() if seen is None else seen
    key = hash((group["/"] if isinstance(group, h5py.File) else group).id)
    if key in seen:
        raise InvalidFileError(path, f"group '/{prefix}' is linked into itself (a cycle); ddcli reads trees only")
    seen.add(key)
    for name in group:
        full = f"{prefix}{name}"
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise InvalidFileError(path, f"'/{full}' is an external link; ddcli does not follow links")
        if isinstance(link, h5py.SoftLink):
            raise InvalidFileError(path, f"'/{full}' is a soft link; ddcli does not follow links")
        obj = group[name]
        if isinstance(obj, h5py.Group):
            check_tree(path, obj, full + "/", seen)
        elif isinstance(obj, h5py.Dataset):
            _check_dataset(path, full, obj)
        else:
            raise InvalidFileError(path, f"'/{full}' is a {type(obj).__name__}, not a group or dataset")


@contextlib.contextmanager
def open_untrusted(path: str | os.PathLike) -> Iterator[h5py.File]:
    """Open an HDF5 file read-only after checking every object in it is safe to read."""
    path = Path(path)
    signature = file_signature(path)
    if len(signature) == 0:
        raise InvalidFileError(path, "is empty, expected an HDF5 file")
    if signature != HDF5_SIGNATURE:
        raise InvalidFileError(path, "is not an HDF5 file")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InvalidFileError(path, f"is not a readable HDF5 file (truncated or corrupt: {exc})") from None
    try:
        try:
            check_tree(path, fh)
        except (OSError, KeyError, RuntimeError) as exc:
            raise InvalidFileError(path, f"is corrupt ({exc})") from None
        yield fh
    finally:
        fh.close()


def read_array(path: Path, fh: h5py.Group, name: str, *, ndim: int, dtype_kind: str = "f",
               max_elements: int = 1 << 28) -> np.ndarray:
    """Read one dataset whole, naming the path in every failure."""
    if name not in fh:
        raise InvalidFileError(path, f"dataset '/{name}' is missing")
    ds = fh[name]
    if not isinstance(ds, h5py.Dataset):
        raise InvalidFileError(path, f"'/{name}' is not a dataset")
    if ds.size > max_elements:
        raise InvalidFileError(path, f"dataset '/{name}' has an absurd size {ds.shape} (more than {max_elements:,} values)")
    if ds.ndim != ndim:
        raise InvalidFileError(path, f"dataset '/{name}' has shape {ds.shape}, expected {ndim} dimension(s)")
    if ds.dtype.kind not in dtype_kind:
        raise InvalidFileError(path, f"dataset '/{name}' has dtype {ds.dtype}")
    try:
        value = ds[()]
    except (OSError, RuntimeError, MemoryError) as exc:
        raise InvalidFileError(path, f"dataset '/{name}' cannot be read ({type(exc).__name__}: {exc})") from None
    value = np.asarray(value)
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        bad = np.argwhere(~np.isfinite(value))[0]
        raise InvalidFileError(path, f"dataset '/{name}' has a non-finite value at index {tuple(int(i) for i in bad)}")
    return value


def read_attr(path: Path, obj: h5py.HLObject, name: str, kind: type | tuple[type, ...]) -> object:
    where = obj.name if obj.name != "/" else "root"
    if name not in obj.attrs:
        raise InvalidFileError(path, f"attribute '{name}' of {where} is missing")
    try:
        value = obj.attrs[name]
    except (OSError, TypeError) as exc:
        raise InvalidFileError(path, f"attribute '{name}' of {where} cannot be read ({exc})") from None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        value = value.item()
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise InvalidFileError(path, f"attribute '{name}' of {where} is {value!r}, expected {_kind_name(kind)}")
    if isinstance(value, float) and not np.isfinite(value):
        raise InvalidFileError(path, f"attribute '{name}' of {where} is not finite")
    return value


def read_attributes(path: Path, obj: h5py.HLObject) -> dict:
    """Every attribute of ``obj`` as plain Python values; only strings and finite numbers pass."""
    where = obj.name if obj.name != "/" else "root"
    out: dict = {}
    for name in obj.attrs:
        try:
            dtype = obj.attrs.get_id(name).dtype
            value = obj.attrs[name]
        except (OSError, TypeError, ValueError) as exc:
            raise InvalidFileError(path, f"attribute '{name}' of {where} cannot be read ({exc})") from None
        if h5py.check_string_dtype(dtype) is not None or dtype.kind == "S":
            text = lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)  # noqa: E731
            out[name] = [text(v) for v in np.asarray(value).ravel()] if isinstance(value, np.ndarray) and value.ndim else text(value)
            continue
        if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
            raise InvalidFileError(path, f"attribute '{name}' of {where} has type {dtype}, expected a string or numbers")
        array = np.asarray(value)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise InvalidFileError(path, f"attribute '{name}' of {where} is not finite")
        out[name] = array.item() if array.ndim == 0 else array.tolist()
    return out


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(k, k.__name__) for k in kinds)


def digest(arrays: list[np.ndarray]) -> str:
    """SHA-256 over the arrays' bytes in order, as little-endian C-order values."""
    h = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(array)
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def check_output_path(path: str | os.PathLike, force: bool, option: str = "output") -> Path:
    """Fail early, before any work, if ``path`` cannot be written."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; pass --force to overwrite it")
    if path.is_dir():
        raise InvalidParameterError(option, str(path), "a file path, not a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidParameterError(option, str(path), f"a path in an existing folder ('{parent}' does not exist)")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool, validate: Callable[[Path], object] | None = None,
                  option: str = "output") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success validate it and rename it into place.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = check_output_path(path, force, option)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if validate is not None:
            validate(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if path.exists() and not force:
            raise OutputExistsError(f"{path} appeared while ddcli was writing it; pass --force to overwrite it")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class NewerMinorVersionWarning(UserWarning):
    """A file declares a newer minor version: read, but fields added later are ignored."""


def format_attribute(path: Path, fh: h5py.File) -> str | None:
    """The root ``format`` attribute as text, or None; a corrupt header is an invalid file."""
    try:
        fmt = fh.attrs.get("format")
    except Exception as exc:  # h5py raises KeyError, OSError, RuntimeError... on damaged headers
        raise InvalidFileError(path, f"is corrupt (its root attributes cannot be read: {exc})") from None
    if isinstance(fmt, np.ndarray) and fmt.ndim == 0:
        fmt = fmt.item()
    if isinstance(fmt, bytes):
        return fmt.decode("utf-8", "replace")
    return fmt if isinstance(fmt, str) else None


def file_format(path: str | os.PathLike) -> str | None:
    """The declared format of an HDF5 file (opened as untrusted), or None for other files."""
    path = Path(path)
    if file_signature(path) != HDF5_SIGNATURE:
        return None
    with open_untrusted(path) as fh:
        return format_attribute(path, fh)


def read_format(path: Path, fh: h5py.File, expected: str, major: int, minor: int) -> tuple[int, int]:
    """Check the root ``format``/``format_version``; raise for another format or major version."""
    import warnings

    from ._errors import UnsupportedVersionError
    from ._version import __version__

    fmt = format_attribute(path, fh)
    if fmt != expected:
        what = f"a '{fmt}' file" if isinstance(fmt, str) else "an HDF5 file without a 'format' attribute"
        raise InvalidFileError(path, f"is {what}, expected a '{expected}' file")
    version = read_attr(path, fh, "format_version", str)
    try:
        found_major, found_minor = (int(part) for part in str(version).split("."))
    except ValueError:
        raise InvalidFileError(path, f"format_version {version!r} is not MAJOR.MINOR") from None
    if found_major != major:
        raise UnsupportedVersionError(
            path,
            f"is {expected} version {version}; ddcli {__version__} reads {expected} {major}.x "
            f"(up to {major}.{minor}); use a ddcli release that supports version {found_major}.x",
        )
    if found_minor > minor:
        warnings.warn(
            f"{path} is {expected} version {version}, newer than {major}.{minor}; fields added since are ignored",
            NewerMinorVersionWarning,
            stacklevel=2,
        )
    return found_major, found_minor


def set_attr(obj: h5py.HLObject, name: str, value: object) -> None:
    """Strings as fixed-length UTF-8 (variable-length ones cost a 4 KiB global heap each)."""
    if isinstance(value, str):
        data = value.encode("utf-8")
        obj.attrs.create(name, np.array(data, dtype=f"S{max(len(data), 1)}"), dtype=h5py.string_dtype("utf-8", max(len(data), 1)))
    else:
        obj.attrs[name] = value


def create_group(parent: h5py.Group, name: str) -> h5py.Group:
    """A group whose attributes stay compact in its header (dense storage costs KiBs)."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_attr_phase_change(64, 48)
    h5py.h5g.create(parent.id, name.encode("utf-8"), gcpl=gcpl)
    return parent[name]


def write_root(fh: h5py.File, fmt: str, version: str, command: str | None = None) -> None:
    import datetime
    import uuid

    from ._version import __version__

    set_attr(fh, "format", fmt)
    set_attr(fh, "format_version", version)
    set_attr(fh, "ddcli_version", __version__)
    set_attr(fh, "created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    set_attr(fh, "uuid", str(uuid.uuid4()))
    set_attr(fh, "command", command or "")
