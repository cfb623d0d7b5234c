"""Make the ground-truth DPN fixtures with real MXNet 1.9.1 (never run by tests or CI).

Run by hand, from the repository root, in the oracle venv (mxnet 1.9.1, numpy < 1.24):

    .oracle19/bin/python tools/make_dpn_fixtures.py            # everything
    .oracle19/bin/python tools/make_dpn_fixtures.py --check    # full-size checks only, writes nothing

It writes, under fixtures/dpn/:

* manifests/<prefix>.json for every released cypw checkpoint (DPN.md §1.1): the exact `arg:`/`aux:`
  keys and shapes, in the order `mx.model.save_checkpoint` writes them, from the full-size symbol's
  infer_shape at 1x3x224x224, plus the parameter count and the size of the V0-layout file
  (FORMAT.md §2, §4.1) holding exactly those keys;
* tiny DPNs with random non-trivial weights: <name>-symbol.json + <name>-0000.params (V2 records, via
  mx.model.save_checkpoint), for some a byte-by-byte V0-layout copy <name>_v0-0000.params checked
  bit for bit through mx.nd.load, MXNet's logits in <name>.expected.npz and the provenance in
  <name>.json.

The symbol builder follows cypw/DPNs `settings/symbol_basic.py`, `symbol_dpn.py` and
`symbol_dpn_b.py` op for op, with the same op names (hence the same parameter names, DPN.md §5.2),
but is parameterised (stem, widths, depths, groups, b, classifier) so that tiny networks can be made.
It is deterministic: fixed seeds, so a re-run rewrites every file identically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass

import mxnet as mx
import numpy as np

import ndbytes  # tools/ndbytes.py, beside this script

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from dpn_torch.config import MODEL_CONFIGS, DPNConfig  # noqa: E402  (the standard library only; no torch)

OUT_DIR = os.path.join(REPO, "fixtures", "dpn")
MANIFEST_DIR = os.path.join(OUT_DIR, "manifests")

BN_EPS = 1e-3  # MXNet's default; written explicitly so that the symbol JSON shows it
BN_MOMENTUM = 0.9  # cypw symbol_basic.bn_momentum
MAX_TINY_PARAMS_BYTES = 300 * 1024  # per .params file
MAX_TOTAL_PARAMS_BYTES = 2 * 1024 * 1024  # all tiny .params files together
MAX_FILE_BYTES = 2 * 1024 * 1024  # any single fixture file (docs/FIXTURES.md: "well under 2 MiB per file")
# Test inputs: N(0,1) draws rounded to multiples of 1/INPUT_GRID (exact in float32). Full-entropy
# float32 noise would be 3.7 MB per model (3.4 MB deflated); on the 1/8 grid it deflates to ~1 MB.
INPUT_SEED = 2017
INPUT_GRID = 8


# prefix -> (variant, num_classes, classifier)   (DPN.md §1.1)
RELEASED = {
    "dpn68": ("dpn68", 1000, "fc6"),
    "dpn68-extra": ("dpn68b", 1000, "fc6-1k"),
    "dpn68-5k": ("dpn68b", 4786, "fc6"),
    "dpn92": ("dpn92", 1000, "fc6"),
    "dpn92-extra": ("dpn92", 1000, "fc6-1k"),
    "dpn92-5k": ("dpn92", 4786, "fc6"),
    "dpn98": ("dpn98", 1000, "fc6"),
    "dpn131": ("dpn131", 1000, "fc6"),
    "dpn107-extra": ("dpn107", 1000, "fc6-1k"),
}

# What DPN.md states, to be checked against what the symbols give.
DPN_MD_EXPECTED = {
    # prefix: (n_arg, n_aux, n_params or None, v0 bytes)
    "dpn68": (217, 144, 12_611_602, 50_731_221),
    "dpn68-extra": (239, 144, 12_611_602, 50_732_550),
    "dpn68-5k": (239, 144, 15_765_340, 63_347_496),
    "dpn92": (289, 192, 37_668_392, 151_206_965),
    "dpn92-extra": (289, 192, 37_668_392, 151_206_971),
    "dpn92-5k": (289, 192, 47_848_946, 191_929_181),
    "dpn98": (307, 204, 61_570_728, 246_977_045),
    "dpn131": (406, 270, 79_254_504, 317_957_213),
    "dpn107-extra": (334, 222, 86_917_800, 348_564_075),
}
DPN_MD_V2_DPN68 = 50_736_409  # "A V2 re-save adds 8 + 4*ndim bytes per array (dpn68 -> ...)"


@dataclass(frozen=True)
class TinySpec:
    name: str
    config: DPNConfig  # b and num_classes included
    classifier: str
    seed: int
    v0_copy: bool


def _tiny(small, init, k_r, groups, k_sec, inc_sec, bw_base, b, num_classes):
    return DPNConfig(small=small, num_init_features=init, k_r=k_r, groups=groups, b=b, k_sec=k_sec,
                     inc_sec=inc_sec, num_classes=num_classes, bw_base=bw_base)


TINY = [
    TinySpec("tiny68", _tiny(True, 8, 8, 4, (1, 2, 2, 1), (4, 8, 8, 16), 16, False, 10), "fc6", 6801, True),
    TinySpec("tiny68b-extra", _tiny(True, 8, 8, 4, (1, 2, 2, 1), (4, 8, 8, 16), 16, True, 10),
             "fc6-1k", 6802, True),
    TinySpec("tiny92", _tiny(False, 16, 8, 4, (1, 1, 2, 1), (4, 8, 6, 16), 4, False, 7), "fc6", 9201, False),
    TinySpec("tiny92-5k", _tiny(False, 12, 8, 8, (2, 1, 1, 2), (2, 4, 4, 8), 2, False, 13),
             "fc6", 9202, True),
]


def config_json(cfg: DPNConfig) -> dict:
    """The "config" of a fixture's JSON (the names of DPN.md's tables: init_ch, G)."""
    return {"small": cfg.small, "init_ch": cfg.num_init_features, "k_r": cfg.k_r, "G": cfg.groups,
            "k_sec": list(cfg.k_sec), "inc_sec": list(cfg.inc_sec), "bw_base": cfg.bw_base}


# ----------------------------------------------------------------------------------------------
# Symbol builder: cypw's op names, parameterised.
# ----------------------------------------------------------------------------------------------

def _bn(data, name):
    """cypw BN(name=N): a BatchNorm named N__bn (keys N__bn_gamma, ..., N__bn_moving_var)."""
    return mx.sym.BatchNorm(data=data, fix_gamma=False, eps=BN_EPS, momentum=BN_MOMENTUM,
                            name="%s__bn" % name)


def _relu(data, name):
    return mx.sym.Activation(data=data, act_type="relu", name="%s__relu" % name)


def _conv(data, name, num_filter, kernel, stride=1, pad=0, num_group=1):
    """cypw Conv(name=N): a bias-free Convolution named N__conv (key N__conv_weight)."""
    return mx.sym.Convolution(data=data, num_filter=num_filter, num_group=num_group,
                              kernel=(kernel, kernel), stride=(stride, stride), pad=(pad, pad),
                              no_bias=True, name="%s__conv" % name)


def _bn_ac(data, name):
    """cypw BN_AC(name=N): BN N -> ReLU (single __bn in the keys)."""
    return _relu(_bn(data, name), name)


def _bn_ac_conv(data, name, num_filter, kernel, stride=1, pad=0, num_group=1):
    """cypw BN_AC_Conv(name=N): BN N__bn -> ReLU N__ac -> Conv N (double __bn__bn in the keys)."""
    x = _bn(data, "%s__bn" % name)
    x = _relu(x, "%s__ac" % name)
    return _conv(x, name, num_filter, kernel, stride, pad, num_group)


def _dual_path_block(data, name, r, bw, inc, G, block_type, b):
    """cypw DualPathFactory (symbol_dpn.py, or symbol_dpn_b.py when b) with num_1x1_a = num_3x3_b = r."""
    stride = 2 if block_type == "down" else 1
    has_proj = block_type in ("proj", "down")
    if isinstance(data, list):
        data_in = mx.sym.Concat(data[0], data[1], dim=1, name="%s_cat-input" % name)
    else:
        data_in = data
    if has_proj:
        wname = "%s_c1x1-w(s/%d)" % (name, stride)
        w = _bn_ac_conv(data_in, wname, bw + 2 * inc, 1, stride=stride)
        resid_in = mx.sym.slice_axis(w, axis=1, begin=0, end=bw, name=wname + "-split1")
        dense_in = mx.sym.slice_axis(w, axis=1, begin=bw, end=bw + 2 * inc, name=wname + "-split2")
    else:
        resid_in, dense_in = data
    a = _bn_ac_conv(data_in, "%s_c1x1-a" % name, r, 1)
    m = _bn_ac_conv(a, "%s_c3x3-b" % name, r, 3, stride=stride, pad=1, num_group=G)
    if b:
        c = _bn_ac(m, "%s_c1x1-c" % name)
        y_res = _conv(c, "%s_c1x1-c1" % name, bw, 1)
        y_dense = _conv(c, "%s_c1x1-c2" % name, inc, 1)
    else:
        c = _bn_ac_conv(m, "%s_c1x1-c" % name, bw + inc, 1)
        y_res = mx.sym.slice_axis(c, axis=1, begin=0, end=bw, name="%s_c1x1-c-split1" % name)
        y_dense = mx.sym.slice_axis(c, axis=1, begin=bw, end=bw + inc, name="%s_c1x1-c-split2" % name)
    resid = mx.sym.ElementWiseSum(resid_in, y_res, name="%s_sum" % name)
    dense = mx.sym.Concat(dense_in, y_dense, dim=1, name="%s_cat" % name)
    return [resid, dense]


def dpn_before_pool(cfg: DPNConfig):
    """cypw get_before_pool(): stem, conv2..conv5, conv5_x_x__relu-sp (BN + ReLU of the concat)."""
    data = mx.sym.Variable("data")
    if cfg.small:
        x = _conv(data, "conv1_x_1", cfg.num_init_features, 3, stride=2, pad=1)
    else:
        x = _conv(data, "conv1_x_1", cfg.num_init_features, 7, stride=2, pad=3)
    x = _bn_ac(x, "conv1_x_1__relu-sp")
    x = mx.sym.Pooling(data=x, pool_type="max", kernel=(3, 3), pad=(1, 1), stride=(2, 2), name="pool1")
    for s, width in enumerate(cfg.stage_widths()):
        bw, inc, r = width["bw"], width["inc"], width["r"]
        for i in range(1, cfg.k_sec[s] + 1):
            block_type = ("proj" if s == 0 else "down") if i == 1 else "normal"
            x = _dual_path_block(x, "conv%d_x__%d" % (s + 2, i), r, bw, inc, cfg.groups, block_type, cfg.b)
    x = mx.sym.Concat(x[0], x[1], dim=1, name="conv5_x_x_cat-final")
    return _bn_ac(x, "conv5_x_x__relu-sp")


def dpn_linear(cfg: DPNConfig, classifier: str):
    """cypw get_linear(): 7x7/s1 avg pool -> Flatten -> FullyConnected `classifier` (pre-softmax)."""
    x = mx.sym.Pooling(data=dpn_before_pool(cfg), pool_type="avg", kernel=(7, 7), stride=(1, 1),
                       name="pool5")
    x = mx.sym.Flatten(data=x, name="flatten")
    return mx.sym.FullyConnected(data=x, num_hidden=cfg.num_classes, name=classifier)


def dpn_symbol(cfg: DPNConfig, classifier: str):
    """cypw get_symbol(): get_linear() -> SoftmaxOutput 'softmax' (what a training checkpoint holds)."""
    return mx.sym.SoftmaxOutput(data=dpn_linear(cfg, classifier), name="softmax")


def dpn_meanmax(cfg: DPNConfig, classifier: str, image_size: int):
    """cypw score.py's test-time head: avg 7x7/s1 -> 1x1 conv `classifier` -> (avg + max) / 2."""
    k = image_size // 32 - 6  # score.py mean_max_pooling_size
    x = mx.sym.Pooling(data=dpn_before_pool(cfg), pool_type="avg", kernel=(7, 7), stride=(1, 1),
                       pad=(0, 0), name="avg_pool")
    x = mx.sym.Convolution(data=x, num_filter=cfg.num_classes, kernel=(1, 1), no_bias=False, name=classifier)
    p1 = mx.sym.Flatten(mx.sym.Pooling(data=x, pool_type="avg", kernel=(k, k), stride=(1, 1), pad=(0, 0),
                                       name="out_pool1"))
    p2 = mx.sym.Flatten(mx.sym.Pooling(data=x, pool_type="max", kernel=(k, k), stride=(1, 1), pad=(0, 0),
                                       name="out_pool2"))
    return (p1 + p2) / 2.0


