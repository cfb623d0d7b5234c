"""Pure semantics of mxtorch's tensor op families (no MXNet needed): the Reshape and _npx_reshape code tables
on the docs/SYMBOL.md examples, MXNet's mod/round/rint/clip rules, attribute parsing and load-time
validation, and tracing under torch.export with a dynamic batch dimension. The numerical parity with real
MXNet is in tests/test_mxtorch_fixtures.py (fixtures/mxtorch/tensor/, tools/make_mxtorch_tensor_fixtures.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mxtorch import UnsupportedOpError  # noqa: E402
from mxtorch.ops import arith, misc, npx, reduce, shape  # noqa: E402
from mxtorch.ops._registry import lookup  # noqa: E402

TENSOR_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mxtorch" / "tensor"


def node(op: str, **attrs: object) -> SimpleNamespace:
    """A stand-in for an ndparse Symbol node (what converters read)."""
    return SimpleNamespace(op=op, name="n0", attrs=attrs, inputs=((0, 0),))


def lower(op: str, **attrs: object):
    conv = lookup(op)
    assert conv is not None, op
    return conv(node(op, **attrs))


def run(op: str, *xs, **attrs):
    low = lower(op, **attrs)
    return low.fn(*xs, **dict(low.kwargs))


# ---- Reshape codes (SYMBOL.md §4.5, on (2, 3, 4)) -----------------------------------------------------------------
RESHAPE_TABLE = [
    ((4, 0, 2), False, (4, 3, 2)), ((-1, 0), False, (8, 3)), ((-1, 0), True, (6, 4)), ((0, -1), False, (2, 12)),
    ((-2, 1, 1), False, (2, 3, 4, 1, 1)), ((-3, -2), False, (6, 4)), ((-4, 1, 2, -2), False, (1, 2, 3, 4)),
    ((2, -4, -1, 3, 4), False, (2, 1, 3, 4)), ((0, -4, 3, -1, -2), False, (2, 3, 1, 4)),
]


@pytest.mark.parametrize(("spec", "rev", "want"), RESHAPE_TABLE)
def test_reshape_code_table(spec, rev, want) -> None:
    x = torch.arange(24.0).reshape(2, 3, 4)
    y = run("Reshape", x, shape=spec, reverse=rev)
    assert tuple(y.shape) == want
    assert torch.equal(y.reshape(-1), x.reshape(-1))  # row-major order kept


def test_reshape_string_attributes_as_mxnet_writes_them() -> None:
    x = torch.zeros(2, 3, 4)
    assert tuple(run("Reshape", x, shape="(-1, 0)", reverse="True").shape) == (6, 4)
    assert tuple(run("reshape", x, shape="[0,-1]", reverse="0").shape) == (2, 12)


def test_reshape_legacy_target_shape() -> None:
    x = torch.zeros(2, 3, 4)
    assert tuple(run("Reshape", x, target_shape=(2, 0)).shape) == (2, 12)
    assert tuple(run("Reshape", x, target_shape=(5, 0), keep_highest=True).shape) == (2, 12)
    assert tuple(run("Reshape", x, target_shape=(4, 6)).shape) == (4, 6)


def test_reshape_shape_rejects_misfits() -> None:
    with pytest.raises(ValueError, match="more dims"):
        shape.reshape_shape((2, 3), (0, 0, 0))
    with pytest.raises(UnsupportedOpError, match="Reshape"):
        lower("Reshape", shape=(-1, -1))
    with pytest.raises(UnsupportedOpError):
        lower("Reshape", shape=(-5, 2))


# ---- _npx_reshape codes (SYMBOL.md §4.8) -----------------------------------------------------------------------
NPX_TABLE = [
    ((-2, -1), (2, 3, 4, 5), False, (2, 60)), ((-5, -4), (2, 3, 4, 5), False, (6, 4, 5)),
    ((-2, -3, -4), (2, 1, 4, 5), False, (2, 4, 5)), ((-6, 1, 2, -4), (2, 3, 4, 5), False, (1, 2, 3, 4, 5)),
    ((-2, -6, -1, 3, -2, -2), (2, 6, 4, 5), False, (2, 2, 3, 4, 5)), ((-5, -5), (2, 3, 4, 5), False, (6, 20)),
    ((-1, -2), (2, 3, 4), True, (6, 4)), ((4, -1), (2, 3, 4, 5), False, (4, 30)),
]


@pytest.mark.parametrize(("spec", "dshape", "rev", "want"), NPX_TABLE)
def test_npx_reshape_code_table(spec, dshape, rev, want) -> None:
    y = run("_npx_reshape", torch.zeros(dshape), newshape=spec, reverse=rev)
    assert tuple(y.shape) == want


def test_npx_reshape_minus3_needs_a_one() -> None:
    with pytest.raises(ValueError, match="-3"):
        npx.npx_reshape_shape((2, 3), (-3, -2))
    with pytest.raises(UnsupportedOpError, match="order"):
        lower("_npx_reshape", newshape=(-1,), order="F")


# ---- arithmetic rules ---------------------------------------------------------------------------------------------
def test_mod_is_python_sign_rule_and_zero_divisor_gives_zero() -> None:
    vals = [-7.0, -3.5, -1.0, 0.0, 1.0, 3.5, 7.0, 2.25]
    divs = [3.0, -3.0, 2.5, -2.5, 0.5, 0.0]
    a = torch.tensor([v for v in vals for _ in divs])
    b = torch.tensor([d for _ in vals for d in divs])
    got = arith.mx_mod(a, b).tolist()
    want = [0.0 if d == 0 else math.fmod(v, d) + (d if math.fmod(v, d) and (math.fmod(v, d) < 0) != (d < 0) else 0)
            for v, d in zip(a.tolist(), b.tolist())]
    assert got == want
    assert got == [0.0 if d == 0 else v % d for v, d in zip(a.tolist(), b.tolist())]


def test_scalar_ops_reverse_and_mod() -> None:
    x = torch.tensor([-7.0, -1.0, 0.0, 2.5])
    assert run("_rmod_scalar", x, scalar=5.0).tolist() == [-2.0, 0.0, 0.0, 0.0]
    assert run("_mod_scalar", x, scalar=0.0).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert run("_rminus_scalar", x, scalar="2").tolist() == [9.0, 3.0, 2.0, -0.5]
    assert run("_greater_scalar", x, scalar=0.0).tolist() == [0.0, 0.0, 0.0, 1.0]
    assert run("_npi_greater_scalar", x, scalar=0.0).dtype == torch.bool
    assert run("_plus_scalar", torch.tensor([1, 2], dtype=torch.int32), scalar=2.5).tolist() == [3, 4]
    assert run("_npi_add_scalar", torch.tensor([1, 2], dtype=torch.int32), scalar=2.5, is_int=False).tolist() == [3.5, 4.5]


def test_round_halves_away_from_zero_and_rint_halves_down() -> None:
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -2.6])
    assert run("round", x).tolist() == [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 0.0, -3.0]
    assert run("rint", x).tolist() == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 0.0, -3.0]


def test_clip_tests_a_max_first_and_passes_nan() -> None:
    x = torch.tensor([float("nan"), -1.0, 0.0, 0.3, 1.0])
    y = run("clip", x, a_min=0.5, a_max=-0.25)
    assert math.isnan(y[0]) and y[1:].tolist() == [0.5, -0.25, -0.25, -0.25]
    y = run("clip", x, a_min="-0.5", a_max="0.75")
    assert math.isnan(y[0]) and y[1:].tolist() == [-0.5, 0.0, pytest.approx(0.3), 0.75]


def test_comparisons_keep_the_input_dtype_in_legacy_ops() -> None:
    a, b = torch.tensor([[1.0], [2.0]]), torch.tensor([2.0, 1.0])
    y = run("broadcast_greater", a, b)
    assert y.dtype == torch.float32 and y.tolist() == [[0.0, 0.0], [0.0, 1.0]]
    assert run("_npi_less", a, b).dtype == torch.bool


# ---- reductions -----------------------------------------------------------------------------------------------------
def test_full_reduction_shapes() -> None:
    x = torch.ones(2, 3, 4)
    assert tuple(run("sum", x).shape) == (1,)
    assert tuple(run("sum", x, keepdims=True).shape) == (1, 1, 1)
    assert tuple(run("_npi_sum", x, axis=None, keepdims=False).shape) == ()
    assert tuple(run("sum", x, axis=(1,), exclude=True).shape) == (3,)
    assert run("sum", x, axis=(1,), exclude=True).tolist() == [8.0] * 3
    assert tuple(run("mean", x, axis="(0, -1)", keepdims="True").shape) == (1, 3, 1)
    assert tuple(run("squeeze", torch.ones(1, 1)).shape) == (1,)
    assert tuple(run("_npi_squeeze", torch.ones(1, 1)).shape) == ()


def test_argmax_returns_float_indices_first_tie_wins() -> None:
    x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    assert run("argmax", x, axis=1).tolist() == [1.0, 0.0]
    assert run("argmax", x).tolist() == [1.0]


# ---- indexing ---------------------------------------------------------------------------------------------------------
def test_embedding_truncates_then_clips() -> None:
    w = torch.arange(8.0).reshape(4, 2)
    idx = torch.tensor([-1.5, 2.7, 9.0, 0.9])
    assert run("Embedding", idx, w, input_dim=4, output_dim=2)[:, 0].tolist() == [0.0, 4.0, 6.0, 0.0]


def test_slice_negative_steps_match_python() -> None:
    x = torch.arange(7.0)
    for b, e, s in [(None, None, -1), (5, 1, -2), (-1, None, -3), (None, -8, -1), (2, 5, -1), (10, -10, -4)]:
        want = list(range(7))[b:e:s]
        got = run("slice", x, begin=(b,), end=(e,), step=(s,)).tolist()
        assert got == [float(v) for v in want], (b, e, s)


def test_slicechannel_refuses_what_mxnet_refuses() -> None:
    # MXNet 1.9.1 (slice_channel-inl.h) fails both binds: "3 does not evenly divide 7" and "If squeeze axis is
    # True, the size of the sliced axis must be the same as num_outputs"; torch.split made 4 parts of (2, 2, 2, 1)
    # and squeeze left a length-2 axis in place, so both ran on and returned wrong shapes.
    with pytest.raises(ValueError, match=r"num_outputs=3 equal parts \(3 does not divide 7\)"):
        run("SliceChannel", torch.ones(2, 7, 4), num_outputs="3", axis="1")
    with pytest.raises(ValueError, match="squeeze_axis needs axis 1 .* num_outputs=3"):
        run("SliceChannel", torch.ones(2, 6, 4), num_outputs="3", axis="1", squeeze_axis="True")
    parts = run("SliceChannel", torch.arange(24.0).reshape(2, 3, 4), num_outputs="3", axis="1", squeeze_axis="1")
    assert [tuple(p.shape) for p in parts] == [(2, 4)] * 3 and parts[2][1, 0] == 20
    parts = run("split", torch.ones(6, 2), num_outputs="3", axis="0")
    assert [tuple(p.shape) for p in parts] == [(2, 2)] * 3


def test_dot_nd_transpose_contracts_first_axis_of_a() -> None:
    a, b = torch.randn(3, 2, 2), torch.randn(4, 3)
    got = misc.dot(a, b, transpose_a=True, transpose_b=True)
    want = torch.einsum("kij,lk->ijl", a, b)
    assert got.shape == (2, 2, 4) and torch.allclose(got, want, atol=1e-6)
    assert tuple(misc.dot(torch.ones(3), torch.ones(3), transpose_a=False, transpose_b=False).shape) == (1,)


# ---- load-time validation ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("op", "attrs", "match"), [
    ("Pad", {"mode": "constant", "pad_width": (1, 0, 0, 0, 1, 1, 1, 1)}, "pad_width"),
    ("Pad", {"mode": "wrap", "pad_width": (0,) * 8}, "mode"),
    ("take", {"mode": "raise"}, "mode"),
    ("UpSampling", {"scale": 2, "sample_type": "bicubic", "num_args": 1}, "sample_type"),
    ("Cast", {"dtype": "complex64"}, "dtype"),
    ("slice", {"begin": (0,), "end": (1,), "step": (0,)}, "step"),
    ("norm", {"ord": 3}, "ord"),
    ("_npi_sum", {"initial": 1.0}, "initial"),
    ("Reshape", {"shape": "(2, x)"}, "shape"),
])
def test_unsupported_attribute_values_fail_at_load(op, attrs, match) -> None:
    with pytest.raises(UnsupportedOpError, match=match):
        lower(op, **attrs)


def test_every_tensor_fixture_op_is_registered() -> None:
    ops = set()
    for path in TENSOR_FIXTURES.glob("*-symbol.json"):
        ops |= {n["op"] for n in json.loads(path.read_text())["nodes"] if n["op"] != "null"}
    assert len(ops) > 150
    assert sorted(op for op in ops if lookup(op) is None) == []


# ---- torch.export with a dynamic batch dimension -------------------------------------------------------------------------
class _Chain(torch.nn.Module):
    """Several run-time functions whose shapes depend on the batch dimension, in one exported graph."""

    def forward(self, x: torch.Tensor, idx: torch.Tensor, w: torch.Tensor):
        a = shape.reshape(x, shape=(-1, 0, -3), reverse=False)  # (N, 3, 20)
        b = shape.reshape(x, shape=(0, -4, 1, -1, -2), reverse=False)  # (N, 1, 3, 4, 5)
        c = npx.npx_reshape(x, newshape=(-2, -1), reverse=False)  # (N, 60)
        parts = shape.split(a, num_outputs=2, axis=2, squeeze_axis=False)
        d = shape.flatten(parts[1])
        e = reduce.reduce(x, op="sum", axis=(1,), keepdims=False, exclude=True, numpy=False)  # (3,)
        f = shape.slice_(x, begin=(None, 2), end=(None, None), step=(1, -1))
        g = shape.upsampling_nearest(x, scale=2, sum_mode=False)
        h = shape.crop(g, x, offset=(0, 0), h_w=(0, 0), center_crop=True)
        i = misc.embedding(idx, w)
        j = shape.squeeze(x[:, :1], axis=None, numpy=False)
        k = arith.scalar_op(arith.mx_round(x), op="mod", scalar=3.0, reverse=False)
        return a, b, c, d, e, f, h, i, j, k


def test_run_time_functions_export_with_dynamic_batch() -> None:
    x = torch.randn(3, 3, 4, 5)
    idx = torch.tensor([[0.5, 7.0], [-2.0, 1.2], [2.0, 3.0]])
    w = torch.randn(4, 2)
    batch = torch.export.Dim("batch", min=2, max=64)
    ep = torch.export.export(_Chain(), (x, idx, w), dynamic_shapes=({0: batch}, {0: batch}, None))
    x5, idx5 = torch.randn(5, 3, 4, 5), torch.tensor([[0.0, 1.0]] * 5)
    got = ep.module()(x5, idx5, w)
    want = _Chain()(x5, idx5, w)
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]
    assert tuple(got[0].shape) == (5, 3, 20) and tuple(got[8].shape) == (5, 4, 5)
    for g, v in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), v.numpy())


# ---- exactness on the MXNet fixtures: integer outputs and pure data-movement ops must match bit for bit --------
_EXACT_PREFIXES = (
    "reshape_", "flatten_", "concat_", "split_", "transpose_", "swapaxis", "expand_dims_", "squeeze_", "slice_",
    "crop_", "clip_", "embedding", "upsampling_nearest", "stack_", "tile", "repeat_", "pad_", "broadcast_to",
    "broadcast_axis", "broadcast_like", "take_", "one_hot", "where_", "argm", "cast_", "amp_cast", "zeros_ones",
    "identity_ops", "npx_reshape_", "np_reshape", "npi_transpose_", "npi_squeeze_", "npi_concatenate",
    "npi_scalar_cmp_", "unary_floor", "unary_ceil", "unary_round", "unary_rint", "unary_fix", "unary_trunc",
    "unary_sign", "unary_abs", "unary_negative", "unary_relu", "npi_unary_floor", "npi_unary_ceil",
    "npi_unary_rint", "npi_unary_trunc", "npi_unary_fix", "npi_unary_sign", "npi_unary_absolute",
    "npi_unary_negative", "npi_unary_relu", "sc_mod_", "sc_rmod_", "ew_mod", "broadcast_mod", "npi_mod",
)
EXACT_CASES = sorted(p.name[: -len(".expected.npz")] for p in TENSOR_FIXTURES.glob("*.expected.npz")
                     if p.name.startswith(_EXACT_PREFIXES))


def test_exact_case_list_is_populated() -> None:
    assert len(EXACT_CASES) >= 100


@pytest.mark.parametrize("name", EXACT_CASES)
def test_fixture_is_bit_exact(name: str) -> None:
    import mxtorch

    expected = np.load(TENSOR_FIXTURES / f"{name}.expected.npz")
    model = mxtorch.load(TENSOR_FIXTURES / name)
    with torch.inference_mode():
        out = model(*[torch.from_numpy(expected[f"in:{n}"]) for n in model.input_names])
    for i, o in enumerate(out if isinstance(out, tuple) else (out,)):
        want = expected[f"out:{i}"]
        assert o.numpy().dtype == want.dtype, (i, o.dtype, want.dtype)
        np.testing.assert_array_equal(o.numpy(), want, err_msg=f"head {i}")


# graphs whose batch dimension is free in MXNet too (the others fix it: a literal 4 in a Reshape, a slice of axis 0)
DYNAMIC_BATCH_CASES = ["reshape_m1_0_rev", "reshape_0_m4_3_m1_m2", "np_reshape_method", "npx_reshape_m2_m1",
                       "npx_reshape_m5_m4", "slice_none_neg_step", "split_axis1", "reduce_sum_4_axis1_excludeTrue",
                       "embedding", "npi_reduce_sum_5", "elementwisesum_python_plus"]


@pytest.mark.parametrize("name", DYNAMIC_BATCH_CASES)
def test_fixture_graph_exports_with_dynamic_batch(name: str) -> None:
    import mxtorch

    expected = np.load(TENSOR_FIXTURES / f"{name}.expected.npz")
    model = mxtorch.load(TENSOR_FIXTURES / name)
    xs = tuple(torch.from_numpy(expected[f"in:{n}"]) for n in model.input_names)
    batch = torch.export.Dim("batch", min=2, max=64)
    ep = torch.export.export(model, xs, dynamic_shapes=(tuple({0: batch} for _ in xs),))
    bigger = tuple(torch.cat([x, x[:1] + 0.5]) for x in xs)  # one more row
    got, want = ep.module()(*bigger), model(*bigger)
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_every_tensor_op_is_in_ndparse_op_table() -> None:
    """ndparse parses the attributes (with defaults) of every op these families run, and resolves each
    registered alias to the canonical op registered with the same converter."""
    from ndparse.symbol import op_def

    from mxtorch.ops._registry import _CONVERTERS

    families = {"shape", "arith", "reduce", "npx", "misc"}
    mine = [n for n, c in _CONVERTERS.items() if c.__module__.rsplit(".", 1)[-1] in families]
    assert len(mine) > 250
    assert [n for n in mine if op_def(n) is None] == []
    assert [n for n in mine if _CONVERTERS.get(op_def(n).name) is not _CONVERTERS[n]] == []
