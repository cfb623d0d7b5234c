"""Make the ground-truth fixtures of mxtorch's tensor op families with real MXNet (never run by tests or CI).

Run by hand, from the repository root, once in each oracle venv (numpy < 1.24):

    .oracle19/bin/python tools/make_mxtorch_tensor_fixtures.py     # legacy ops, MXNet 1.9.1
    .oracle20/bin/python tools/make_mxtorch_tensor_fixtures.py     # _npi_/_npx_ ops, MXNet 2.0.0b1

Each run writes its own cases under fixtures/mxtorch/tensor/ (the other version's files are left alone):

* ``NAME-symbol.json``: the graph as MXNet saves it (``Symbol.save`` in 1.9.1, Gluon ``export`` in 2.x), or,
  for the legacy-form cases, the hand-written JSON MXNet was given (MXNet upgrades it on load);
* ``NAME-0000.params``: ``arg:``/``aux:`` weights as ``mx.model.save_checkpoint`` writes them (only for cases
  with weights: Embedding, bilinear UpSampling, a stored broadcast operand);
* ``NAME.expected.npz``: ``in:<input name>`` for every data input and ``out:<i>`` for MXNet's outputs in
  ``list_outputs`` order, dtypes as MXNet produced them;
* ``NAME.json``: provenance (MXNet version, the call that built the graph, seed, shapes, notes).

Inputs are seeded normal draws rounded to 1/16 (exact in float32) plus hand-picked values where the
semantics live at edges (halves for rounding, zeros and negatives for mod, NaN for clip, out-of-range
indices for Embedding/take). The script is deterministic: a re-run rewrites every file identically.
"""

from __future__ import annotations

import json
import os
import sys

import mxnet as mx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "fixtures", "mxtorch", "tensor")
MXV = mx.__version__.replace("beta", "b")  # "1.9.1" / "2.0.0b1"
IS_V2 = MXV.startswith("2.")
MAX_FILE_BYTES = 64 * 1024  # any single fixture file; the folder must stay well under 2 MiB
MAX_DIR_BYTES = 2 * 1024 * 1024

V1_CASES: list[tuple[str, object]] = []  # (name, builder) for MXNet 1.9.1
V2_CASES: list[tuple[str, object]] = []  # (name, builder) for MXNet 2.0.0b1