# ----------------------------------------------------------------------------------------------
# Keys, shapes, V0 files
# ----------------------------------------------------------------------------------------------

INPUT_NAMES = ("data", "softmax_label")


def checkpoint_keys(sym, image_size=224):
    """[(key, shape)] in save_checkpoint order: arg: (list_arguments order) then aux:."""
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, image_size, image_size))
    keys = [("arg:" + n, tuple(s)) for n, s in zip(sym.list_arguments(), arg_shapes) if n not in INPUT_NAMES]
    keys += [("aux:" + n, tuple(s)) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)]
    return keys


def v0_file_bytes(keys) -> int:
    """Size of the legacy container (FORMAT.md §2) holding float32 V0 records (§4.1) with these keys."""
    total = 8 + 8 + 8  # header 0x112, reserved, n_arrays
    for _, shape in keys:
        total += 4 + 4 * len(shape) + 8 + 4 + 4 * int(np.prod(shape))  # ndim, dims, ctx, type, data
    total += 8  # n_names
    total += sum(8 + len(k.encode("utf-8")) for k, _ in keys)
    return total


def v2_file_bytes(keys) -> int:
    """Same, with V2 records (§4.3): + magic, stype, and i64 instead of u32 dims."""
    return v0_file_bytes(keys) + sum(8 + 4 * len(s) for _, s in keys)


