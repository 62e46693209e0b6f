"""Bad input files: one clear error line, the documented exit code, no traceback, no output file.

A valid small .ddh5, a dataset and a model are made once per session; every case copies one of
them into the test's folder and breaks the copy with h5py (or writes a bad file from scratch).
"""

from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from ddcli._cli import cli
from ddcli._hdf5 import digest

from .conftest import assert_one_line_error, leftover_files

INVALID, UNSUPPORTED, USAGE = 3, 4, 2


# ---------------------------------------------------------------- valid files, made once
@pytest.fixture(scope="session")
def originals(tmp_path_factory):
    """good.ddh5 (d=16, r=2, L=32), data.h5 (a ddcli dataset, d=16) and model.h5 trained on good.ddh5."""
    folder = tmp_path_factory.mktemp("originals")
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        for args in (["distill", "--d", "16", "--r", "2", "--n", "4096", "--width", "32", "-o", "good.ddh5", "-q"],
                     ["generate", "--d", "16", "--r", "2", "--n", "2000", "-o", "data.h5", "-q"],
                     ["train", "--data", "good.ddh5", "-o", "model.h5", "-q"]):
            result = runner.invoke(cli, args)
            assert result.exit_code == 0, (args, result.output)
    finally:
        os.chdir(cwd)
    return folder


@pytest.fixture
def work(originals, tmp_path, ddcli):
    """The test's folder (also the CLI's working directory) holding copies of the valid files."""
    for name in ("good.ddh5", "data.h5", "model.h5"):
        shutil.copy(originals / name, tmp_path / name)
    return tmp_path


def _copy(work, name="bad.ddh5", source="good.ddh5"):
    shutil.copy(work / source, work / name)
    return work / name


def _payload(fh) -> list[np.ndarray]:
    """The arrays the digest covers, in DistilledSet.payload() order (halton-normal design)."""
    names = ["basis", "stage1/coefficients", "stage1/labels", "stage2/labels"]
    if "stage2/coefficients" in fh:
        names.append("stage2/coefficients")
    names += ["linear/offset", "linear/coefficients"]
    return [np.asarray(fh[name][()], dtype="<f4") for name in names]


def _set_digest(fh) -> None:
    value = digest(_payload(fh)).encode()
    fh.attrs.create("digest", np.array(value, dtype=f"S{len(value)}"))


# ---------------------------------------------------------------- ways to break a .ddh5
def truncated(work):
    path = _copy(work)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def empty(work):
    path = work / "bad.ddh5"
    path.write_bytes(b"")
    return path


def text(work):
    path = work / "bad.ddh5"
    path.write_text("basis,labels\n1,2\n")
    return path


def directory(work):
    path = work / "bad.ddh5"
    path.mkdir()
    return path


def missing(work):
    return work / "bad.ddh5"


def flipped_byte(work):
    path = _copy(work)
    with h5py.File(path, "r") as fh:
        ds = fh["stage2/labels"]
        assert ds.chunks is None and ds.dtype == np.dtype("<f4")
        offset = ds.id.get_offset() + 4 * 5  # element 5, little-endian: byte 0 is the lowest mantissa byte
        before = float(ds[5])
    with open(path, "r+b") as raw:
        raw.seek(offset)
        byte = raw.read(1)[0]
        raw.seek(offset)
        raw.write(bytes([byte ^ 0x01]))
    with h5py.File(path, "r") as fh:
        after = float(fh["stage2/labels"][5])
    assert after != before and np.isfinite(after)
    return path