def rand(seed: int, *shape: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Seeded float32 values on a 1/16 grid: N(0, 1) by default, uniform in [lo, hi] if given."""
    r = np.random.RandomState(seed)
    x = r.randn(*shape) if lo is None else r.uniform(lo, hi, size=shape)
    return (np.round(x * 16) / 16).astype(np.float32)


def positive(seed: int, *shape: int) -> np.ndarray:
    return rand(seed, *shape, lo=0.25, hi=3.0)


class Case:
    """What a builder returns: the graph, its data inputs, its stored weights and how it was made."""

    def __init__(self, sym, inputs, params=None, call="", notes="", seed=None, json_text=None):
        self.sym = sym
        self.inputs = inputs  # name -> np.ndarray (data inputs, not stored)
        self.params = params or {}  # name -> np.ndarray (stored as arg:NAME)
        self.call = call
        self.notes = notes
        self.seed = seed
        self.json_text = json_text  # hand-written JSON to store instead of sym.tojson()


def v1(name: str):
    def deco(fn):
        V1_CASES.append((name, fn))
        return fn

    return deco


def v2(name: str):
    def deco(fn):
        V2_CASES.append((name, fn))
        return fn

    return deco


def var(name: str = "data"):
    return mx.sym.var(name)


def one(sym_fn, x: np.ndarray, call: str, notes: str = "", seed=None) -> Case:
    """A case of one op on one data input named ``data``."""
    return Case(sym_fn(var("data")), {"data": x}, call=call, notes=notes, seed=seed)


# ================================================================================================ 1.9.1
# ---- shape ops -----------------------------------------------------------------------------------------
RESHAPE_EXAMPLES = [  # (shape, reverse) on (2, 3, 4); SYMBOL.md §4.5
    ((4, 0, 2), False), ((-1, 0), False), ((-1, 0), True), ((0, -1), False), ((-2, 1, 1), False),
    ((-3, -2), False), ((-4, 1, 2, -2), False), ((2, -4, -1, 3, 4), False), ((0, -4, 3, -1, -2), False),
    ((-1,), False), ((-3, -1), False), ((0, 0, -4, 2, 2), False), ((-1, 4), True), ((-4, -1, 1, -2), False),
    ((6, -1), True), ((-3, 2, 2), False),
]


def _shape_slug(shape, reverse):
    s = "_".join(str(v).replace("-", "m") for v in shape)
    return f"reshape_{s}" + ("_rev" if reverse else "")


for _i, (_shape, _rev) in enumerate(RESHAPE_EXAMPLES):
    def _mk(shape=_shape, rev=_rev, i=_i):
        def build():
            return one(lambda d: mx.sym.Reshape(d, shape=shape, reverse=rev, name="r"), rand(100 + i, 2, 3, 4),
                       f"mx.sym.Reshape(data, shape={shape}, reverse={rev})", seed=100 + i)
        return build
    v1(_shape_slug(_shape, _rev))(_mk())


def _legacy_reshape_json(attrs: dict) -> str:
    """A 1.9.1-shaped JSON of data -> Reshape with the given (string) attributes."""
    return json.dumps({
        "nodes": [{"op": "null", "name": "data", "inputs": []},
                  {"op": "Reshape", "name": "r", "attrs": attrs, "inputs": [[0, 0, 0]]}],
        "arg_nodes": [0], "node_row_ptr": [0, 1, 2], "heads": [[1, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10901]}}, indent=1)


@v1("reshape_legacy_target_shape")
def _():
    text = _legacy_reshape_json({"target_shape": "(2, 0)"})
    return Case(mx.sym.load_json(text), {"data": rand(130, 2, 3, 4)}, call="hand-written Reshape target_shape=(2,0)",
                notes="legacy form: a single 0 in target_shape is inferred", seed=130, json_text=text)


@v1("reshape_legacy_keep_highest")
def _():
    text = _legacy_reshape_json({"target_shape": "(5, 0)", "keep_highest": "True"})
    return Case(mx.sym.load_json(text), {"data": rand(131, 2, 3, 4)},
                call="hand-written Reshape target_shape=(5,0) keep_highest=True",
                notes="keep_highest keeps dim 0 (2), the 0 is inferred (12)", seed=131, json_text=text)


@v1("flatten_4d")
def _():
    return one(lambda d: mx.sym.Flatten(d), rand(1, 2, 3, 2, 2), "mx.sym.Flatten(data)")


@v1("flatten_2d")
def _():
    return one(lambda d: mx.sym.flatten(d), rand(2, 3, 5), "mx.sym.flatten(data)")


@v1("concat_dim1")
def _():
    a, b, c = var("a"), var("b"), var("c")
    return Case(mx.sym.Concat(a, b, c, dim=1), {"a": rand(3, 2, 1, 3), "b": rand(4, 2, 2, 3), "c": rand(5, 2, 3, 3)},
                call="mx.sym.Concat(a, b, c, dim=1)")


@v1("concat_dim_neg")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.concat(a, b, dim=-1), {"a": rand(6, 2, 3, 1), "b": rand(7, 2, 3, 2)},
                call="mx.sym.concat(a, b, dim=-1)")


@v1("split_axis1")
def _():
    return one(lambda d: mx.sym.SliceChannel(d, num_outputs=3), rand(8, 2, 6, 2), "mx.sym.SliceChannel(data, num_outputs=3)")


@v1("split_squeeze_neg_axis")
def _():
    return one(lambda d: mx.sym.split(d, num_outputs=2, axis=-1, squeeze_axis=True), rand(9, 2, 3, 2),
               "mx.sym.split(data, num_outputs=2, axis=-1, squeeze_axis=True)")


@v1("transpose_default")
def _():
    return one(lambda d: mx.sym.transpose(d), rand(10, 2, 3, 4), "mx.sym.transpose(data)")


@v1("transpose_axes")
def _():
    return one(lambda d: mx.sym.transpose(d, axes=(1, 0, 2)), rand(11, 2, 3, 4), "mx.sym.transpose(data, axes=(1, 0, 2))")


@v1("swapaxis")
def _():
    return one(lambda d: mx.sym.SwapAxis(d, dim1=0, dim2=2), rand(12, 2, 3, 4), "mx.sym.SwapAxis(data, dim1=0, dim2=2)")


for _ax in (0, 3, -1, -4):
    def _mk(ax=_ax):
        return lambda: one(lambda d: mx.sym.expand_dims(d, axis=ax), rand(13, 2, 3, 1),
                           f"mx.sym.expand_dims(data, axis={ax})")
    v1(f"expand_dims_{str(_ax).replace('-', 'm')}")(_mk())


@v1("squeeze_all")
def _():
    return one(lambda d: mx.sym.squeeze(d), rand(14, 2, 1, 3, 1), "mx.sym.squeeze(data)")


@v1("squeeze_axis")
def _():
    return one(lambda d: mx.sym.squeeze(d, axis=(1, -1)), rand(15, 2, 1, 3, 1), "mx.sym.squeeze(data, axis=(1, -1))")


@v1("squeeze_to_1")
def _():
    return one(lambda d: mx.sym.squeeze(d), rand(16, 1, 1, 1), "mx.sym.squeeze(data)",
               notes="squeezing every axis gives (1,)")


@v1("slice_none_neg_step")
def _():
    return one(lambda d: mx.sym.slice(d, begin=(None, 3), end=(None, 0), step=(-1, -2)), rand(17, 3, 5, 2),
               "mx.sym.slice(data, begin=(None, 3), end=(None, 0), step=(-1, -2))", notes="trailing axis kept")


@v1("slice_basic")
def _():
    return one(lambda d: mx.sym.slice(d, begin=(1, -4), end=(3, None)), rand(18, 4, 5, 2),
               "mx.sym.slice(data, begin=(1, -4), end=(3, None))")


@v1("crop_alias_step")
def _():
    return one(lambda d: mx.sym.crop(d, begin=(0, 1), end=(None, None), step=(2, 2)), rand(19, 5, 6),
               "mx.sym.crop(data, begin=(0, 1), end=(None, None), step=(2, 2))")


@v1("slice_axis_basic")
def _():
    return one(lambda d: mx.sym.slice_axis(d, axis=1, begin=1, end=3), rand(20, 2, 5, 2),
               "mx.sym.slice_axis(data, axis=1, begin=1, end=3)")


@v1("slice_axis_neg_none")
def _():
    return one(lambda d: mx.sym.slice_axis(d, axis=-1, begin=-3, end=None), rand(21, 2, 2, 5),
               "mx.sym.slice_axis(data, axis=-1, begin=-3, end=None)")


def _clip_input():
    x = rand(22, 3, 4)
    x[0, 0] = np.nan
    x[1, 1] = np.inf
    x[2, 2] = -np.inf
    return x


@v1("clip_basic")
def _():
    return one(lambda d: mx.sym.clip(d, a_min=-0.5, a_max=0.75), _clip_input(), "mx.sym.clip(data, -0.5, 0.75)",
               notes="NaN passes through")


@v1("clip_min_gt_max")
def _():
    return one(lambda d: mx.sym.clip(d, a_min=0.5, a_max=-0.25), _clip_input(), "mx.sym.clip(data, 0.5, -0.25)",
               notes="a_min > a_max")


@v1("crop_hw_offset")
def _():
    return one(lambda d: mx.sym.Crop(d, num_args=1, offset=(1, 2), h_w=(2, 3)), rand(23, 1, 2, 5, 6),
               "mx.sym.Crop(data, num_args=1, offset=(1, 2), h_w=(2, 3))")


@v1("crop_hw_center")
def _():
    return one(lambda d: mx.sym.Crop(d, num_args=1, h_w=(2, 3), center_crop=True), rand(24, 1, 2, 5, 6),
               "mx.sym.Crop(data, num_args=1, h_w=(2, 3), center_crop=True)")


@v1("crop_like_center")
def _():
    a, b = var("data"), var("like")
    return Case(mx.sym.Crop(a, b, num_args=2, center_crop=True), {"data": rand(25, 2, 2, 7, 6), "like": rand(26, 2, 1, 4, 3)},
                call="mx.sym.Crop(data, like, num_args=2, center_crop=True)")


@v1("crop_like_offset")
def _():
    a, b = var("data"), var("like")
    return Case(mx.sym.Crop(a, b, num_args=2, offset=(2, 1)), {"data": rand(27, 1, 2, 7, 6), "like": rand(28, 1, 1, 4, 3)},
                call="mx.sym.Crop(data, like, num_args=2, offset=(2, 1))")


@v1("embedding")
def _():
    idx = np.array([[0, 1.0, 3], [-1.5, 2.7, 9], [3.99, -0.5, 1.2]], dtype=np.float32)
    w = rand(29, 4, 5)
    return Case(mx.sym.Embedding(var("data"), input_dim=4, output_dim=5, name="emb"), {"data": idx},
                params={"emb_weight": w}, call="mx.sym.Embedding(data, input_dim=4, output_dim=5, name='emb')",
                notes="indices truncated toward 0 then clipped to [0, 3]")


@v1("upsampling_nearest")
def _():
    return one(lambda d: mx.sym.UpSampling(d, scale=2, sample_type="nearest", num_args=1), rand(30, 1, 2, 3, 2),
               "mx.sym.UpSampling(data, scale=2, sample_type='nearest', num_args=1)")


@v1("upsampling_nearest_concat")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.UpSampling(a, b, scale=2, sample_type="nearest", num_args=2),
                {"a": rand(31, 1, 2, 4, 4), "b": rand(32, 1, 3, 2, 2)},
                call="mx.sym.UpSampling(a, b, scale=2, sample_type='nearest', num_args=2)",
                notes="b is repeated 4x (8 / 2), then channels concatenated")


@v1("upsampling_nearest_sum")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.UpSampling(a, b, scale=3, sample_type="nearest", num_args=2, multi_input_mode="sum"),
                {"a": rand(33, 1, 2, 2, 2), "b": rand(34, 1, 2, 1, 1)},
                call="mx.sym.UpSampling(a, b, scale=3, sample_type='nearest', num_args=2, multi_input_mode='sum')")


for _s in (2, 3):
    def _mk(s=_s):
        def build():
            k = 2 * s - s % 2
            return Case(mx.sym.UpSampling(var("data"), scale=s, sample_type="bilinear", num_args=1, num_filter=2,
                                          name="up"),
                        {"data": rand(35, 1, 2, 3, 4)}, params={"up_weight": rand(36, 2, 1, k, k)},
                        call=f"mx.sym.UpSampling(data, scale={s}, sample_type='bilinear', num_args=1, num_filter=2)",
                        notes="random (not bilinear-initialised) weight so the stored kernel is really used")
        return build
    v1(f"upsampling_bilinear_s{_s}")(_mk())


@v1("stack_axis1")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.stack(a, b, axis=1), {"a": rand(37, 2, 3), "b": rand(38, 2, 3)}, call="mx.sym.stack(a, b, axis=1)")


@v1("stack_axis_neg")
def _():
    a, b, c = var("a"), var("b"), var("c")
    return Case(mx.sym.stack(a, b, c, axis=-1), {"a": rand(39, 2, 3), "b": rand(40, 2, 3), "c": rand(41, 2, 3)},
                call="mx.sym.stack(a, b, c, axis=-1)")


@v1("tile")
def _():
    return one(lambda d: mx.sym.tile(d, reps=(2, 1, 3)), rand(42, 2, 3), "mx.sym.tile(data, reps=(2, 1, 3))",
               notes="reps longer than ndim: leading axes added")


@v1("tile_short_reps")
def _():
    return one(lambda d: mx.sym.tile(d, reps=(2,)), rand(43, 2, 3), "mx.sym.tile(data, reps=(2,))",
               notes="reps shorter than ndim: leading 1s prepended to reps")


@v1("repeat_axis")
def _():
    return one(lambda d: mx.sym.repeat(d, repeats=2, axis=-1), rand(44, 2, 3), "mx.sym.repeat(data, repeats=2, axis=-1)")


@v1("repeat_flat")
def _():
    return one(lambda d: mx.sym.repeat(d, repeats=3), rand(45, 2, 2), "mx.sym.repeat(data, repeats=3)")


for _mode, _cv in (("constant", 1.5), ("edge", 0.0), ("reflect", 0.0)):
    def _mk(mode=_mode, cv=_cv):
        return lambda: one(lambda d: mx.sym.Pad(d, mode=mode, pad_width=(0, 0, 0, 0, 1, 2, 2, 1), constant_value=cv),
                           rand(46, 1, 2, 3, 4),
                           f"mx.sym.Pad(data, mode='{mode}', pad_width=(0,0,0,0,1,2,2,1), constant_value={cv})")
    v1(f"pad_{_mode}")(_mk())


@v1("pad_constant_5d")
def _():
    return one(lambda d: mx.sym.pad(d, mode="constant", pad_width=(0, 0, 0, 0, 1, 0, 0, 1, 2, 2)),
               rand(47, 1, 1, 2, 2, 3), "mx.sym.pad(data, mode='constant', pad_width=(0,0,0,0,1,0,0,1,2,2))")


@v1("broadcast_to")
def _():
    return one(lambda d: mx.sym.broadcast_to(d, shape=(2, 0, 4)), rand(48, 1, 3, 1), "mx.sym.broadcast_to(data, shape=(2, 0, 4))",
               notes="0 keeps the input dim")


@v1("broadcast_axis")
def _():
    return one(lambda d: mx.sym.broadcast_axis(d, axis=(0, 2), size=(2, 3)), rand(49, 1, 3, 1),
               "mx.sym.broadcast_axis(data, axis=(0, 2), size=(2, 3))")


@v1("broadcast_like")
def _():
    a, b = var("data"), var("like")
    return Case(mx.sym.broadcast_like(a, b), {"data": rand(50, 1, 3, 1), "like": rand(51, 2, 3, 4)},
                call="mx.sym.broadcast_like(data, like)")


@v1("broadcast_like_axes")
def _():
    a, b = var("data"), var("like")
    return Case(mx.sym.broadcast_like(a, b, lhs_axes=(0,), rhs_axes=(2,)), {"data": rand(52, 1, 3), "like": rand(53, 2, 3, 4)},
                call="mx.sym.broadcast_like(data, like, lhs_axes=(0,), rhs_axes=(2,))")


# ---- indexing ---------------------------------------------------------------------------------------------
@v1("take_clip")
def _():
    a, i = var("data"), var("indices")
    return Case(mx.sym.take(a, i), {"data": rand(54, 4, 3), "indices": np.array([[0, 3.7], [-2, 9]], np.float32)},
                call="mx.sym.take(data, indices)", notes="mode=clip: out-of-range clipped, fractions truncated")


@v1("take_wrap_axis1")
def _():
    a, i = var("data"), var("indices")
    return Case(mx.sym.take(a, i, axis=1, mode="wrap"), {"data": rand(55, 2, 4, 2), "indices": np.array([1, -1, 5, -6], np.float32)},
                call="mx.sym.take(data, indices, axis=1, mode='wrap')")


@v1("one_hot")
def _():
    return one(lambda d: mx.sym.one_hot(d, depth=4), np.array([[0, 3], [1, 7], [-1, 2]], np.float32),
               "mx.sym.one_hot(data, depth=4)", notes="out-of-range indices give all-off rows")


@v1("one_hot_values_dtype")
def _():
    return one(lambda d: mx.sym.one_hot(d, depth=3, on_value=5, off_value=-1, dtype="int32"),
               np.array([0, 2, 1.9], np.float32), "mx.sym.one_hot(data, depth=3, on_value=5, off_value=-1, dtype='int32')")


@v1("where_same_shape")
def _():
    c, a, b = var("cond"), var("a"), var("b")
    return Case(mx.sym.where(c, a, b), {"cond": np.array([[0, 1, -2], [0.5, 0, 0]], np.float32), "a": rand(56, 2, 3),
                                        "b": rand(57, 2, 3)}, call="mx.sym.where(cond, a, b)")


@v1("where_vector_cond")
def _():
    c, a, b = var("cond"), var("a"), var("b")
    return Case(mx.sym.where(c, a, b), {"cond": np.array([0, 1], np.float32), "a": rand(58, 2, 3), "b": rand(59, 2, 3)},
                call="mx.sym.where(cond, a, b)", notes="1-D condition selects whole rows (first axis)")


@v1("argmax_axis1")
def _():
    x = rand(60, 2, 4, 3)
    x[0, :, 0] = 1.0  # ties: the first index wins
    return one(lambda d: mx.sym.argmax(d, axis=1), x, "mx.sym.argmax(data, axis=1)")


@v1("argmax_keepdims_neg")
def _():
    return one(lambda d: mx.sym.argmax(d, axis=-1, keepdims=True), rand(61, 2, 3, 4), "mx.sym.argmax(data, axis=-1, keepdims=True)")


@v1("argmax_flat")
def _():
    return one(lambda d: mx.sym.argmax(d), rand(62, 2, 3), "mx.sym.argmax(data)", notes="axis=None: flattened, shape (1,)")


def _era08_json(op: str, params: dict) -> str:
    """A 0.8-era file (``param`` maps, 2-element entries, no version) of data -> op: MXNet upgrades it on load."""
    return json.dumps({
        "nodes": [{"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
                  {"op": op, "param": params, "name": "n", "inputs": [[0, 0]], "backward_source_id": -1}],
        "arg_nodes": [0], "heads": [[1, 0]]}, indent=1)


@v1("argmax_era08_axis_m1")
def _():
    text = _era08_json("argmax", {"axis": "-1", "keepdims": "False"})
    return Case(mx.sym.load_json(text), {"data": rand(65, 2, 3, 4)}, call="hand-written 0.8-era argmax axis=-1",
                notes="file version < 0.9.5: the upgrade deletes axis=-1, so the reduction is over the flattened "
                      "input, shape (1,)", json_text=text)


@v1("reshape_era08_target_shape")
def _():
    text = _era08_json("Reshape", {"target_shape": "(0, 6)", "keep_highest": "False"})
    return Case(mx.sym.load_json(text), {"data": rand(66, 4, 3, 2)}, call="hand-written 0.8-era Reshape target_shape=(0,6)",
                json_text=text)


@v1("argmin_axis0")
def _():
    return one(lambda d: mx.sym.argmin(d, axis=0), rand(63, 3, 4), "mx.sym.argmin(data, axis=0)")


@v1("argmax_channel")
def _():
    return one(lambda d: mx.sym.argmax_channel(d), rand(64, 2, 3, 4), "mx.sym.argmax_channel(data)")


# ---- dot ---------------------------------------------------------------------------------------------------
@v1("dot_2d")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.dot(a, b), {"a": rand(65, 2, 3), "b": rand(66, 3, 4)}, call="mx.sym.dot(a, b)")


@v1("dot_transpose_nd")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.dot(a, b, transpose_a=True, transpose_b=True), {"a": rand(67, 3, 2, 2), "b": rand(68, 4, 3)},
                call="mx.sym.dot(a, b, transpose_a=True, transpose_b=True)",
                notes="N-D: transpose_a contracts the FIRST axis of a, transpose_b the LAST axis of b")


@v1("dot_nd")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.dot(a, b), {"a": rand(69, 2, 2, 3), "b": rand(70, 3, 2, 2)}, call="mx.sym.dot(a, b)")


@v1("dot_1d")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.dot(a, b), {"a": rand(71, 3), "b": rand(72, 3)}, call="mx.sym.dot(a, b)", notes="1-D . 1-D gives (1,)")


@v1("batch_dot")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.batch_dot(a, b), {"a": rand(73, 2, 2, 3), "b": rand(74, 2, 3, 4)}, call="mx.sym.batch_dot(a, b)")


@v1("batch_dot_transpose")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.batch_dot(a, b, transpose_a=True, transpose_b=True), {"a": rand(75, 2, 3, 2), "b": rand(76, 2, 4, 3)},
                call="mx.sym.batch_dot(a, b, transpose_a=True, transpose_b=True)")


# ---- elementwise binary ------------------------------------------------------------------------------------
def _mod_pair():
    a = np.array([[-7, -3.5, -1, 0, 1, 3.5, 7, 2.25], [5, -5, 0, 6, -6, 4.5, -4.5, 1]], np.float32)
    b = np.array([[3, 3, -2, 2, 0, -2, -3, 0.5], [0, 2.5, -1, 3, 3, -1.5, 1.5, -0.75]], np.float32)
    return a, b


ELEMWISE = ["elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_power", "_maximum", "_minimum",
            "_mod", "_hypot", "_equal", "_not_equal", "_greater", "_greater_equal", "_lesser", "_lesser_equal",
            "_logical_and", "_logical_or", "_logical_xor"]
for _op in ELEMWISE:
    def _mk(op=_op):
        def build():
            a, b = (positive(77, 2, 3), rand(78, 2, 3)) if op == "_power" else _mod_pair() if op == "_mod" else (
                rand(79, 2, 4), rand(80, 2, 4))
            if op.startswith(("_equal", "_not_equal", "_greater", "_lesser", "_logical")):
                a = np.round(a)
                b = np.round(b)
            fn = getattr(mx.sym, op) if hasattr(mx.sym, op) else getattr(mx.sym._internal, op)
            return Case(fn(var("a"), var("b")), {"a": a, "b": b}, call=f"mx.sym.{op}(a, b)")
        return build
    v1(f"ew{_op}" if _op.startswith("_") else _op)(_mk())


BROADCAST = ["broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_power", "broadcast_maximum",
             "broadcast_minimum", "broadcast_mod", "broadcast_hypot", "broadcast_equal", "broadcast_not_equal",
             "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser", "broadcast_lesser_equal",
             "broadcast_logical_and", "broadcast_logical_or", "broadcast_logical_xor", "broadcast_plus",
             "broadcast_minus"]
_COMPARISONS = ("equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal", "less", "less_equal")


def _broadcast_operands(op: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(2,1,4)- and (3,1)-shaped operands (right-aligned broadcast to (2,3,4)); positive bases for power, the
    mod table for mod, integers for comparisons and logical ops. ``op`` without its broadcast_/_npi_ prefix."""
    if op == "power":
        return positive(seed, 2, 1, 4), rand(seed + 1, 3, 1)
    if op == "mod":
        a, b = _mod_pair()
        return a.reshape(2, 1, 8), b[:1].reshape(1, 8)
    a, b = rand(seed + 2, 2, 1, 4), rand(seed + 3, 3, 1)
    if op in _COMPARISONS or op.startswith("logical"):
        a, b = np.round(a), np.round(b)
    return a, b


for _op in BROADCAST:
    def _mk(op=_op):
        def build():
            a, b = _broadcast_operands(op[len("broadcast_"):], 81)
            return Case(getattr(mx.sym, op)(var("a"), var("b")), {"a": a, "b": b}, call=f"mx.sym.{op}(a, b)",
                        notes="right-aligned broadcasting")
        return build
    v1(_op)(_mk())


@v1("broadcast_add_stored_operand")
def _():
    return Case(mx.sym.broadcast_add(var("data"), var("bias")), {"data": rand(85, 2, 3, 2)}, params={"bias": rand(86, 3, 1)},
                call="mx.sym.broadcast_add(data, bias) with bias stored in the params file")


@v1("add_n")
def _():
    a, b, c = var("a"), var("b"), var("c")
    return Case(mx.sym.add_n(a, b, c), {"a": rand(87, 2, 3), "b": rand(88, 2, 3), "c": rand(89, 2, 3)},
                call="mx.sym.add_n(a, b, c)")


@v1("elementwisesum_python_plus")
def _():
    a, b = var("a"), var("b")
    return Case(mx.sym.ElementWiseSum(a, b) - a * 2.0 + b / 4 - (-a), {"a": rand(90, 2, 3), "b": rand(91, 2, 3)},
                call="mx.sym.ElementWiseSum(a, b) - a * 2.0 + b / 4 - (-a)", notes="Python operators on symbols")


# ---- scalar ops --------------------------------------------------------------------------------------------
def _scalar_input():
    return np.array([[-7, -3.5, -1, -0.5, 0, 0.5, 1, 2.5], [3.5, 7, -2.25, 6, -6, 1.5, -1.5, 4]], np.float32)


SCALAR = [  # (op, scalar, input kind)
    ("_plus_scalar", 1.5, "any"), ("_minus_scalar", 2.0, "any"), ("_rminus_scalar", 2.0, "any"),
    ("_mul_scalar", -1.0, "any"), ("_div_scalar", 4.0, "any"), ("_rdiv_scalar", 3.0, "any"),
    ("_power_scalar", 2.0, "any"), ("_power_scalar", 0.5, "any"), ("_rpower_scalar", 2.0, "any"),
    ("_maximum_scalar", 0.5, "any"), ("_minimum_scalar", -0.5, "any"),
    ("_mod_scalar", 3.0, "any"), ("_mod_scalar", -2.5, "any"), ("_mod_scalar", 0.0, "any"),
    ("_rmod_scalar", 5.0, "any"), ("_rmod_scalar", -4.0, "any"),
    ("_equal_scalar", 0.5, "any"), ("_not_equal_scalar", -1.0, "any"), ("_greater_scalar", 0.0, "any"),
    ("_greater_equal_scalar", 1.0, "any"), ("_lesser_scalar", -0.5, "any"), ("_lesser_equal_scalar", 3.5, "any"),
    ("_logical_and_scalar", 1.0, "any"), ("_logical_or_scalar", 0.0, "any"), ("_logical_xor_scalar", 1.0, "any"),
    ("_hypot_scalar", 2.0, "any"),
]
for _op, _s, _k in SCALAR:
    def _mk(op=_op, s=_s):
        def build():
            fn = getattr(mx.sym._internal, op)
            return Case(fn(var("data"), scalar=s), {"data": _scalar_input()}, call=f"mx.sym._internal.{op}(data, scalar={s})")
        return build
    v1(f"sc{_op}_{str(_s).replace('-', 'm').replace('.', 'p')}")(_mk())


@v1("scalar_int_valued_float")
def _():
    return one(lambda d: mx.sym._internal._plus_scalar(d, scalar=2.5, is_int=True), rand(92, 2, 3),
               "mx.sym._internal._plus_scalar(data, scalar=2.5, is_int=True)", notes="is_int has no effect on float data")


# ---- unary math --------------------------------------------------------------------------------------------
def _halves():
    return np.array([[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], [-2.6, -1.2, -0.0, 0.2, 1.7, 3.49]], np.float32)


UNARY = [  # (op, input kind)
    ("relu", "n"), ("sigmoid", "n"), ("tanh", "n"), ("exp", "n"), ("expm1", "n"), ("log", "p"), ("log1p", "p"),
    ("log2", "p"), ("log10", "p"), ("sqrt", "p"), ("rsqrt", "p"), ("cbrt", "n"), ("rcbrt", "p"), ("abs", "n"),
    ("negative", "n"), ("square", "n"), ("reciprocal", "p"), ("sign", "h"), ("floor", "h"), ("ceil", "h"),
    ("round", "h"), ("rint", "h"), ("fix", "h"), ("trunc", "h"), ("sin", "n"), ("cos", "n"), ("tan", "u"),
    ("arcsin", "u"), ("arccos", "u"), ("arctan", "n"), ("sinh", "n"), ("cosh", "n"), ("arcsinh", "n"),
    ("arccosh", "g1"), ("arctanh", "u"), ("degrees", "n"), ("radians", "n"), ("erf", "n"), ("erfinv", "u"),
    ("gamma", "p"), ("gammaln", "p"), ("softsign", "n"), ("logical_not", "h"), ("log_sigmoid", "n"),
    ("mish", "n"),
]
_UNARY_INPUTS = {
    "n": lambda: rand(93, 2, 5), "p": lambda: positive(94, 2, 5), "h": _halves,
    "u": lambda: rand(95, 2, 5, lo=-0.9, hi=0.9), "g1": lambda: rand(96, 2, 5, lo=1.0, hi=4.0),
}
for _op, _k in UNARY:
    def _mk(op=_op, k=_k):
        def build():
            return one(lambda d: getattr(mx.sym, op)(d), _UNARY_INPUTS[k](), f"mx.sym.{op}(data)")
        return build
    if hasattr(mx.sym, _op):
        v1(f"unary_{_op}")(_mk())


# ---- reductions --------------------------------------------------------------------------------------------
REDUCE = [  # (op, kwargs)
    ("sum", {}), ("sum", {"keepdims": True}), ("sum", {"axis": 1}), ("sum", {"axis": (0, 2), "keepdims": True}),
    ("sum", {"axis": 1, "exclude": True}), ("sum", {"axis": (-1,), "exclude": True, "keepdims": True}),
    ("sum", {"axis": ()}), ("sum_axis", {"axis": -2}),
    ("mean", {}), ("mean", {"axis": (1, 2)}), ("mean", {"axis": 0, "exclude": True}),
    ("max", {}), ("max", {"axis": -1, "keepdims": True}), ("max_axis", {"axis": 0}),
    ("min", {"axis": (0, 1)}), ("min", {"axis": 2, "exclude": True}), ("min_axis", {}),
    ("prod", {}), ("prod", {"axis": 1}), ("nansum", {"axis": 1}), ("nanprod", {}),
]
for _i, (_op, _kw) in enumerate(REDUCE):
    def _mk(op=_op, kw=_kw, i=_i):
        def build():
            x = rand(97, 2, 3, 4, lo=0.5, hi=1.5) if "prod" in op else rand(97, 2, 3, 4)
            if op.startswith("nan"):
                x[0, 1, 2] = np.nan
                x[1, 0, 0] = np.nan
            return one(lambda d: getattr(mx.sym, op)(d, **kw), x, f"mx.sym.{op}(data, **{kw})")
        return build
    _slug = "_".join(f"{k}{str(v).replace(' ', '').replace('-', 'm')}" for k, v in _kw.items())
    _slug = _slug.replace("(", "").replace(")", "").replace(",", "_")
    v1(f"reduce_{_op}_{_i}" + (f"_{_slug}" if _slug else "_all"))(_mk())


@v1("norm_default")
def _():
    return one(lambda d: mx.sym.norm(d), rand(98, 2, 3), "mx.sym.norm(data)", notes="L2 over everything, shape (1,)")


@v1("norm_l1_axis")
def _():
    return one(lambda d: mx.sym.norm(d, ord=1, axis=1, keepdims=True), rand(99, 2, 3), "mx.sym.norm(data, ord=1, axis=1, keepdims=True)")


# ---- identity, cast, like, constants -------------------------------------------------------------------------
def _cast_input():
    return np.array([[-2.7, -1.5, -0.5, 0.4, 1.5, 2.9], [100.2, -100.8, 7.99, -7.99, 0, 3.5]], np.float32)


for _dt in ("int32", "int64", "float16", "float64", "uint8", "int8"):
    def _mk(dt=_dt):
        def build():
            x = _cast_input()
            if dt in ("uint8",):
                x = np.abs(x)
            return one(lambda d: mx.sym.Cast(d, dtype=dt), x, f"mx.sym.Cast(data, dtype='{dt}')",
                       notes="float->int truncates toward 0")
        return build
    v1(f"cast_{_dt}")(_mk())


@v1("cast_int_to_float")
def _():
    return one(lambda d: mx.sym.cast(mx.sym.Cast(d, dtype="int32"), dtype="float32") * 0.5, _cast_input(),
               "mx.sym.cast(mx.sym.Cast(data, dtype='int32'), dtype='float32') * 0.5")


@v1("amp_cast")
def _():
    return one(lambda d: mx.sym.amp_cast(d, dtype="float16"), _cast_input(), "mx.sym.amp_cast(data, dtype='float16')")


@v1("zeros_ones_like")
def _():
    d = var("data")
    return Case(mx.sym.Group([mx.sym.zeros_like(d), mx.sym.ones_like(d)]), {"data": rand(100, 2, 3)},
                call="mx.sym.Group([mx.sym.zeros_like(data), mx.sym.ones_like(data)])")


@v1("identity_ops")
def _():
    d = var("data")
    y = mx.sym.BlockGrad(d) + mx.sym.identity(d) + mx.sym.make_loss(d) + mx.sym.stop_gradient(d)
    return Case(y, {"data": rand(101, 2, 3)},
                call="mx.sym.BlockGrad(data) + mx.sym.identity(data) + mx.sym.make_loss(data) + mx.sym.stop_gradient(data)")


@v1("arange_plus")
def _():
    d = var("data")
    return Case(mx.sym.broadcast_add(d, mx.sym.arange(start=1, stop=4, step=0.5)), {"data": rand(102, 2, 1)},
                call="mx.sym.broadcast_add(data, mx.sym.arange(start=1, stop=4, step=0.5))")


@v1("arange_repeat_int")
def _():
    d = var("data")
    return Case(mx.sym.broadcast_mul(d, mx.sym.arange(start=3, repeat=2, dtype="int32").astype("float32")),
                {"data": rand(103, 2, 1)},
                call="mx.sym.broadcast_mul(data, mx.sym.arange(start=3, repeat=2, dtype='int32').astype('float32'))",
                notes="stop=None: range [0, start)")


@v1("zeros_ones_full")
def _():
    d = var("data")
    y = mx.sym.Group([d + mx.sym.zeros(shape=(2, 3)), d * mx.sym.ones(shape=(2, 3)),
                      mx.sym.broadcast_add(d, mx.sym.full(shape=(1, 3), val=2.5))])
    return Case(y, {"data": rand(104, 2, 3)},
                call="Group([data + zeros((2,3)), data * ones((2,3)), broadcast_add(data, full((1,3), 2.5))])")


# ================================================================================================ 2.0.0b1
if IS_V2:
    from mxnet import gluon
    from mxnet import np as mnp
    from mxnet import npx

    npx.set_np()

    class _Fn(gluon.HybridBlock):
        def __init__(self, fn):
            super().__init__()
            self._fn = fn

        def forward(self, *xs):
            return self._fn(*xs)


def two(fn, inputs: list[np.ndarray], call: str, notes: str = "") -> dict:
    return {"fn": fn, "inputs": inputs, "call": call, "notes": notes}


NPI_BINARY = ["add", "subtract", "multiply", "true_divide", "power", "maximum", "minimum", "mod", "hypot", "equal",
              "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
              "logical_xor"]
for _op in NPI_BINARY:
    def _mk(op=_op):
        def build():
            a, b = _broadcast_operands(op, 200)
            return two(lambda x, y: getattr(mnp, op)(x, y), [a, b], f"mx.np.{op}(a, b)")
        return build
    v2(f"npi_{_op}")(_mk())


NPI_SCALAR = [("add", 1.5), ("subtract", 2.0), ("rsubtract", 2.0), ("multiply", -1.0), ("true_divide", 4.0),
              ("rtrue_divide", 3.0), ("power", 2.0), ("power", 0.5), ("rpower", 2.0), ("mod", 3.0), ("mod", -2.5),
              ("rmod", 5.0), ("mod", 0.0), ("maximum", 0.5), ("minimum", -0.5)]
_NPI_SCALAR_EXPR = {
    "add": lambda x, s: x + s, "subtract": lambda x, s: x - s, "rsubtract": lambda x, s: s - x,
    "multiply": lambda x, s: x * s, "true_divide": lambda x, s: x / s, "rtrue_divide": lambda x, s: s / x,
    "power": lambda x, s: x ** s, "rpower": lambda x, s: s ** x, "mod": lambda x, s: x % s, "rmod": lambda x, s: s % x,
    "maximum": lambda x, s: mnp.maximum(x, s), "minimum": lambda x, s: mnp.minimum(x, s),
}
for _op, _s in NPI_SCALAR:
    def _mk(op=_op, s=_s):
        def build():
            return two(lambda x: _NPI_SCALAR_EXPR[op](x, s), [_scalar_input()], f"{op} with python scalar {s}")
        return build
    v2(f"npi_{_op}_scalar_{str(_s).replace('-', 'm').replace('.', 'p')}")(_mk())


NPI_SCALAR_CMP = {"eq": lambda x: x == 0.5, "ne": lambda x: x != -1.0, "gt": lambda x: x > 0.0,
                  "ge": lambda x: x >= 1.0, "lt": lambda x: x < -0.5, "le": lambda x: x <= 3.5}
for _k in NPI_SCALAR_CMP:
    def _mk(k=_k):
        return lambda: two(NPI_SCALAR_CMP[k], [_scalar_input()], f"comparison {k} with a python scalar",
                           notes="2.x comparisons give bool arrays")
    v2(f"npi_scalar_cmp_{_k}")(_mk())


@v2("npi_int_scalar")
def _():
    return two(lambda x: x * 2 + 3 - x ** 3, [rand(204, 2, 3)], "x * 2 + 3 - x ** 3", notes="is_int=1 scalars")


NPI_REDUCE = [("sum", {}), ("mean", {}), ("max", {}), ("min", {}), ("prod", {}), ("sum", {"axis": 1}),
              ("mean", {"axis": (0, 2), "keepdims": True}), ("max", {"axis": -1}), ("min", {"axis": 0, "keepdims": True}),
              ("prod", {"axis": (1,)}), ("sum", {"keepdims": True})]
for _i, (_op, _kw) in enumerate(NPI_REDUCE):
    def _mk(op=_op, kw=_kw):
        def build():
            x = rand(205, 2, 3, 4, lo=0.5, hi=1.5) if op == "prod" else rand(205, 2, 3, 4)
            return two(lambda d: getattr(mnp, op)(d, **kw), [x], f"mx.np.{op}(x, **{kw})",
                       notes="full reductions give 0-d arrays")
        return build
    v2(f"npi_reduce_{_op}_{_i}")(_mk())


NPX_RESHAPE = [((-2, -1), (2, 3, 4, 5)), ((-5, -4), (2, 3, 4, 5)), ((-1, 5), (2, 3, 4, 5)), ((-2, -3, -4), (2, 1, 4, 5)),
               ((-6, 1, 2, -4), (2, 3, 4, 5)), ((-2, -6, -1, 3, -2, -2), (2, 6, 4, 5)), ((6, -1, -2), (2, 3, 4, 5)),
               ((-1,), (2, 3, 4, 5)), ((4, -1), (2, 3, 4, 5)), ((-5, -5), (2, 3, 4, 5))]
for _i, (_ns, _shape) in enumerate(NPX_RESHAPE):
    def _mk(ns=_ns, shape=_shape, i=_i):
        def build():
            return two(lambda d: npx.reshape(d, ns), [rand(206 + i, *shape)], f"mx.npx.reshape(x, {ns}) on {shape}")
        return build
    v2("npx_reshape_" + "_".join(str(v).replace("-", "m") for v in _ns))(_mk())


@v2("npx_reshape_reverse")
def _():
    return two(lambda d: npx.reshape(d, (-1, -2), reverse=True), [rand(220, 2, 3, 4)], "mx.npx.reshape(x, (-1, -2), reverse=True)")


@v2("np_reshape_method")
def _():
    return two(lambda d: d.reshape(-1, 6), [rand(221, 2, 3, 4)], "x.reshape(-1, 6)")


@v2("npi_transpose_none")
def _():
    return two(lambda d: mnp.transpose(d), [rand(222, 2, 3, 4)], "mx.np.transpose(x)")


@v2("npi_transpose_axes")
def _():
    return two(lambda d: mnp.transpose(d, (0, 2, 1)), [rand(223, 2, 3, 4)], "mx.np.transpose(x, (0, 2, 1))")


@v2("npi_squeeze_all_0d")
def _():
    return two(lambda d: mnp.squeeze(d), [rand(224, 1, 1, 1)], "mx.np.squeeze(x)", notes="full squeeze gives ()")


@v2("npi_squeeze_axis")
def _():
    return two(lambda d: mnp.squeeze(d, axis=-1), [rand(225, 2, 1, 3, 1)], "mx.np.squeeze(x, axis=-1)")


@v2("npi_concatenate")
def _():
    return two(lambda a, b: mnp.concatenate([a, b], axis=-1), [rand(226, 2, 3), rand(227, 2, 2)],
               "mx.np.concatenate([a, b], axis=-1)")


@v2("npi_concatenate_default")
def _():
    return two(lambda a, b: mnp.concatenate([a, b]), [rand(228, 1, 3), rand(229, 2, 3)], "mx.np.concatenate([a, b])")


NPI_UNARY = [("npx.relu", "n"), ("npx.sigmoid", "n"), ("np.exp", "n"), ("np.sqrt", "p"), ("np.absolute", "n"),
             ("np.log", "p"), ("np.tanh", "n"), ("np.negative", "n"), ("np.square", "n"), ("np.floor", "h"),
             ("np.ceil", "h"), ("np.rint", "h"), ("np.trunc", "h"), ("np.fix", "h"), ("np.sign", "h"),
             ("np.reciprocal", "p"), ("np.log1p", "p"), ("np.expm1", "n"), ("np.sin", "n"), ("np.cos", "n"),
             ("np.log2", "p"), ("np.log10", "p"), ("np.cbrt", "n"), ("np.arctan", "n"), ("np.sinh", "n"),
             ("np.cosh", "n"), ("np.arcsin", "u"), ("np.arccos", "u"), ("np.tan", "u"), ("np.arcsinh", "n"),
             ("np.arccosh", "g1"), ("np.arctanh", "u"), ("np.degrees", "n"), ("np.radians", "n")]
for _op, _k in NPI_UNARY:
    def _mk(op=_op, k=_k):
        def build():
            mod, name = op.split(".")
            f = getattr(npx if mod == "npx" else mnp, name)
            return two(lambda d: f(d), [_UNARY_INPUTS[k]()], f"mx.{op}(x)")
        return build
    v2(f"npi_unary_{_op.split('.')[1]}")(_mk())


@v2("npi_copy_and_legacy")
def _():
    return two(lambda d: mnp.copy(mnp.expand_dims(npx.softmax(mnp.clip(d, -0.5, 0.5)), 0)), [rand(230, 2, 3)],
               "mx.np.copy(mx.np.expand_dims(mx.npx.softmax(mx.np.clip(x, -0.5, 0.5)), 0))",
               notes="legacy-named ops inside a 2.x graph")


# ================================================================================================ writer
def _save_params(path: str, params: dict) -> None:
    mx.nd.save(path, {"arg:" + k: mx.nd.array(v, dtype=v.dtype) for k, v in params.items()})


def _write_common(name: str, inputs: dict, outs: list, out_names: list, prov: dict) -> None:
    exp = {f"in:{k}": v for k, v in inputs.items()}
    exp.update({f"out:{i}": o for i, o in enumerate(outs)})
    np.savez_compressed(os.path.join(OUT_DIR, name + ".expected.npz"), **exp)
    prov.update({
        "mxnet": MXV, "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in inputs.items()},
        "outputs": out_names, "output_shapes": [[list(o.shape), str(o.dtype)] for o in outs],
    })
    with open(os.path.join(OUT_DIR, name + ".json"), "w") as f:
        json.dump(prov, f, indent=1, sort_keys=True)
        f.write("\n")


def run_v1(name: str, c: Case) -> None:
    args = {k: mx.nd.array(v, dtype=v.dtype) for k, v in {**c.inputs, **c.params}.items()}
    missing = set(c.sym.list_arguments()) - set(args)
    assert not missing, (name, missing)
    exe = c.sym.bind(mx.cpu(), args=args, grad_req="null")
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    with open(os.path.join(OUT_DIR, name + "-symbol.json"), "w") as f:
        f.write(c.json_text if c.json_text is not None else c.sym.tojson())
    if c.params:
        _save_params(os.path.join(OUT_DIR, name + "-0000.params"), c.params)
    _write_common(name, c.inputs, outs, c.sym.list_outputs(), {
        "call": c.call, "notes": c.notes, "seed": c.seed,
        "made_by": "tools/make_mxtorch_tensor_fixtures.py: Symbol.bind(mx.cpu(), grad_req='null').forward(is_train=False)",
    })


def run_v2(name: str, spec: dict) -> None:
    blk = _Fn(spec["fn"])
    blk.hybridize()
    xs = [mnp.array(v, dtype=v.dtype) for v in spec["inputs"]]
    res = blk(*xs)
    outs = [r.asnumpy() for r in (res if isinstance(res, (list, tuple)) else [res])]
    prefix = os.path.join(OUT_DIR, name)
    blk.export(prefix, epoch=0)
    with open(prefix + "-symbol.json") as f:
        graph = json.load(f)
    names = [graph["nodes"][i]["name"] for i in graph["arg_nodes"]]
    assert len(names) == len(xs), (name, names)
    params = prefix + "-0000.params"
    if os.path.exists(params) and os.path.getsize(params) <= 22:  # the empty zip Gluon writes: no weights
        os.remove(params)
    out_names = mx.sym.load(prefix + "-symbol.json").list_outputs()
    _write_common(name, dict(zip(names, spec["inputs"])), outs, out_names, {
        "call": spec["call"], "notes": spec["notes"], "seed": None,
        "made_by": "tools/make_mxtorch_tensor_fixtures.py: gluon HybridBlock, hybridize(), forward, export(prefix, 0)",
    })


def main() -> int:
    os.makedirs(OUT_DIR, exist_ok=True)
    only = set(sys.argv[1:])
    cases = V2_CASES if IS_V2 else V1_CASES
    names = [n for n, _ in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    for name, build in cases:
        if only and name not in only:
            continue
        try:
            (run_v2 if IS_V2 else run_v1)(name, build())
        except Exception as e:
            raise SystemExit(f"case {name}: {e}") from e
    total = 0
    for fn in os.listdir(OUT_DIR):
        size = os.path.getsize(os.path.join(OUT_DIR, fn))
        assert size <= MAX_FILE_BYTES, (fn, size)
        total += size
    assert total <= MAX_DIR_BYTES, total
    print(f"mxnet {MXV}: {len(cases)} cases; folder {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