def write_v0(path, items):
    """Write [(name, float32 array)] as a legacy container of V0 records (FORMAT.md §2, §4.1), by hand."""
    for _, a in items:
        assert a.dtype == np.float32 and a.ndim > 0
    return ndbytes.write_v0(path, dict(items))


def n_params_of(keys) -> int:
    return sum(int(np.prod(s)) for k, s in keys if k.startswith("arg:"))


# ----------------------------------------------------------------------------------------------
# Full-size manifests
# ----------------------------------------------------------------------------------------------

def check_dpn92_first():
    sym = dpn_symbol(MODEL_CONFIGS["dpn92"], "fc6")
    keys = checkpoint_keys(sym)
    n = n_params_of(keys)
    assert n == 37_668_392, "dpn92 builder gives %d params, DPN.md says 37,668,392" % n
    print("dpn92 builder check: %d params (DPN.md 37,668,392) OK" % n, file=sys.stderr)


def make_manifests(write: bool):
    report = []
    ok_all = True
    for prefix, (network, num_classes, classifier) in RELEASED.items():
        cfg = MODEL_CONFIGS[network].with_classes(num_classes)
        sym = dpn_symbol(cfg, classifier)
        keys = checkpoint_keys(sym)
        n_arg = sum(k.startswith("arg:") for k, _ in keys)
        n_aux = sum(k.startswith("aux:") for k, _ in keys)
        n_params = n_params_of(keys)
        v0 = v0_file_bytes(keys)
        exp = DPN_MD_EXPECTED[prefix]
        got = (n_arg, n_aux, n_params, v0)
        ok = got == exp
        ok_all &= ok
        report.append((prefix, got, exp, ok))
        manifest = {
            "prefix": prefix,
            "network": network,
            "num_classes": num_classes,
            "classifier": classifier,
            "b": cfg.b,
            "config": config_json(cfg),
            "n_arg": n_arg,
            "n_aux": n_aux,
            "n_params": n_params,
            "v0_file_bytes": v0,
            "keys": [[k, list(s)] for k, s in keys],
        }
        if write:
            os.makedirs(MANIFEST_DIR, exist_ok=True)
            with open(os.path.join(MANIFEST_DIR, prefix + ".json"), "w") as f:
                json.dump(manifest, f, indent=None, separators=(",", ":"))
                f.write("\n")
        if prefix == "dpn68":
            v2 = v2_file_bytes(keys)
            print("dpn68 V2 re-save size: %d (DPN.md %d) %s"
                  % (v2, DPN_MD_V2_DPN68, "OK" if v2 == DPN_MD_V2_DPN68 else "MISMATCH"), file=sys.stderr)
    for prefix, got, exp, ok in report:
        print("%-13s arg %3d aux %3d params %11s V0 %12s bytes   %s%s" % (
            prefix, got[0], got[1], format(got[2], ","), format(got[3], ","),
            "OK" if ok else "MISMATCH vs DPN.md ", "" if ok else str(exp)), file=sys.stderr)
    return ok_all


