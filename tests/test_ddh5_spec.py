"""formats/ddh5.md is enough: a third party rebuilds a distilled set with numpy, h5py and the stdlib.

The functions above the line of dashes follow the words of the spec and import nothing from the
package under test; the tests below compare them with the package's own reader and recipe.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import statistics

import h5py
import numpy as np
import pytest

# ------------------------------------------------------------ the spec, in numpy, h5py and the stdlib
SPEC_MASK = (1 << 64) - 1
SPEC_GAMMA = 0x9E3779B97F4A7C15


def spec_text(value) -> str:
    """A string attribute: fixed-length, variable-length or bytes, decoded as UTF-8."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string attribute, got {value!r}")


def spec_primes(count: int) -> list[int]:
    """The first ``count`` primes: 2, 3, 5, 7, ..."""
    found: list[int] = []
    candidate = 2
    while len(found) < count:
        if all(candidate % p for p in found):
            found.append(candidate)
        candidate += 1
    return found


def spec_radical_inverse(i: int, base: int) -> float:
    """h(i, p) = sum_j a_j p^(-j-1) for i = sum_j a_j p^j, as an exact fraction rounded once."""
    numerator, denominator = 0, 1
    while i > 0:
        i, digit = divmod(i, base)
        numerator = numerator * base + digit
        denominator *= base
    return numerator / denominator


def spec_halton_normal(count: int, r: int) -> np.ndarray:
    """The 'halton-normal' stage-2 coefficients: Phi^-1(h(i, p_k)), i = 1..count, in float64 then float32."""
    inv_cdf = statistics.NormalDist().inv_cdf
    out = np.empty((count, r), dtype=np.float64)
    for k, p in enumerate(spec_primes(r)):
        for i in range(1, count + 1):
            out[i - 1, k] = inv_cdf(spec_radical_inverse(i, p))
    return out.astype(np.float32)


def spec_digest(arrays: list[np.ndarray]) -> str:
    """SHA-256 of the arrays' bytes, each little-endian float32 in C order, concatenated."""
    h = hashlib.sha256()
    for array in arrays:
        h.update(np.ascontiguousarray(array, dtype="<f4").tobytes())
    return h.hexdigest()


def spec_mix(z: int) -> int:
    z &= SPEC_MASK
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & SPEC_MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & SPEC_MASK
    return z ^ (z >> 31)


def spec_words(seed: int, stream: int, count: int) -> list[int]:
    key = spec_mix(spec_mix(seed + SPEC_GAMMA) ^ stream)
    return [spec_mix(key + (i + 1) * SPEC_GAMMA) for i in range(count)]