def missing_dataset(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        del fh["stage1/labels"]
    return path


def wrong_shape(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        labels = fh["stage1/labels"][()]
        del fh["stage1/labels"]
        fh.create_dataset("stage1/labels", data=labels[:-1])
    return path


def nan_basis(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh["basis"][0, 3] = np.nan
    return path


def not_orthonormal(work):
    """Basis scaled by 1.1 with a recomputed digest: only the orthonormality check can fail."""
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh["basis"][...] = fh["basis"][()] * np.float32(1.1)
        _set_digest(fh)
    return path


def external_link(work):
    with h5py.File(work / "other.h5", "w") as fh:
        fh["x"] = np.zeros(3)
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh["ext"] = h5py.ExternalLink("other.h5", "/x")
    return path


def soft_link(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh["alias"] = h5py.SoftLink("/basis")
    return path


def virtual_dataset(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        layout = h5py.VirtualLayout(shape=(16,), dtype="<f4")
        layout[:] = h5py.VirtualSource(".", "stage1/labels", shape=(16,))
        fh.create_virtual_dataset("vds", layout)
    return path


def external_storage(work):
    (work / "raw.bin").write_bytes(np.zeros(4, dtype="<f4").tobytes())
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh.create_dataset("outside", shape=(4,), dtype="<f4", external=[("raw.bin", 0, 16)])
    return path


def string_dataset(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        del fh["stage1/labels"]
        fh.create_dataset("stage1/labels", data=np.array([b"label"] * 16))
    return path


def future_major_bytes(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh.attrs.create("format_version", np.bytes_(b"2.0"))
    return path


def future_major_str(work):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh.attrs["format_version"] = "2.0"
    return path


def foreign_hdf5(work):
    """Valid HDF5 without any 'format' attribute."""
    path = work / "bad.ddh5"
    with h5py.File(path, "w") as fh:
        fh["x"] = np.zeros((4, 16), dtype="<f4")
    return path


# (make, exit code, fragments `inspect` must show); every message also names the file.
CASES = {
    "truncated": (truncated, INVALID, ("truncated or corrupt",)),
    "empty": (empty, INVALID, ("is empty",)),
    "text": (text, INVALID, ("not an HDF5 file",)),
    "directory": (directory, INVALID, ("is a directory",)),
    "missing": (missing, INVALID, ("no such file",)),
    "flipped-byte": (flipped_byte, INVALID, ("digest mismatch", "corrupted")),
    "missing-dataset": (missing_dataset, INVALID, ("'/stage1/labels' is missing",)),
    "wrong-shape": (wrong_shape, INVALID, ("'/stage1/labels' has shape (15,), expected (16,)",)),
    "nan-basis": (nan_basis, INVALID, ("'/basis'", "non-finite", "(0, 3)")),
    "not-orthonormal": (not_orthonormal, INVALID, ("'/basis'", "not orthonormal")),
    "external-link": (external_link, INVALID, ("'/ext'", "external link")),
    "soft-link": (soft_link, INVALID, ("'/alias'", "soft link")),
    "virtual-dataset": (virtual_dataset, INVALID, ("'/vds'", "virtual dataset")),
    "external-storage": (external_storage, INVALID, ("'/outside'", "external storage")),
    "string-dtype": (string_dataset, INVALID, ("'/stage1/labels'", "|S5", "numeric dtype")),
    "major-2.0-bytes": (future_major_bytes, UNSUPPORTED, ("version 2.0", "reads ddh5 1.x")),
    "major-2.0-str": (future_major_str, UNSUPPORTED, ("version 2.0", "reads ddh5 1.x")),
    "no-format": (foreign_hdf5, INVALID, ("no 'format' attribute",)),
}

def _names():
    return sorted(CASES)


def _case(name, work):
    make, code, fragments = CASES[name]
    path = make(work)
    return path, code, fragments


@pytest.mark.parametrize("name", _names())
def test_inspect_rejects(name, work, ddcli):
    path, code, fragments = _case(name, work)
    before = leftover_files(work)
    run = ddcli("inspect", path.name)
    assert_one_line_error(run, code, "bad.ddh5", *fragments)
    assert leftover_files(work) == before


@pytest.mark.parametrize("name", _names())
def test_inspect_check_rejects(name, work, ddcli):
    path, code, fragments = _case(name, work)
    before = leftover_files(work)
    run = ddcli("inspect", path.name, "--check")
    assert_one_line_error(run, code, "bad.ddh5", *fragments)
    assert "valid" not in run.stdout
    assert leftover_files(work) == before


def test_inspect_json_check_rejects_without_partial_json(work, ddcli):
    nan_basis(work)
    run = ddcli("inspect", "bad.ddh5", "--check", "--json")
    assert_one_line_error(run, INVALID, "non-finite")


# train/evaluate may word some messages as "not a dataset/model" instead; they still name the file.
TRAIN_FRAGMENTS = {
    "text": ("neither HDF5 nor .npz",),
    "no-format": ("no dataset 'y'",),
}
EVALUATE_FRAGMENTS = {
    "text": ("not an HDF5 file",),
    "no-format": ("without a 'format' attribute", "expected a 'ddcli-model' file"),
}


@pytest.mark.parametrize("name", _names())
def test_train_rejects_and_writes_no_model(name, work, ddcli):
    path, code, fragments = _case(name, work)
    before = leftover_files(work)
    run = ddcli("train", "--data", path.name, "-o", "m.h5")
    assert_one_line_error(run, code, "bad.ddh5", *TRAIN_FRAGMENTS.get(name, fragments))
    assert leftover_files(work) == before
    assert not (work / "m.h5").exists()


@pytest.mark.parametrize("name", _names())
def test_evaluate_rejects(name, work, ddcli):
    path, code, fragments = _case(name, work)
    before = leftover_files(work)
    run = ddcli("evaluate", path.name, "--data", "data.h5")
    assert_one_line_error(run, code, "bad.ddh5", *EVALUATE_FRAGMENTS.get(name, fragments))
    assert leftover_files(work) == before


def test_evaluate_with_plot_leaves_no_plot(work, ddcli):
    flipped_byte(work)
    run = ddcli("evaluate", "bad.ddh5", "--data", "data.h5", "--plot", "p.png")
    assert_one_line_error(run, INVALID, "digest mismatch")
    assert not (work / "p.png").exists()


def test_train_on_corrupt_set_keeps_existing_output(work, ddcli):
    """With --force, a failed run must leave the previous model file as it was."""
    original = (work / "model.h5").read_bytes()
    nan_basis(work)
    run = ddcli("train", "--data", "bad.ddh5", "-o", "model.h5", "--force")
    assert_one_line_error(run, INVALID, "non-finite")
    assert (work / "model.h5").read_bytes() == original
    assert not [name for name in leftover_files(work) if name.endswith(".tmp")]


# ---------------------------------------------------------------- versions
@pytest.mark.parametrize("kind", ["bytes", "str"])
def test_newer_minor_version_reads_with_a_warning(kind, work, ddcli):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        if kind == "bytes":
            fh.attrs.create("format_version", np.bytes_(b"1.7"))
        else:
            fh.attrs["format_version"] = "1.7"
    run = ddcli("inspect", "bad.ddh5", "--check")
    assert run.code == 0, run
    assert run.stdout.strip() == "bad.ddh5: valid ddh5 1.7"
    warnings = [line for line in run.stderr.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 1, run
    assert "1.7" in warnings[0] and "1.0" in warnings[0]
    assert "Error" not in run.stderr and "Traceback" not in run.stderr


def test_newer_minor_version_trains_with_a_warning(work, ddcli):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh.attrs["format_version"] = "1.7"
    run = ddcli("train", "--data", "bad.ddh5", "-o", "m.h5", "-q")
    assert run.code == 0, run
    assert run.stdout.strip() == "m.h5"
    warnings = [line for line in run.stderr.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 1 and "ddh5 version 1.7" in warnings[0], run
    assert (work / "m.h5").is_file()


def test_future_major_version_message_names_readable_versions(work, ddcli):
    future_major_str(work)
    run = ddcli("inspect", "bad.ddh5")
    assert_one_line_error(run, UNSUPPORTED, "ddh5 version 2.0", "reads ddh5 1.x (up to 1.0)", "version 2.x")


def test_malformed_version_is_invalid(work, ddcli):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh.attrs["format_version"] = "one"
    run = ddcli("inspect", "bad.ddh5")
    assert_one_line_error(run, INVALID, "format_version", "'one'", "MAJOR.MINOR")


# ---------------------------------------------------------------- another format where one is expected
def test_evaluate_refuses_a_dataset_as_model(work, ddcli):
    run = ddcli("evaluate", "data.h5", "--data", "data.h5")
    assert_one_line_error(run, INVALID, "data.h5", "'ddcli-dataset' file", "expected a 'ddcli-model' file")


def test_evaluate_refuses_a_set_as_test_data(work, ddcli):
    run = ddcli("evaluate", "model.h5", "--data", "good.ddh5")
    assert_one_line_error(run, INVALID, "good.ddh5", "'ddh5' file, not a dataset")


def test_train_refuses_a_model_as_data(work, ddcli):
    run = ddcli("train", "--data", "model.h5", "-o", "m.h5")
    assert_one_line_error(run, INVALID, "model.h5", "'ddcli-model' file, not a dataset")
    assert not (work / "m.h5").exists()


def test_inspect_refuses_another_format(work, ddcli):
    with h5py.File(work / "other.h5", "w") as fh:
        fh.attrs["format"] = "netcdf"
    run = ddcli("inspect", "other.h5", "--check")
    assert_one_line_error(run, INVALID, "other.h5", "'netcdf'", "ddh5, ddcli-dataset and ddcli-model")


def test_model_with_flipped_byte_is_rejected_by_evaluate(work, ddcli):
    path = _copy(work, "badmodel.h5", "model.h5")
    with h5py.File(path, "r") as fh:
        offset = fh["head"].id.get_offset()
    with open(path, "r+b") as raw:
        raw.seek(offset)
        byte = raw.read(1)[0]
        raw.seek(offset)
        raw.write(bytes([byte ^ 0x01]))
    run = ddcli("evaluate", "badmodel.h5", "--data", "data.h5")
    assert_one_line_error(run, INVALID, "badmodel.h5", "digest mismatch")


# ---------------------------------------------------------------- data files for train --data
def test_nan_in_dataset_names_dataset_and_row(work, ddcli):
    shutil.copy(work / "data.h5", work / "nan.h5")
    with h5py.File(work / "nan.h5", "r+") as fh:
        fh["x"][123, 4] = np.nan
    run = ddcli("train", "--data", "nan.h5", "-o", "m.h5", "--width", 32)
    assert_one_line_error(run, INVALID, "nan.h5", "dataset 'x'", "non-finite", "row 123")
    assert not (work / "m.h5").exists()
    assert not [name for name in leftover_files(work) if name.endswith(".tmp")]


def test_inf_in_y_of_npz_names_row(work, ddcli):
    x = np.zeros((300, 16), dtype=np.float32)
    y = np.zeros(300, dtype=np.float32)
    y[250] = np.inf
    np.savez(work / "inf.npz", x=x, y=y)
    run = ddcli("train", "--data", "inf.npz", "-o", "m.h5", "--width", 32)
    assert_one_line_error(run, INVALID, "inf.npz", "'y'", "row 250")
    assert not (work / "m.h5").exists()


def test_npz_with_mismatched_lengths(work, ddcli):
    np.savez(work / "short.npz", x=np.zeros((100, 16), dtype=np.float32), y=np.zeros(99, dtype=np.float32))
    run = ddcli("train", "--data", "short.npz", "-o", "m.h5")
    assert_one_line_error(run, INVALID, "short.npz", "100 rows", "99")
    assert not (work / "m.h5").exists()


class _Trap:
    """Unpickling this object creates a folder: proof that a reader called pickle."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_npz_with_object_array_is_never_unpickled(work, ddcli):
    marker = str(work / "UNPICKLED")
    x = np.empty((4,), dtype=object)
    x[:] = [_Trap(marker)] * 4
    np.savez(work / "pickle.npz", x=x, y=np.zeros(4, dtype=np.float32))
    run = ddcli("train", "--data", "pickle.npz", "-o", "m.h5")
    assert_one_line_error(run, INVALID, "pickle.npz", "'x'", "dtype object", "never unpickles")
    assert not os.path.exists(marker)
    assert not (work / "m.h5").exists()


def test_hdf5_without_requested_key(work, ddcli):
    with h5py.File(work / "foreign.h5", "w") as fh:
        fh["inputs"] = np.zeros((50, 16), dtype=np.float32)
        fh["y"] = np.zeros(50, dtype=np.float32)
    run = ddcli("train", "--data", "foreign.h5", "--x-key", "features", "-o", "m.h5")
    assert_one_line_error(run, INVALID, "foreign.h5", "no dataset 'features'", "--x-key")
    assert not (work / "m.h5").exists()


def test_not_a_zip_but_named_npz(work, ddcli):
    (work / "fake.npz").write_bytes(b"PK\x03\x04 not really a zip archive")
    run = ddcli("train", "--data", "fake.npz", "-o", "m.h5")
    assert_one_line_error(run, INVALID, "fake.npz", "not a readable .npz")
    assert not (work / "m.h5").exists()


# ---------------------------------------------------------------- option errors for train
@pytest.mark.parametrize(("args", "option"), [
    (("--width", "31"), "--width"),
    (("--width", "1"), "--width"),
    (("--ridge", "-1"), "--ridge"),
    (("--stage1-fraction", "0"), "--stage1-fraction"),
    (("--stage1-fraction", "1.5"), "--stage1-fraction"),
    (("--ridge", "nan"), "--ridge"),
])
def test_train_option_errors(args, option, work, ddcli):
    before = leftover_files(work)
    run = ddcli("train", "--data", "data.h5", "-o", "m.h5", *args)
    assert_one_line_error(run, USAGE, option, args[1])
    assert leftover_files(work) == before


def test_train_width_on_a_set_must_match_the_stored_width(work, ddcli):
    run = ddcli("train", "--data", "good.ddh5", "-o", "m.h5", "--width", 64)
    assert_one_line_error(run, USAGE, "--width", "64", "32")
    assert not (work / "m.h5").exists()


# ---------------------------------------------------------------- test data for evaluate
def test_evaluate_rejects_nan_in_test_data(work, ddcli):
    shutil.copy(work / "data.h5", work / "nan.h5")
    with h5py.File(work / "nan.h5", "r+") as fh:
        fh["y"][1500] = np.nan
    run = ddcli("evaluate", "model.h5", "--data", "nan.h5")
    assert_one_line_error(run, INVALID, "nan.h5", "dataset 'y'", "row 1500")


@pytest.mark.parametrize("target", ["model.h5", "good.ddh5"])
def test_evaluate_rejects_test_data_of_another_dimension(target, work, ddcli):
    from ddcli import generate

    generate(d=32, r=2, n=200, output=work / "d32.h5")
    run = ddcli("evaluate", target, "--data", "d32.h5")
    assert_one_line_error(run, INVALID, "d = 32", "d = 16")


def test_hard_link_cycle_is_rejected(work, ddcli):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        fh["stage1/loop"] = fh["stage1"]
    for args in (("inspect", "bad.ddh5"), ("train", "--data", "bad.ddh5", "-o", "m.h5")):
        run = ddcli(*args)
        assert_one_line_error(run, INVALID, "bad.ddh5", "cycle")
    assert not (work / "m.h5").exists()


# ---------------------------------------------------------------- odd metadata and damaged headers
def _flip_root_object_header(path) -> None:
    """Flip one bit of the root group's object header (checksummed metadata, superblock v2/v3)."""
    data = bytearray(path.read_bytes())
    assert data[:8] == b"\x89HDF\r\n\x1a\n" and data[8] in (2, 3)
    root = int.from_bytes(data[36:44], "little")
    assert data[root : root + 4] == b"OHDR"
    data[root + 12] ^= 0x01
    path.write_bytes(bytes(data))


def test_corrupt_root_header_inspect(work, ddcli):
    _flip_root_object_header(_copy(work))
    run = ddcli("inspect", "bad.ddh5")
    assert_one_line_error(run, INVALID, "bad.ddh5", "corrupt")


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_corrupt_root_header_train_evaluate(command, work, ddcli):
    _flip_root_object_header(_copy(work))
    if command == "train":
        run = ddcli("train", "--data", "bad.ddh5", "-o", "m.h5")
    else:
        run = ddcli("evaluate", "bad.ddh5", "--data", "data.h5")
    assert_one_line_error(run, INVALID, "bad.ddh5", "corrupt")
    assert not (work / "m.h5").exists()


def _overcommit_always() -> bool:
    try:
        with open("/proc/sys/vm/overcommit_memory") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return False


@pytest.mark.skipif(_overcommit_always(), reason="with vm.overcommit_memory=1 the 4 TiB read could really run")
def test_absurd_declared_size_is_rejected_before_reading(work, ddcli):
    path = _copy(work)
    with h5py.File(path, "r+") as fh:
        del fh["stage1/labels"]
        fh.create_dataset("stage1/labels", shape=(2**40,), dtype="<f4", chunks=(1024,))  # nothing allocated
    run = ddcli("inspect", "bad.ddh5")
    assert_one_line_error(run, INVALID, "bad.ddh5", "'/stage1/labels'")


def _set_bytes_attr(path, group: str, name: str, value: bytes) -> None:
    with h5py.File(path, "r+") as fh:
        fh[group].attrs.create(name, np.bytes_(value))


def test_non_utf8_command_attribute(work, ddcli):
    _set_bytes_attr(_copy(work), "/", "command", b"ddcli \xff\xfe")
    run = ddcli("inspect", "bad.ddh5", "--check")
    # Either accepted (the reader replaces bad bytes) or rejected as invalid; never an internal error.
    assert run.code in (0, INVALID), run
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    if run.code:
        assert_one_line_error(run, INVALID, "bad.ddh5", "command")
    else:
        assert run.stdout.strip() == "bad.ddh5: valid ddh5 1.0"


@pytest.mark.parametrize("command", ["inspect", "train"])
def test_non_utf8_provenance_attribute(command, work, ddcli):
    _set_bytes_attr(_copy(work), "provenance", "note", b"\xff\xfe")
    if command == "inspect":
        run = ddcli("inspect", "bad.ddh5", "--check")
    else:
        run = ddcli("train", "--data", "bad.ddh5", "-o", "m.h5")
    assert run.code in (0, INVALID), run
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    if run.code:
        assert_one_line_error(run, INVALID, "bad.ddh5", "note")
        assert not (work / "m.h5").exists()
    elif command == "inspect":
        assert run.stdout.strip() == "bad.ddh5: valid ddh5 1.0"
    else:
        assert (work / "m.h5").is_file()


def test_non_utf8_format_attribute_inspect(work, ddcli):
    _set_bytes_attr(_copy(work), "/", "format", b"\xff\xfe")
    run = ddcli("inspect", "bad.ddh5")
    assert_one_line_error(run, INVALID, "bad.ddh5", "ddh5, ddcli-dataset and ddcli-model")


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_non_utf8_format_attribute_train_evaluate(command, work, ddcli):
    _set_bytes_attr(_copy(work), "/", "format", b"\xff\xfe")
    if command == "train":
        run = ddcli("train", "--data", "bad.ddh5", "-o", "m.h5")
    else:
        run = ddcli("evaluate", "bad.ddh5", "--data", "data.h5")
    assert_one_line_error(run, INVALID, "bad.ddh5")
    assert not (work / "m.h5").exists()


def test_provenance_string_array_inspect_json(work, ddcli):
    import json

    with h5py.File(_copy(work), "r+") as fh:
        fh["provenance"].attrs.create("tags", np.array([b"a", b"b"]))
    run = ddcli("inspect", "bad.ddh5", "--json")
    assert run.code in (0, INVALID), run
    assert "internal error" not in run.stderr
    if run.code == 0:
        document = json.loads(run.stdout)
        assert document["schema_version"] == 1 and "tags" in document["provenance"]
    else:
        assert_one_line_error(run, INVALID, "bad.ddh5", "tags")


def test_negative_provenance_inits(work, ddcli):
    with h5py.File(_copy(work), "r+") as fh:
        fh["provenance"].attrs["inits"] = -100
    run = ddcli("evaluate", "bad.ddh5", "--data", "data.h5")
    assert_one_line_error(run, INVALID, "bad.ddh5", "inits")


@pytest.mark.parametrize("name", ["run[v2].ddh5", "set[/]x.ddh5"])
def test_error_names_file_with_brackets_verbatim(name, work, ddcli):
    if "/" not in name:
        (work / name).write_text("not hdf5\n")
    run = ddcli("inspect", name)
    assert_one_line_error(run, INVALID, name)