# ----------------------------------------------------------------------------------------------
# Tiny checkpoints
# ----------------------------------------------------------------------------------------------

def random_params(keys, rng):
    """Non-trivial random weights in key order: He-normal convs, BN gamma/beta/stats, random fc."""
    arg, aux = {}, {}
    for key, shape in keys:
        kind, name = key.split(":", 1)
        if name.endswith("_conv_weight"):
            fan_in = int(np.prod(shape[1:]))  # (in/G)*kh*kw
            a = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        elif name.endswith("_gamma"):
            a = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("_beta"):
            a = rng.normal(0.0, 0.2, shape)
        elif name.endswith("_moving_mean"):
            a = rng.normal(0.0, 0.2, shape)
        elif name.endswith("_moving_var"):
            a = rng.uniform(0.5, 2.0, shape)
        elif name.endswith("_weight"):  # classifier (C, F)
            a = rng.normal(0.0, 1.0 / np.sqrt(shape[1]), shape)
        elif name.endswith("_bias"):
            a = rng.normal(0.0, 0.1, shape)
        else:
            raise ValueError("unexpected parameter " + key)
        (arg if kind == "arg" else aux)[name] = mx.nd.array(a.astype(np.float32), dtype=np.float32)
    return arg, aux


def make_inputs():
    """The shared test inputs (2x3x224x224, 2x3x320x320), float32, reproducible from INPUT_SEED."""
    rng = np.random.RandomState(INPUT_SEED)
    x224 = np.round(rng.normal(0.0, 1.0, (2, 3, 224, 224)) * INPUT_GRID) / INPUT_GRID
    x320 = np.round(rng.normal(0.0, 1.0, (2, 3, 320, 320)) * INPUT_GRID) / INPUT_GRID
    return x224.astype(np.float32), x320.astype(np.float32)