def spec_normals(seed: int, stream: int, shape: tuple[int, ...]) -> np.ndarray:
    count = math.prod(shape)
    uniforms = [((w >> 11) + 0.5) / 2**53 for w in spec_words(seed, stream, 2 * ((count + 1) // 2))]
    normals: list[float] = []
    for j in range(len(uniforms) // 2):
        u0, u1 = uniforms[2 * j], uniforms[2 * j + 1]
        radius = math.sqrt(-2.0 * math.log(u0))
        normals += [radius * math.cos(2 * math.pi * u1), radius * math.sin(2 * math.pi * u1)]
    return np.array(normals[:count], dtype=np.float64).reshape(shape)


def spec_signs(seed: int, stream: int, count: int) -> np.ndarray:
    return np.array([-1.0 if w >> 63 else 1.0 for w in spec_words(seed, stream, count)])


def rebuild_from_spec(path) -> dict:
    """Rebuild a .ddh5 v1.x following formats/ddh5.md; raise ValueError where the spec says reject.

    Returns the stage-1/stage-2 inputs and labels, alpha, beta = B^T (linear coefficients), the
    stage-2 coefficients and the memory figures of the spec's "Memory accounting".
    """
    with h5py.File(path, "r") as fh:
        if spec_text(fh.attrs["format"]) != "ddh5":
            raise ValueError("not a ddh5 file")
        major, minor = (int(part) for part in spec_text(fh.attrs["format_version"]).split("."))
        if major != 1:
            raise ValueError(f"unsupported major version {major}")
        basis = np.asarray(fh["basis"][()])
        stage1_coefficients = np.asarray(fh["stage1/coefficients"][()])
        stage1_labels = np.asarray(fh["stage1/labels"][()])
        stage2_labels = np.asarray(fh["stage2/labels"][()])
        design = spec_text(fh["stage2"].attrs["design"])
        stored = design == "stored"
        if stored:
            stage2_coefficients = np.asarray(fh["stage2/coefficients"][()])
        elif design == "halton-normal":
            if "coefficients" in fh["stage2"]:
                raise ValueError("halton-normal design with stored coefficients")
            stage2_coefficients = None
        else:
            raise ValueError(f"unknown design {design!r}")
        offset = np.asarray(fh["linear/offset"][()])
        linear = np.asarray(fh["linear/coefficients"][()])
        width = int(fh["recipe"].attrs["width"])
        n = int(fh["provenance"].attrs["n"]) if "provenance" in fh and "n" in fh["provenance"].attrs else None
        stated_digest = spec_text(fh.attrs["digest"])

    r, d = basis.shape
    m, count = stage1_labels.shape[0], stage2_labels.shape[0]
    if not 1 <= r < d or stage1_coefficients.shape != (m, r) or offset.shape != () or linear.shape != (r,):
        raise ValueError("shapes contradict each other")
    if stored and stage2_coefficients.shape != (count, r):
        raise ValueError("stage-2 coefficients contradict the stage-2 labels")
    payload = [basis, stage1_coefficients, stage1_labels, stage2_labels]
    payload += [stage2_coefficients] if stored else []
    payload += [offset, linear]
    for array in payload:
        if array.dtype != np.dtype("<f4") or not np.isfinite(array).all():
            raise ValueError("payload arrays are little-endian float32 and finite")
    if spec_digest(payload) != stated_digest:
        raise ValueError("digest mismatch")
    b64 = basis.astype(np.float64)
    if np.abs(b64 @ b64.T - np.eye(r)).max() > 1e-4:
        raise ValueError("basis rows are not orthonormal")
    if not stored:
        stage2_coefficients = spec_halton_normal(count, r)

    payload_floats = r * d + m * (r + 1) + count + r + 1 + (count * r if stored else 0)
    if payload_floats != sum(a.size for a in payload):
        raise ValueError("the memory formula disagrees with the digested arrays")
    source_floats = n * (d + 1) if n else None
    return {
        "stage1_inputs": stage1_coefficients.astype(np.float64) @ b64,
        "stage1_labels": stage1_labels,
        "stage2_inputs": stage2_coefficients.astype(np.float64) @ b64,
        "stage2_labels": stage2_labels,
        "stage2_coefficients": stage2_coefficients,
        "alpha": float(offset),
        "beta": b64.T @ linear.astype(np.float64),
        "design": design,
        "digest": stated_digest,
        "payload_floats": payload_floats,
        "payload_bytes": 4 * payload_floats,
        "bound_floats": r * r * d + width,
        "source_floats": source_floats,
        "compression": source_floats / payload_floats if source_floats else None,
    }


SPEC_FUNCTIONS = (spec_text, spec_primes, spec_radical_inverse, spec_halton_normal, spec_digest, spec_mix,
                  spec_words, spec_normals, spec_signs, rebuild_from_spec)


def assert_matches_reader(path) -> dict:
    """The spec rebuild of ``path`` equals the package reader's reconstruction, to float32 rounding."""
    from ddcli._ddh5 import read_ddh5

    spec = rebuild_from_spec(path)
    ds = read_ddh5(path)
    assert spec["design"] == ds.design
    np.testing.assert_allclose(spec["stage2_coefficients"], ds.stage2_design(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(spec["stage1_inputs"], ds.stage1_inputs(), rtol=1e-6, atol=5e-7)
    np.testing.assert_allclose(spec["stage2_inputs"], ds.stage2_inputs(), rtol=1e-6, atol=5e-7)
    np.testing.assert_array_equal(spec["stage1_labels"], ds.stage1_labels)
    np.testing.assert_array_equal(spec["stage2_labels"], ds.stage2_labels)
    assert spec["alpha"] == ds.alpha
    np.testing.assert_allclose(spec["beta"], ds.beta, rtol=1e-12, atol=1e-15)
    memory = ds.memory()
    for key in ("payload_floats", "payload_bytes", "bound_floats", "source_floats"):
        assert spec[key] == memory[key], key
    assert spec["compression"] == pytest.approx(memory["compression"], rel=1e-12)
    assert spec["stage1_inputs"].shape == (ds.m, ds.d)
    assert spec["stage2_inputs"].shape == (ds.stage2_count, ds.d)
    return spec


# ------------------------------------------------------------ fixtures
def _distilled(store_stage2: bool):
    from ddcli._distill import distill
    from ddcli._recipe import Recipe
    from ddcli._sources import teacher_source

    return distill(teacher_source(d=16, r=2, n=4096), r=2, recipe=Recipe(width=32), store_stage2=store_stage2).distilled


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One small set per stage-2 design, written by write_ddh5."""
    from ddcli._ddh5 import write_ddh5

    folder = tmp_path_factory.mktemp("ddh5-spec")
    paths = {}
    for case, store in (("halton-normal", False), ("stored", True)):
        paths[case] = write_ddh5(_distilled(store), folder / f"{case}.ddh5")
    # distill stores the Halton points themselves; other stored points show that a reader uses them.
    other = _distilled(True)
    other.stage2_coefficients = np.random.default_rng(1).standard_normal(other.stage2_coefficients.shape).astype(np.float32)
    paths["stored-other"] = write_ddh5(other, folder / "stored-other.ddh5")
    return paths


DESIGNS = ("halton-normal", "stored", "stored-other")


# ------------------------------------------------------------ tests
def test_rebuild_uses_only_numpy_h5py_and_the_standard_library():
    for function in SPEC_FUNCTIONS:
        assert "ddcli" not in inspect.getsource(function), function.__name__
    # The module-level imports the rebuild relies on are standard library, numpy and h5py.
    module_head = inspect.getsource(inspect.getmodule(rebuild_from_spec)).split("# -----", 1)[0]
    assert "ddcli" not in module_head


@pytest.mark.parametrize("design", DESIGNS)
def test_spec_rebuild_matches_reader(written, design):
    spec = assert_matches_reader(written[design])
    assert spec["design"] == design.replace("-other", "")
    halton = spec_halton_normal(32, 2)
    if design == "stored-other":
        assert np.abs(spec["stage2_coefficients"] - halton).max() > 0.5
    else:
        np.testing.assert_array_equal(spec["stage2_coefficients"], halton)
    assert spec["stage1_inputs"].shape == (16, 16)  # m = 4 r^2 = 16 points in d = 16
    assert spec["stage2_inputs"].shape == (32, 16)  # L2 = width = 32
    # Inputs lie in the span of the basis.
    with h5py.File(written[design], "r") as fh:
        basis = fh["basis"][()].astype(np.float64)
    for x in (spec["stage1_inputs"], spec["stage2_inputs"]):
        np.testing.assert_allclose(x @ basis.T @ basis, x, atol=1e-5)


@pytest.mark.parametrize("design, payload_floats", [("halton-normal", 115), ("stored", 179), ("stored-other", 179)])
def test_payload_floats_formula(written, design, payload_floats):
    from ddcli._ddh5 import read_ddh5

    # r d + m (r + 1) + L2 + r + 1 = 32 + 48 + 32 + 3 (+ L2 r = 64 when stored)
    spec = rebuild_from_spec(written[design])
    memory = read_ddh5(written[design]).memory()
    assert spec["payload_floats"] == memory["payload_floats"] == payload_floats
    assert memory["payload_bytes"] == 4 * payload_floats
    assert memory["bound_floats"] == 2**2 * 16 + 32
    assert memory["source_floats"] == 4096 * 17
    assert memory["compression"] == pytest.approx(4096 * 17 / payload_floats)


def test_halton_normal_design_values(written):
    spec = rebuild_from_spec(written["halton-normal"])
    inv = statistics.NormalDist().inv_cdf
    # h(1,2) = 1/2, h(2,2) = 1/4, h(3,2) = 3/4; h(1,3) = 1/3, h(2,3) = 2/3, h(3,3) = 1/9
    expected = np.array([[0.0, inv(1 / 3)], [inv(1 / 4), inv(2 / 3)], [inv(3 / 4), inv(1 / 9)]])
    np.testing.assert_allclose(spec["stage2_coefficients"][:3], expected, atol=1e-7)
    assert expected[1, 0] == pytest.approx(-0.6744897501960817)
    assert spec_radical_inverse(11, 3) == pytest.approx(2 / 3 + 0 / 9 + 1 / 27)  # 11 = 102 in base 3
    assert spec_primes(5) == [2, 3, 5, 7, 11]


def test_digest_covers_the_payload(written, tmp_path):
    import shutil

    from ddcli._ddh5 import read_ddh5
    from ddcli._errors import InvalidFileError

    for design in DESIGNS:
        path = tmp_path / f"{design}.ddh5"
        shutil.copy(written[design], path)
        with h5py.File(path, "r") as fh:
            stated = spec_text(fh.attrs["digest"])
        assert rebuild_from_spec(path)["digest"] == stated
        read_ddh5(path)
        with h5py.File(path, "a") as fh:
            fh["stage2/labels"][0] += 1.0
        with pytest.raises(ValueError, match="digest mismatch"):
            rebuild_from_spec(path)
        with pytest.raises(InvalidFileError, match="digest mismatch"):
            read_ddh5(path)


def test_stated_digest_is_spec_digest_of_the_arrays(written):
    for design in DESIGNS:
        with h5py.File(written[design], "r") as fh:
            arrays = [fh[name][()] for name in ("basis", "stage1/coefficients", "stage1/labels", "stage2/labels")]
            if design.startswith("stored"):
                arrays.append(fh["stage2/coefficients"][()])
            arrays += [fh["linear/offset"][()], fh["linear/coefficients"][()]]
            stated = spec_text(fh.attrs["digest"])
        assert len(stated) == 64 and stated == stated.lower()
        assert spec_digest(arrays) == stated
        # The order matters: swapping two arrays changes the digest.
        assert spec_digest([arrays[1], arrays[0]] + arrays[2:]) != stated


def _all_attributes(path) -> dict:
    out = {}
    with h5py.File(path, "r") as fh:
        def visit(name, obj):
            out[name] = {key: (obj.attrs.get_id(key).dtype, obj.attrs[key]) for key in obj.attrs}
        visit("/", fh)
        fh.visititems(visit)
    return out


def _all_datasets(path) -> dict:
    out = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.mark.parametrize("design", DESIGNS)
def test_round_trip_reproduces_every_array_and_attribute(written, design, tmp_path):
    from ddcli._ddh5 import read_ddh5, write_ddh5

    first = written[design]
    again = write_ddh5(read_ddh5(first), tmp_path / "again.ddh5")
    a, b = _all_datasets(first), _all_datasets(again)
    assert sorted(a) == sorted(b)
    assert "basis" in a and ("stage2/coefficients" in a) == design.startswith("stored")
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    attrs_a, attrs_b = _all_attributes(first), _all_attributes(again)
    assert sorted(attrs_a) == sorted(attrs_b)
    assert {"format", "format_version", "digest", "ddcli_version", "created", "uuid", "command"} <= set(attrs_a["/"])
    for name in attrs_a:
        assert sorted(attrs_a[name]) == sorted(attrs_b[name]), name
        for key, (dtype, value) in attrs_a[name].items():
            dtype_b, value_b = attrs_b[name][key]
            assert dtype == dtype_b, (name, key)
            assert np.array_equal(value, value_b), (name, key, value, value_b)


def test_written_strings_are_fixed_length_utf8(written):
    with h5py.File(written["stored"], "r") as fh:
        for obj, key in ((fh, "format"), (fh, "digest"), (fh["stage2"], "design"), (fh["recipe"], "init")):
            info = h5py.check_string_dtype(obj.attrs.get_id(key).dtype)
            assert info is not None and info.encoding == "utf-8" and info.length == len(obj.attrs[key]), key
        assert spec_text(fh.attrs["format"]) == "ddh5" and spec_text(fh.attrs["format_version"]) == "1.0"
        assert spec_text(fh["stage2"].attrs["design"]) == "stored"
        for name in ("basis", "stage1/coefficients", "stage1/labels", "stage2/labels", "stage2/coefficients",
                     "linear/offset", "linear/coefficients"):
            assert fh[name].dtype == np.dtype("<f4"), name


def test_spec_generator_matches_package_streams():
    from ddcli import _prng
    from ddcli._recipe import initial_half, stage2_biases

    assert (_prng.STREAM_TEACHER_BASIS, _prng.STREAM_INIT_DIRECTIONS, _prng.STREAM_INIT_SIGNS, _prng.STREAM_BIASES,
            _prng.STREAM_STAGE1_COEFFICIENTS, _prng.STREAM_SUBSET) == (1, 2, 3, 4, 5, 6)
    for seed in (0, 7, 2**63 - 1):
        np.testing.assert_allclose(spec_normals(seed, 2, (5, 3)), _prng.normal(seed, 2, (5, 3)), rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(spec_signs(seed, 3, 40), _prng.signs(seed, 3, 40))
    # An odd count takes the cosine of the last pair.
    np.testing.assert_allclose(spec_normals(3, 4, (7,)), _prng.normal(3, 4, 7), rtol=1e-13, atol=1e-13)
    # The recipe: first half from streams 2 (directions) and 3 (signs / width), biases from stream 4.
    width, d, seed = 32, 16, 5
    gaussian = spec_normals(seed, 2, (width // 2, d))
    weights, head = initial_half(width, d, seed, "sphere")
    np.testing.assert_allclose(weights, gaussian / np.linalg.norm(gaussian, axis=1, keepdims=True), atol=1e-13)
    np.testing.assert_array_equal(head, spec_signs(seed, 3, width // 2) / width)
    weights, _ = initial_half(width, d, seed, "gaussian")
    np.testing.assert_allclose(weights, gaussian / math.sqrt(d), atol=1e-13)
    np.testing.assert_allclose(stage2_biases(width, seed), spec_normals(seed, 4, (width,)), atol=1e-13)


def spec_train(path, seed: int | None = None) -> dict:
    """The spec's "The recipe" section (ridge head, sphere init) on a rebuilt set, in float64."""
    spec = rebuild_from_spec(path)
    with h5py.File(path, "r") as fh:
        width = int(fh["recipe"].attrs["width"])
        seed = int(fh["recipe"].attrs["seed"]) if seed is None else seed
        ridge = float(fh["recipe"].attrs["ridge"])
    x1, y1 = spec["stage1_inputs"], spec["stage1_labels"].astype(np.float64)
    x2, y2 = spec["stage2_inputs"], spec["stage2_labels"].astype(np.float64)
    half, d = width // 2, x1.shape[1]
    gaussian = spec_normals(seed, 2, (half, d))
    w0 = gaussian / np.linalg.norm(gaussian, axis=1, keepdims=True)
    a0 = spec_signs(seed, 3, half) / width
    moments = ((x1 @ w0.T > 0) * y1[:, None]).T @ x1 / x1.shape[0]
    step = a0[:, None] * moments
    w1 = step / np.linalg.norm(step, axis=1, keepdims=True)
    weights = np.concatenate([w1, -w1])
    biases = spec_normals(seed, 4, (width,))
    features = np.maximum(x2 @ weights.T + biases, 0)
    count = x2.shape[0]
    head = np.linalg.solve(features.T @ features / count + ridge * np.eye(width), features.T @ y2 / count)
    return {"weights": weights, "biases": biases, "head": head, "alpha": spec["alpha"], "beta": spec["beta"]}


# Only sets whose stage-2 labels are the model's own predictions: on arbitrary points the ridge
# system at lambda = 1e-4 is ill-conditioned and float32 features move the head visibly.
@pytest.mark.parametrize("design", ("halton-normal", "stored"))
def test_spec_recipe_matches_train_distilled(written, design):
    from ddcli._ddh5 import read_ddh5
    from ddcli._distill import train_distilled

    for seed in (0, 3):
        ds = read_ddh5(written[design])
        net = train_distilled(ds, ds.recipe.with_seed(seed))
        mine = spec_train(written[design], seed)
        np.testing.assert_allclose(net.weights, mine["weights"], atol=2e-6)
        np.testing.assert_allclose(net.biases, mine["biases"], atol=1e-12)
        assert net.alpha == mine["alpha"]
        np.testing.assert_allclose(net.beta, mine["beta"], atol=1e-12)
        x = np.random.default_rng(0).standard_normal((256, ds.d))
        ours = mine["alpha"] + x @ mine["beta"] + np.maximum(x @ mine["weights"].T + mine["biases"], 0) @ mine["head"]
        theirs = net.predict(x)
        assert np.abs(ours - theirs).max() <= 1e-3 * max(1.0, np.abs(theirs).max())


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    from ddcli._ddh5 import write_ddh5
    from ddcli._distill import distill
    from ddcli._recipe import Recipe
    from ddcli._sources import teacher_source

    result = distill(teacher_source(d=512, r=3, n=8192), r=3, recipe=Recipe(width=1024))
    return write_ddh5(result.distilled, tmp_path_factory.mktemp("ddh5-size") / "d512-r3.ddh5")


def test_file_size_is_payload_plus_small_overhead(large):
    from ddcli._ddh5 import read_ddh5

    ds = read_ddh5(large)
    assert (ds.r, ds.d, ds.m, ds.stage2_count, ds.design) == (3, 512, 36, 1024, "halton-normal")
    payload = 3 * 512 + 36 * 4 + 1024 + 3 + 1
    assert payload == 2708
    assert ds.memory()["payload_floats"] == rebuild_from_spec(large)["payload_floats"] == payload
    assert ds.memory()["bound_floats"] == 9 * 512 + 1024
    assert os.path.getsize(large) <= 4 * payload + 8192