def forward(sym, arg, aux, x):
    """Inference-mode forward (BN on moving stats) on the CPU; returns a float32 numpy array."""
    args = dict(arg)
    args["data"] = mx.nd.array(x, dtype=np.float32)
    exe = sym.bind(mx.cpu(), args=args, aux_states=dict(aux), grad_req="null")
    return exe.forward(is_train=False)[0].asnumpy().astype(np.float32)


def save_npz(path, **arrays):
    """np.savez_compressed, but with fixed zip timestamps so that a re-run is byte-identical."""
    ndbytes.write_npz(path, arrays, deflate=True, zip64=True)


def meanmax_numpy(features, weight, bias):
    """score.py's head in plain numpy, from MXNet's pre-pool features: an independent cross-check."""
    n, c, h, w = features.shape
    k = 7
    pooled = np.zeros((n, c, h - k + 1, w - k + 1), np.float64)
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            pooled[:, :, i, j] = features[:, :, i:i + k, j:j + k].mean(axis=(2, 3))
    scores = np.einsum("nfhw,cf->nchw", pooled, weight.astype(np.float64)) + bias[None, :, None, None]
    return 0.5 * (scores.mean(axis=(2, 3)) + scores.max(axis=(2, 3)))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_symbol_json(path, n_bn_expected):
    """Every BatchNorm in the saved symbol has fix_gamma False and eps 0.001."""
    with open(path) as f:
        graph = json.load(f)
    bns = [n for n in graph["nodes"] if n["op"] == "BatchNorm"]
    assert len(bns) == n_bn_expected, (len(bns), n_bn_expected)
    for n in bns:
        attrs = n.get("attrs", {})
        assert attrs.get("fix_gamma") == "False" and float(attrs.get("eps")) == 1e-3, n
    return len(bns)


def make_tiny(spec: TinySpec):
    cfg = spec.config
    name = spec.name
    sym = dpn_symbol(cfg, spec.classifier)
    keys = checkpoint_keys(sym)
    rng = np.random.RandomState(spec.seed)
    arg, aux = random_params(keys, rng)

    prefix = os.path.join(OUT_DIR, name)
    mx.model.save_checkpoint(prefix, 0, sym, arg, aux)
    params_path = prefix + "-0000.params"
    symbol_path = prefix + "-symbol.json"
    n_bn = check_symbol_json(symbol_path, sum(k.startswith("aux:") for k, _ in keys) // 2)

    # What MXNet reads back from its own file: keys in order and bit-exact arrays.
    loaded = mx.nd.load(params_path)
    assert list(loaded) == [k for k, _ in keys], "save_checkpoint key order differs from manifest order"
    items = []
    for k, s in keys:
        src = (arg if k.startswith("arg:") else aux)[k.split(":", 1)[1]].asnumpy()
        got = loaded[k].asnumpy()
        assert got.dtype == np.float32 and got.shape == s and got.tobytes() == src.tobytes(), k
        items.append((k, src))
    assert os.path.getsize(params_path) == v2_file_bytes(keys)

    v0_path = None
    if spec.v0_copy:
        v0_path = os.path.join(OUT_DIR, name + "_v0-0000.params")
        n = write_v0(v0_path, items)
        assert n == v0_file_bytes(keys)
        back = mx.nd.load(v0_path)
        assert list(back) == [k for k, _ in items]
        for k, a in items:
            b = back[k].asnumpy()
            assert b.dtype == np.float32 and b.shape == a.shape and b.tobytes() == a.tobytes(), k

    # Logits.
    x224, x320 = make_inputs()
    linear = dpn_linear(cfg, spec.classifier)
    logits_224 = forward(linear, arg, aux, x224)

    mm = dpn_meanmax(cfg, spec.classifier, 320)
    arg_mm = dict(arg)
    w = arg[spec.classifier + "_weight"]
    arg_mm[spec.classifier + "_weight"] = w.reshape(w.shape + (1, 1))
    logits_320 = forward(mm, arg_mm, aux, x320)
    # At 224 the mean-max head equals the plain head (DPN.md §3.2): a cross-check of both heads.
    mm224 = forward(dpn_meanmax(cfg, spec.classifier, 224), arg_mm, aux, x224)
    np.testing.assert_allclose(mm224, logits_224, rtol=1e-5, atol=1e-5)

    feats = forward(dpn_before_pool(cfg), arg, aux, x320)
    assert feats.shape[2:] == (10, 10), feats.shape
    ref = meanmax_numpy(feats, w.asnumpy(), arg[spec.classifier + "_bias"].asnumpy())
    np.testing.assert_allclose(logits_320, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    for a in (logits_224, logits_320):
        assert a.dtype == np.float32 and np.all(np.isfinite(a))
    assert logits_224.shape == (2, cfg.num_classes) and logits_320.shape == (2, cfg.num_classes)
    # The inputs are not stored (3.7 MB per model): np.random.RandomState streams are stable
    # across numpy versions, so tests regenerate them from INPUT_SEED and check these hashes.
    save_npz(prefix + ".expected.npz", logits_224=logits_224, logits_320_meanmax=logits_320)

    n_params = n_params_of(keys)
    info = {
        "name": name,
        "network": name,
        "b": cfg.b,
        "classifier": spec.classifier,
        "num_classes": cfg.num_classes,
        "config": config_json(cfg),
        "stages": cfg.stage_widths(),
        "final_channels": cfg.num_features,
        "bn_eps": BN_EPS,
        "bn_fix_gamma": False,
        "n_arg": sum(k.startswith("arg:") for k, _ in keys),
        "n_aux": sum(k.startswith("aux:") for k, _ in keys),
        "n_bn": n_bn,
        "n_params": n_params,
        "keys": [[k, list(s)] for k, s in keys],
        "files": {
            os.path.basename(p): {"bytes": os.path.getsize(p), "sha256": sha256(p)}
            for p in (params_path, symbol_path, v0_path, prefix + ".expected.npz") if p
        },
        "inputs_sha256": {
            "input_224": hashlib.sha256(np.ascontiguousarray(x224).tobytes()).hexdigest(),
            "input_320": hashlib.sha256(np.ascontiguousarray(x320).tobytes()).hexdigest(),
        },
        "logits_stats": {
            "logits_224_std": float(logits_224.std()),
            "logits_320_meanmax_std": float(logits_320.std()),
        },
        "provenance": {
            "mxnet_version": mx.__version__,
            "numpy_version": np.__version__,
            "python": sys.version.split()[0],
            "script": "tools/make_dpn_fixtures.py",
            "seed_params": spec.seed,
            "seed_inputs": INPUT_SEED,
            "weights": "np.random.RandomState(seed_params), keys in file order: conv weights "
                       "N(0, sqrt(2/fan_in)) with fan_in = (in/G)*kh*kw; BN gamma U(0.5,1.5), beta N(0,0.2), "
                       "moving_mean N(0,0.2), moving_var U(0.5,2.0); classifier weight N(0, 1/sqrt(F)), "
                       "bias N(0,0.1); float32",
            "inputs": "rng = np.random.RandomState(seed_inputs); input_224 = round(rng.normal(0,1,(2,3,224,224))*8)/8, "
                      "then input_320 = round(rng.normal(0,1,(2,3,320,320))*8)/8, as float32 (the same inputs "
                      "for every tiny model; not stored: regenerate them this way and compare inputs_sha256)",
            "params_file": "mx.model.save_checkpoint(prefix, 0, symbol, arg_params, aux_params) -> V2 records; "
                           "symbol = cypw get_symbol() (… FullyConnected -> SoftmaxOutput 'softmax'); "
                           "read back with mx.nd.load, bit-exact",
            "v0_file": ("written byte by byte (FORMAT.md §2, §4.1: u32 ndim, u32 dims, ctx (1,0), i32 type 0, "
                        "data; names after all records), same keys and order; read back with mx.nd.load, "
                        "bit-exact") if spec.v0_copy else None,
            "logits_224": "cypw get_linear(): before_pool -> Pooling avg 7x7 s1 -> Flatten -> FullyConnected; "
                          "Symbol.bind(mx.cpu(), grad_req='null').forward(is_train=False); pre-softmax",
            "logits_320_meanmax": "cypw score.py head: before_pool -> Pooling avg 7x7 s1 -> Convolution 1x1 "
                                  "(classifier weight reshaped (C,F,1,1), bias) -> 0.5*(Pooling avg 4x4 + "
                                  "Pooling max 4x4) flattened; forward(is_train=False); pre-softmax",
        },
    }
    with open(prefix + ".json", "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    size = os.path.getsize(params_path)
    assert size < MAX_TINY_PARAMS_BYTES, (name, size)
    print("%-14s params %7d  file %7d B  arg %3d aux %3d  logits224 std %.3f  320mm std %.3f" % (
        name, n_params, size, info["n_arg"], info["n_aux"], logits_224.std(), logits_320.std()),
        file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check the full-size symbols; write nothing")
    args = ap.parse_args(argv)
    assert mx.__version__ == "1.9.1", mx.__version__
    check_dpn92_first()
    ok = make_manifests(write=not args.check)
    if args.check:
        return 0 if ok else 1
    os.makedirs(OUT_DIR, exist_ok=True)
    for spec in TINY:
        make_tiny(spec)
    total = params_total = 0
    for root, _, files in os.walk(OUT_DIR):
        for f in files:
            size = os.path.getsize(os.path.join(root, f))
            assert size < MAX_FILE_BYTES, (f, size)
            total += size
            params_total += size if f.endswith(".params") else 0
    print("fixtures/dpn: .params total %d bytes, everything %d bytes" % (params_total, total), file=sys.stderr)
    assert params_total < MAX_TOTAL_PARAMS_BYTES, params_total
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
