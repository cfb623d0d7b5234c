"""Oracle side of tools/make_ndparse_fixtures.py.  Runs INSIDE an MXNet venv:

    .oracle19/bin/python tools/_ndparse_oracle.py v19 OUTDIR     (mxnet 1.9.1)
    .oracle20/bin/python tools/_ndparse_oracle.py v20 OUTDIR     (mxnet 2.0.0b1)
    <venv>/bin/python tools/_ndparse_oracle.py probe np_on|np_off LOADER FILE
        (prints one JSON line describing what MXNet does with FILE; used in a
         subprocess for loads that may misbehave, and for cross-version checks)

Never imported by ndparse or its tests.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ndparse_fixlib import Entry, write_expected, zero_zip_times  # noqa: E402
from ndbytes import (  # noqa: E402
    BF16, V2, V3, container, context, csr, header, i32, none_v0, none_v1, none_v2, none_v3_dim, npy, row_sparse, shape64, u32, v0, v1, v2)

import mxnet as mx  # noqa: E402
from mxnet import npx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV19 = os.path.join(REPO, ".oracle19", "bin", "python")
VENV20 = os.path.join(REPO, ".oracle20", "bin", "python")
REALWORLD = os.path.join(REPO, "fixtures", "ndparse")  # the committed copies, realworld_<original name>
MXV = mx.__version__.replace("beta", "b")  # "1.9.1" / "2.0.0b1"
TAG = "mxnet " + MXV

OUT = None


def P(name):
    return os.path.join(OUT, name)


def wbytes(name, b):
    with open(P(name), "wb") as f:
        f.write(b)


def rbytes(name):
    with open(P(name), "rb") as f:
        return f.read()


# ------------------------------------------------------------------ MXNet helpers
def errtext(e):
    """Deterministic one-line form of an exception raised by MXNet."""
    s = str(e)
    lines = [ln for ln in s.splitlines() if ln.strip()]
    loc = None
    for ln in lines:
        t = ln.strip()
        if t.startswith('File "') and ", line " in t:
            loc = t[6:].replace('", line ', ":")
    msg = None
    for i, ln in enumerate(lines):
        if ln.startswith("MXNetError: ") or ln.startswith("LocalFileSystem: "):
            msg = "\n".join(lines[i:])
            break
    if msg is None:
        msg = "%s: %s" % (type(e).__name__, s)
    msg = msg.split("\nStack trace")[0].strip()
    return msg + (" [at %s]" % loc if loc else "")


def mx_to_entry(x, name=None):
    st = x.stype
    if st == "default":
        return Entry.dense(x.asnumpy(), name=name)
    if st == "row_sparse":
        return Entry.row_sparse(x.data.asnumpy(), x.indices.asnumpy(), x.shape, name=name)
    if st == "csr":
        return Entry.csr(x.data.asnumpy(), x.indptr.asnumpy(), x.indices.asnumpy(), x.shape, name=name)
    raise ValueError(st)


def result_entries(res):
    """(kind, entries, note) from whatever mx.nd.load / npx.load returned."""
    if isinstance(res, dict):
        return "dict", [mx_to_entry(v, k) for k, v in res.items()], "returned a dict"
    if isinstance(res, (list, tuple)):
        return "list", [mx_to_entry(v) for v in res], "returned a %s" % type(res).__name__
    return "list", [mx_to_entry(res)], "returned a bare %s (recorded as a one-entry list)" % type(res).__name__


def summarize(kind, entries, maxvals=6):
    parts = []
    for e in entries:
        if e.stype == "none":
            parts.append("%s: none" % (e.name,))
            continue
        d = e.arrays["data"].ravel()
        vals = ", ".join(repr(v) for v in d[:maxvals].tolist()) + (", ..." if d.size > maxvals else "")
        s = "%s%s %s %s [%s]" % ("" if e.name is None else repr(e.name) + ": ", e.stype, e.dtype,
                                 tuple(e.shape), vals)
        parts.append(s)
    return "returned %s of %d: %s" % (kind, len(entries), "; ".join(parts))


def do_load(path, np_on, loader="nd.load"):
    """Load with MXNet in the requested np-shape mode; restores legacy mode afterwards."""
    if MXV.startswith("2"):
        if np_on:
            npx.set_np()
        else:
            npx.reset_np()
    elif np_on:
        npx.set_np()
    try:
        if loader == "nd.load":
            res = mx.nd.load(path)
        elif loader == "npx.load":
            res = npx.load(path)
        elif loader == "setstate":
            with open(path, "rb") as f:
                b = f.read()
            # like unpickling: the class is chosen by the pickler, here from the record's stype
            stype = int.from_bytes(b[4:8], "little", signed=True)
            if np_on:
                cls = mx.np.ndarray
            else:
                cls = {1: mx.nd.sparse.RowSparseNDArray, 2: mx.nd.sparse.CSRNDArray}.get(stype, mx.nd.NDArray)
            res = cls(handle=None)
            res.__setstate__({"handle": bytearray(b)})
        else:
            raise ValueError(loader)
        return result_entries(res)
    finally:
        if MXV.startswith("2"):
            npx.set_np()
        else:
            npx.reset_np()


def read_by_text(np_on, loader, version=None):
    v = version or MXV
    what = {"nd.load": "mx.nd.load", "npx.load": "mx.npx.load",
            "setstate": "NDArray.__setstate__({'handle': bytes})"}[loader]
    if np_on:
        mode = "np_shape on, npx.set_np()"
    else:
        mode = "np_shape off" + (", after npx.reset_np()" if v.startswith("2") else "")
    return "mxnet %s %s (%s)" % (v, what, mode)


def probe(path, np_on, loader, venv=None, dump=None):
    """Run the load in a fresh subprocess (of venv, default: this one). Returns dict.

    With dump=DIR, a successful load is also written to DIR/probe.expected.{json,npz}."""
    exe = venv or sys.executable
    cmd = [exe, os.path.abspath(__file__), "probe", "np_on" if np_on else "np_off", loader, path]
    if dump:
        cmd.append(dump)
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return {"ok": False, "text": "did not finish within 300 s"}
    for ln in cp.stdout.splitlines()[::-1]:
        if ln.startswith("PROBE "):
            return json.loads(ln[6:])
    sig = -cp.returncode if cp.returncode < 0 else None
    return {"ok": False, "text": "process died (%s); stderr tail: %s" % (
        "signal %d" % sig if sig else "exit %d" % cp.returncode, cp.stderr.strip()[-300:])}


def probe_main(np_on, loader, path, dump=None):
    try:
        kind, entries, note = do_load(path, np_on == "np_on", loader)
        out = {"ok": True, "text": "%s; %s" % (note, summarize(kind, entries))}
        if dump:
            write_expected(dump, "probe", path, "", "", kind, entries, "", "")
    except Exception as e:  # noqa: BLE001
        out = {"ok": False, "text": "raised " + errtext(e)}
    sys.stdout.write("PROBE " + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)


def same_entries(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x.name, x.stype, x.dtype, list(x.shape or []) if x.shape is not None else None) != \
                (y.name, y.stype, y.dtype, list(y.shape or []) if y.shape is not None else None):
            return False
        if sorted(x.arrays) != sorted(y.arrays):
            return False
        for k in x.arrays:
            p, q = x.arrays[k], y.arrays[k]
            if p.dtype != q.dtype or p.shape != q.shape or p.tobytes() != q.tobytes():
                return False
    return True


def load_dump(d):
    with open(os.path.join(d, "probe.expected.json"), encoding="utf-8") as f:
        doc = json.load(f)
    z = np.load(os.path.join(d, "probe.expected.npz"))
    ents = [Entry(e["name"], e["stype"], e["dtype"], e["shape"], {k: z[v] for k, v in e["arrays"].items()})
            for e in doc["entries"]]
    return doc["kind"], ents


def case(name, file, written_by, description, np_on=False, loader="nd.load", expect="mxnet",
         spec=None, spec_kind=None, extra=None, note=""):
    """Record one fixture.

    expect="mxnet": expected = MXNet's readback (in-process); if spec is given it must agree bit for bit.
    expect="spec":  expected = spec (what FORMAT.md says); MXNet's behaviour (subprocess) recorded.
    expect="error": kind "error"; MXNet must fail; its message is recorded.
    """
    path = P(file)
    rb = read_by_text(np_on, loader)
    if expect == "mxnet":
        kind, entries, how = do_load(path, np_on, loader)
        beh = "loaded OK; %s" % how
        if spec is not None:
            if not same_entries(entries, spec) or (spec_kind and spec_kind != kind):
                raise AssertionError("case %s: MXNet readback differs from spec:\n%s\n%s" % (
                    name, summarize(kind, entries), summarize(spec_kind or kind, spec)))
            beh += "; bit-identical to the arrays the file was built from"
    elif expect == "spec":
        kind, entries = spec_kind, spec
        dump = P("_probe_tmp")
        os.makedirs(dump, exist_ok=True)
        r = probe(path, np_on, loader, dump=dump)
        beh = ("MXNet %s: " % MXV) + r["text"]
        if r["ok"]:
            pk, pe = load_dump(dump)
            beh += ("; MXNet's values MATCH this expectation" if same_entries(pe, spec) and pk == spec_kind
                    else "; MXNet's result DIFFERS from this expectation (misread)")
        shutil.rmtree(dump)
    elif expect == "error":
        kind, entries = "error", []
        r = probe(path, np_on, loader)
        if r["ok"]:
            raise AssertionError("case %s: MXNet unexpectedly loaded it: %s" % (name, r["text"]))
        beh = r["text"]
    else:
        raise ValueError(expect)
    if note:
        beh += "; " + note
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        import zipfile
        stamped = zero_zip_times(path)  # no-op unless MXNet put a wall-clock stamp in it
        assert not stamped, "case %s: wall-clock zip stamps in %s; zero them explicitly" % (name, stamped)
        extra = dict(extra or {})
        extra["zip_members"] = zipfile.ZipFile(path).namelist()
    write_expected(OUT, name, file, written_by, rb, kind, entries, beh, description, extra)
    print("  %-40s %-6s %s" % (name, kind, beh[:110]))


# ------------------------------------------------------------------ data
def rng(seed):
    return np.random.default_rng(seed)


F32_SPECIAL = np.array([
    0x7FC00000, 0x7FC12345, 0x7F800001, 0x7FA00000, 0xFFC00000, 0xFF812345, 0xFFFFFFFF,
    0x7F800000, 0xFF800000, 0x80000000, 0x00000000, 0x00000001, 0x807FFFFF, 0x00800000,
    0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000], dtype="<u4").view("<f4")
F64_SPECIAL = np.array([
    0x7FF8000000000000, 0x7FF8000000012345, 0x7FF0000000000001, 0x7FF4000000000000,
    0xFFF8000000000000, 0xFFF0000000ABCDEF, 0xFFFFFFFFFFFFFFFF, 0x7FF0000000000000,
    0xFFF0000000000000, 0x8000000000000000, 0x0000000000000000, 0x0000000000000001,
    0x800FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
    0x3FF0000000000000, 0xBFF0000000000000], dtype="<u8").view("<f8")
F16_SPECIAL = np.array([
    0x7E00, 0x7E55, 0x7C01, 0x7D00, 0xFE00, 0xFC01, 0xFFFF, 0x7C00, 0xFC00, 0x8000, 0x0000,
    0x0001, 0x83FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0xBC00], dtype="<u2").view("<f2")
BF16_SPECIAL_BITS = np.array([
    0x3F80, 0x4000, 0xC060, 0x7FC0, 0x7FC1, 0x7F81, 0xFFC0, 0x7F80, 0xFF80, 0x8000, 0x0000,
    0x0001, 0x807F, 0x0080, 0x7F7F, 0xFF7F], dtype="<u2")


def int_limits(dt):
    ii = np.iinfo(dt)
    return np.array([ii.min, ii.max, 0, 1, ii.max - 1, ii.min + 1 if ii.min else 2], dtype=dt)


def dtype_dict(dt, seed):
    r = rng(seed)
    dt = np.dtype(dt)
    if dt == np.float32:
        return {"special": F32_SPECIAL.copy(), "rand_2x3x4": r.standard_normal((2, 3, 4)).astype(dt),
                "one": np.array([0.5], dt)}
    if dt == np.float64:
        return {"special": F64_SPECIAL.copy(), "rand_3x5": r.standard_normal((3, 5)),
                "one": np.array([0.5], dt)}
    if dt == np.float16:
        return {"special": F16_SPECIAL.copy(), "rand_4x4": r.standard_normal((4, 4)).astype(dt),
                "one": np.array([0.5], dt)}
    if dt == np.bool_:
        return {"rand_3x5": r.random((3, 5)) > 0.5, "tf": np.array([True, False]),
                "one": np.array([True])}
    ii = np.iinfo(dt)
    return {"limits": int_limits(dt),
            "rand_2x3x4": r.integers(ii.min, ii.max, size=(2, 3, 4), endpoint=True, dtype=dt),
            "one": np.array([7], dt)}


def nd(a, **kw):
    a = np.asarray(a)
    return mx.nd.array(a, dtype=a.dtype, **kw)


def dense_spec(d, named=True):
    if named:
        return [Entry.dense(v, name=k) for k, v in d.items()]
    return [Entry.dense(v) for v in d]


# ------------------------------------------------------------------ MXNet 1.9.1
def checkpoint_case(prefix, written_by, description):
    """A case for the epoch-0 checkpoint `prefix`, with what mx.model.load_checkpoint returned."""
    _, arg, aux = mx.model.load_checkpoint(P(prefix), 0)
    case(prefix, prefix + "-0000.params", written_by, description,
         extra={"symbol_file": prefix + "-symbol.json", "arg_params": list(arg), "aux_params": list(aux)},
         note="mx.model.load_checkpoint returned arg_params %s and aux_params %s" % (list(arg), list(aux)))


def run_v19():
    assert MXV == "1.9.1", MXV
    # 1. mx.nd.save V2, one file per dtype code 0-7 ---------------------------------------
    for seed, dt in enumerate(["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]):
        d = dtype_dict(dt, 100 + seed)
        f = "v2_dtype_%s.params" % dt
        mx.nd.save(P(f), {k: nd(v) for k, v in d.items()})
        case("v2_dtype_%s" % dt, f, "%s mx.nd.save(f, dict of %s NDArrays)" % (TAG, dt),
             "V2 dense dict, type code %d (%s); NaN payloads/inf/-0/subnormals or int limits"
             % (["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"].index(dt), dt),
             spec=dense_spec(d), spec_kind="dict")

    lst = [rng(1).standard_normal((2, 3)).astype("f4"), np.arange(5, dtype="i4"),
           rng(2).standard_normal((4,)).astype("f8")]
    mx.nd.save(P("v2_list.params"), [nd(a) for a in lst])
    case("v2_list", "v2_list.params", TAG + " mx.nd.save(f, [3 NDArrays])",
         "V2 unnamed list (n_names = 0) of float32/int32/float64", spec=dense_spec(lst, False), spec_kind="list")

    x = np.arange(6, dtype="f4").reshape(2, 3)
    mx.nd.save(P("v2_single.nd"), nd(x))
    mx.nd.save(P("_tmp_list.nd"), [nd(x)])
    same = rbytes("v2_single.nd") == rbytes("_tmp_list.nd")
    os.remove(P("_tmp_list.nd"))
    assert same
    case("v2_single", "v2_single.nd", TAG + " mx.nd.save(f, NDArray) (bare array, not a list)",
         "bare NDArray save = one-element list (FORMAT.md E1, 96 bytes)", spec=[Entry.dense(x)],
         spec_kind="list", note="file is byte-identical to mx.nd.save(f, [x])")

    mx.nd.save(P("v2_empty_list.params"), [])
    mx.nd.save(P("v2_empty_dict.params"), {})
    assert rbytes("v2_empty_list.params") == rbytes("v2_empty_dict.params") and len(rbytes("v2_empty_dict.params")) == 32
    case("v2_empty_list", "v2_empty_list.params", TAG + " mx.nd.save(f, [])", "empty list, 32 bytes",
         spec=[], spec_kind="list")
    case("v2_empty_dict", "v2_empty_dict.params", TAG + " mx.nd.save(f, {})",
         "empty dict: written exactly like an empty list (32 bytes) and loads back as []", spec=[], spec_kind="list")

    r = rng(3)
    hr = {"r6": r.standard_normal((2, 1, 3, 1, 2, 2)).astype("f4"),
          "r7_ones": np.array([42.0], "f4").reshape((1,) * 7),
          "r8": np.arange(8, dtype="i8").reshape(1, 2, 1, 2, 1, 2, 1, 1),
          "r9": r.integers(0, 255, size=(1, 1, 2, 1, 1, 1, 1, 3, 1), dtype="u1")}
    mx.nd.save(P("v2_high_rank.params"), {k: nd(v) for k, v in hr.items()})
    case("v2_high_rank", "v2_high_rank.params", TAG + " mx.nd.save(f, dict)",
         "ranks 6-9, including a shape of 1 on every axis", spec=dense_spec(hr), spec_kind="dict")

    names = ["conv(1)_weight", "a/b/c", "arg:x:y", "x-y", "héllo", "权重", "🙂emoji", "", "n" * 3000,
             "sp ace\ttab"]
    d = {n: np.array([float(i)], "f4") for i, n in enumerate(names)}
    mx.nd.save(P("v2_names.params"), {k: nd(v) for k, v in d.items()})
    case("v2_names", "v2_names.params", TAG + " mx.nd.save(f, dict)",
         "names with ( ) / : - space tab, UTF-8 é/CJK/emoji, empty name, 3000-byte name",
         spec=dense_spec(d), spec_kind="dict")

    src = {"aaa": np.array([1.0], "f4"), "bbb": np.array([2.0, 2.5], "f4"), "ccc": np.array([3.0], "f4")}
    mx.nd.save(P("v2_duplicate_names.params"), {k: nd(v) for k, v in src.items()})
    b = bytearray(rbytes("v2_duplicate_names.params"))
    i = b.rfind(b"bbb")
    b[i:i + 3] = b"aaa"
    wbytes("v2_duplicate_names.params", bytes(b))
    case("v2_duplicate_names", "v2_duplicate_names.params",
         TAG + " mx.nd.save(f, {'aaa','bbb','ccc'}) then name 'bbb' patched to 'aaa' by hand",
         "duplicate names [aaa, aaa, ccc]: dict keeps first position, last value",
         spec=[Entry.dense(src["bbb"], "aaa"), Entry.dense(src["ccc"], "ccc")], spec_kind="dict")

    ul = [np.array([1, 2, 3], "u1"), np.array([np.pi], "f8")]
    mx.nd.save(P("v2_unaligned.params"), [nd(a) for a in ul])
    assert rbytes("v2_unaligned.params")[91:99] == ul[1].tobytes()
    case("v2_unaligned", "v2_unaligned.params", TAG + " mx.nd.save(f, [uint8 x3, float64 x1])",
         "float64 payload at byte offset 91 (unaligned, FORMAT.md §8)", spec=dense_spec(ul, False), spec_kind="list")

    # 2. save_checkpoint ---------------------------------------------------------------
    data = mx.sym.var("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=4, name="fc1")
    bn1 = mx.sym.BatchNorm(fc1, name="bn1")
    act = mx.sym.Activation(bn1, act_type="relu", name="relu1")
    sym = mx.sym.FullyConnected(act, num_hidden=3, name="fc2")
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(2, 5))
    r = rng(4)
    arg = {n: nd(r.standard_normal(s).astype("f4")) for n, s in zip(sym.list_arguments(), arg_shapes) if n != "data"}
    aux = {n: nd((r.random(s) + (0.5 if "var" in n else 0)).astype("f4"))
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    mx.model.save_checkpoint(P("ckpt_fc_bn"), 0, sym, arg, aux)
    checkpoint_case("ckpt_fc_bn",
                    TAG + " mx.model.save_checkpoint('ckpt_fc_bn', 0, sym, arg_params, aux_params)",
                    "checkpoint of FC(4)+BatchNorm+relu+FC(3): arg:/aux: keys; symbol in ckpt_fc_bn-symbol.json")

    sr = {"arg:w": np.array([1.0, 2.0], "f4"), "aux:c:d": np.array([3.0], "f4"),
          "foo:bar": np.array([4.0], "f4"), "arg:b": np.array([5.0], "f4")}
    mx.nd.save(P("ckpt_split_rule-0000.params"), {k: nd(v) for k, v in sr.items()})
    sym.save(P("ckpt_split_rule-symbol.json"))
    _, a3, x3 = mx.model.load_checkpoint(P("ckpt_split_rule"), 0)
    assert list(a3) == ["w", "b"] and list(x3) == ["c:d"], (list(a3), list(x3))
    case("ckpt_split_rule", "ckpt_split_rule-0000.params",
         TAG + " mx.nd.save(f, {'arg:w','aux:c:d','foo:bar','arg:b'}) (checkpoint-style keys)",
         "load_checkpoint split rule: split at the first ':', unknown type 'foo' dropped",
         spec=dense_spec(sr), spec_kind="dict",
         extra={"symbol_file": "ckpt_split_rule-symbol.json", "arg_params": list(a3), "aux_params": list(x3)},
         note="mx.model.load_checkpoint returned arg_params %s, aux_params %s ('foo:bar' silently dropped)"
         % (list(a3), list(x3)))

    # 3. Gluon 1.9.1 ---------------------------------------------------------------------
    from mxnet.gluon import nn

    def gluon_net(seed):
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Conv2D(4, 3, in_channels=2), nn.BatchNorm(in_channels=4), nn.Dense(3, in_units=36))
        net.initialize()
        rr = rng(seed)
        for _, p in sorted(net.collect_params().items()):
            v = rr.standard_normal(p.shape).astype("f4")
            if p.name.endswith("running_var"):
                v = np.abs(v) + 0.5
            p.set_data(nd(v))
        return net

    net = gluon_net(5)
    net.save_parameters(P("gluon19_save_parameters.params"))
    case("gluon19_save_parameters", "gluon19_save_parameters.params",
         TAG + " gluon HybridSequential(Conv2D, BatchNorm, Dense).save_parameters(f)",
         "Gluon 1.x structural names (0.weight, 1.running_mean, ...)")
    net.hybridize()
    net(mx.nd.array(rng(6).standard_normal((1, 2, 5, 5)).astype("f4")))
    net.export(P("gluon19_export"), epoch=0)
    checkpoint_case("gluon19_export", TAG + " gluon HybridSequential.export('gluon19_export', epoch=0)",
                    "Gluon export: arg:/aux: + full parameter names; symbol in gluon19_export-symbol.json")

    # 4. sparse ---------------------------------------------------------------------------
    r = rng(7)
    d32 = r.standard_normal((3, 3)).astype("f4")
    d32[0, 0] = np.float32(-0.0)
    d32[1, 2] = F32_SPECIAL[1]
    d64 = r.standard_normal((2, 2, 2))
    rsp = {"rsp_f32": (d32, np.array([0, 2, 5]), (6, 3)), "rsp_f64_3d": (d64, np.array([1, 4]), (5, 2, 2))}
    mx.nd.save(P("v2_row_sparse.params"), {k: mx.nd.sparse.row_sparse_array((nd(a), nd(i.astype("i8"))), shape=s,
                                                                               dtype=a.dtype)
                                           for k, (a, i, s) in rsp.items()})
    case("v2_row_sparse", "v2_row_sparse.params", TAG + " mx.nd.save(f, {row_sparse f32 (6,3), row_sparse f64 (5,2,2)})",
         "row_sparse records: storage shape, logical shape, aux idx int64",
         spec=[Entry.row_sparse(a, i.astype("i8"), s, name=k) for k, (a, i, s) in rsp.items()], spec_kind="dict")

    mx.nd.save(P("v2_row_sparse_zero_rows.params"),
               [mx.nd.sparse.zeros("row_sparse", (4, 3)), mx.nd.sparse.zeros("row_sparse", (2, 5), dtype="f8")])
    case("v2_row_sparse_zero_rows", "v2_row_sparse_zero_rows.params",
         TAG + " mx.nd.save(f, [mx.nd.sparse.zeros('row_sparse', (4,3)), ...(2,5) float64])",
         "row_sparse with no stored rows: storage shape (0,3), idx shape (0,)",
         spec=[Entry.row_sparse(np.zeros((0, 3), "f4"), np.zeros(0, "i8"), (4, 3)),
               Entry.row_sparse(np.zeros((0, 5), "f8"), np.zeros(0, "i8"), (2, 5))], spec_kind="list")

    cd = np.array([1.5, -2.0, F32_SPECIAL[0], F32_SPECIAL[11], 5.0], "f4")
    cip = np.array([0, 2, 2, 4, 5], "i8")
    cix = np.array([0, 3, 1, 4, 2], "i8")
    mx.nd.save(P("v2_csr.params"), {"csr": mx.nd.sparse.csr_matrix((nd(cd), nd(cix), nd(cip)), shape=(4, 5), dtype="f4")})
    case("v2_csr", "v2_csr.params", TAG + " mx.nd.save(f, {'csr': csr_matrix (4,5) nnz 5})",
         "csr record: aux indptr then indices (int64), values first", spec=[Entry.csr(cd, cip, cix, (4, 5), "csr")],
         spec_kind="dict")
    mx.nd.save(P("v2_csr_empty.params"), [mx.nd.sparse.zeros("csr", (3, 4))])
    case("v2_csr_empty", "v2_csr_empty.params", TAG + " mx.nd.save(f, [mx.nd.sparse.zeros('csr', (3,4))])",
         "all-zero csr: storage shape (0,), indptr zeros, indices (0,)",
         spec=[Entry.csr(np.zeros(0, "f4"), np.zeros(4, "i8"), np.zeros(0, "i8"), (3, 4))], spec_kind="list")
    hd = F16_SPECIAL[[0, 2, 4, 8, 9, 11, 14, 16]]
    hip = np.array([0, 3, 3, 8], "i8")
    hix = np.array([0, 2, 6, 0, 1, 2, 5, 6], "i8")
    mx.nd.save(P("v2_csr_f16.params"), [mx.nd.sparse.csr_matrix((nd(hd), nd(hix), nd(hip)), shape=(3, 7), dtype="f2")])
    case("v2_csr_f16", "v2_csr_f16.params", TAG + " mx.nd.save(f, [csr_matrix float16 (3,7)])",
         "csr with float16 values incl. NaN payloads/inf/-0/subnormal",
         spec=[Entry.csr(hd, hip, hix, (3, 7))], spec_kind="list")

    sv = np.arange(1, 7, dtype="f4").reshape(3, 2)
    wbytes("v2_rsp_stale_sshape.params",
           container([row_sparse(sv, np.array([0, 2, 4]), (5, 2), storage=(2, 2))]))
    case("v2_rsp_stale_sshape", "v2_rsp_stale_sshape.params",
         "hand-built from FORMAT.md §4.3/§7 (row_sparse, storage shape (2,2) but 3 row indices)",
         "stale storage shape: the idx aux length wins, 3x2 values are read",
         spec=[Entry.row_sparse(sv, np.array([0, 2, 4], "i8"), (5, 2))], spec_kind="list")

    i32d = np.array([[1, 2], [3, 4]], "f4")
    wbytes("v2_sparse_int32_aux.params", container([
        row_sparse(i32d, np.array([1, 3]), (5, 2), aux_code=4),
        csr(cd, cip, cix, (4, 5), aux_code=4)], names=["rsp", "csr"]))
    case("v2_sparse_int32_aux", "v2_sparse_int32_aux.params",
         "hand-built from FORMAT.md §4.3/§7 (aux type code 4 = int32 instead of 6)",
         "int32 aux arrays (row_sparse idx; csr indptr+indices)",
         spec=[Entry.row_sparse(i32d, np.array([1, 3], "i4"), (5, 2), "rsp"),
               Entry.csr(cd, cip.astype("i4"), cix.astype("i4"), (4, 5), "csr")], spec_kind="dict",
         note="(densifying these with tostype('default') fails in 1.9.1: 'Unknown type enum 4', FORMAT.md §7)")

    # 5. V3 via npx --------------------------------------------------------------------------
    r = rng(8)
    v3l = [np.array(3.5, "f4"), np.zeros((0, 3), "f4"), r.standard_normal((2, 3)).astype("f4"),
           np.array(-7, "i8"), np.zeros((2, 0, 4), "f2"), np.array([True, False])]
    v3d = {"scalar": np.array(2.25, "f8"), "empty_0x3": np.zeros((0, 3), "f4"),
           "w": r.standard_normal((3, 2)).astype("f4"), "u8_scalar": np.array(255, "u1")}
    npx.set_np()
    npx.save(P("v3_list.params"), [mx.np.array(a, dtype=a.dtype) for a in v3l])
    npx.save(P("v3_dict.params"), {k: mx.np.array(a, dtype=a.dtype) for k, a in v3d.items()})
    npx.reset_np()
    case("v3_list", "v3_list.params", TAG + " npx.set_np(); npx.save(f, [np arrays])",
         "V3 list: 0-d scalars, zero-size (0,3) and (2,0,4), bool", np_on=True, loader="npx.load",
         spec=dense_spec(v3l, False), spec_kind="list")
    case("v3_dict", "v3_dict.params", TAG + " npx.set_np(); npx.save(f, {dict of np arrays})",
         "V3 dict with scalars and a zero-size array", np_on=True, loader="npx.load",
         spec=dense_spec(v3d), spec_kind="dict")

    # 6. bfloat16 -------------------------------------------------------------------------------
    bfr = (rng(9).standard_normal((2, 3)).astype("f4").view("<u4") >> 16).astype("<u2")
    wbytes("v2_bfloat16_handbuilt.params", container([
        v2(BF16_SPECIAL_BITS.view(BF16)), v2(bfr.view(BF16))], names=["bf16_special", "bf16_rand"]))
    case("v2_bfloat16_handbuilt", "v2_bfloat16_handbuilt.params",
         "hand-built from FORMAT.md §4.3/§6 (type code 12)",
         "bfloat16 records (1.0, 2.0, -3.5, NaN payloads, inf, -0, subnormals); arrays stored as raw uint16",
         spec=[Entry.dense(BF16_SPECIAL_BITS.view(BF16), "bf16_special"), Entry.dense(bfr.view(BF16), "bf16_rand")],
         spec_kind="dict", note="MXNet returns dtype [('bfloat16', '<u2')] holding the raw bits")
    f32 = rng(10).standard_normal((3, 4)).astype("f4")
    f32[0, :4] = [1.0, 2.0, -3.5, 1.00390625]  # last one is a bfloat16 rounding tie
    bfx = mx.nd.amp_cast(mx.nd.array(f32), dtype=BF16)
    mx.nd.save(P("v2_bfloat16_mxnet.params"), {"bf16": bfx})
    got = bfx.asnumpy().view("<u2").reshape(3, 4)
    trunc = (f32.view("<u4") >> 16).astype("<u2")
    case("v2_bfloat16_mxnet", "v2_bfloat16_mxnet.params",
         TAG + " mx.nd.save(f, {'bf16': mx.nd.amp_cast(x, dtype=np.dtype([('bfloat16', '<u2')]))})",
         "bfloat16 (code 12) written by MXNet itself (1.9.1 can make bf16 arrays via amp_cast with the structured dtype)",
         note="amp_cast float32->bfloat16 %s" % ("truncates" if np.array_equal(got, trunc) else
                                                  "rounds (differs from truncation in %d of 12 values)" %
                                                  int((got != trunc).sum())))

    # 7. V0 / V1 / mixed / none / zero-size ---------------------------------------------------
    r = rng(11)
    v0l = [np.arange(16, dtype="f4"), r.standard_normal((2, 3)), r.standard_normal((2, 2, 2)).astype("f2"),
           r.integers(0, 256, (1, 2, 3, 4), dtype="u1"), np.array([-2**31, 2**31 - 1, 0, 1, -1], "i4"),
           np.array([-128, 127, 0], "i1")]
    wbytes("v0_list.nd", container([v0(a) for a in v0l]))
    case("v0_list", "v0_list.nd", "hand-built from FORMAT.md §4.1 (V0, no magic, u32 dims)",
         "V0 list, type codes 0-5, ranks 1-4", spec=dense_spec(v0l, False), spec_kind="list")
    v0d = {"arg:fc1_weight": r.standard_normal((4, 5)).astype("f4"), "arg:fc1_bias": np.zeros(4, "f4"),
           "aux:bn_moving_var": np.ones(4, "f4"), "arg:emb": r.integers(-50, 50, (3, 2), dtype="i4")}
    wbytes("v0_dict.params", container([v0(a) for a in v0d.values()], names=list(v0d)))
    case("v0_dict", "v0_dict.params", "hand-built from FORMAT.md §4.1 (V0 records + names)",
         "V0 named checkpoint-style file", spec=dense_spec(v0d), spec_kind="dict")
    v1l = [r.standard_normal((3, 4)).astype("f4"), r.standard_normal(2), np.array([[-2**63, 2**63 - 1], [0, 5]], "i8"),
           np.array([1.5, -0.0], "f2").reshape(1, 1, 1, 2)]
    wbytes("v1_list.nd", container([v1(a) for a in v1l]))
    case("v1_list", "v1_list.nd", "hand-built from FORMAT.md §4.2 (V1, magic C8, i64 dims)",
         "V1 list, float32/float64/int64/float16, ranks 1-4", spec=dense_spec(v1l, False), spec_kind="list")
    v1d = {"X": r.standard_normal((10, 10)).astype("f4"), "Y": r.integers(0, 9, (10,), dtype="u1")}
    wbytes("v1_dict.params", container([v1(a) for a in v1d.values()], names=list(v1d)))
    case("v1_dict", "v1_dict.params", "hand-built from FORMAT.md §4.2 (V1 records + names)",
         "V1 named file", spec=dense_spec(v1d), spec_kind="dict")
    mix = {"v0": np.array([1.0, 2.0], "f4"), "v1": np.array([[3, 4]], "i8"), "v2": np.array([5.0], "f8"),
           "v0b": np.array([6], "u1")}
    wbytes("mixed_v0_v1_v2.params", container([v0(mix["v0"]), v1(mix["v1"]), v2(mix["v2"]),
                                               v0(mix["v0b"])], names=list(mix)))
    case("mixed_v0_v1_v2", "mixed_v0_v1_v2.params", "hand-built from FORMAT.md §1/§4 (records V0, V1, V2, V0)",
         "record version chosen per record: mixed file", spec=dense_spec(mix), spec_kind="dict")

    a1, a2_ = np.array([1.0, 2.0, 3.0], "f4"), np.array([4.0, 5.0], "f4")
    none_spec = [Entry.dense(a1), Entry.none(), Entry.dense(a2_)]
    wbytes("v0_none.params", container([v0(a1), none_v0(), v0(a2_)]))
    case("v0_none", "v0_none.params", "hand-built from FORMAT.md §4.1/§5 (V0 record with ndim 0 in the middle)",
         "V0 none record (ndim 0, nothing follows): [array, none, array]", expect="spec", spec=none_spec,
         spec_kind="list")
    wbytes("v1_none.params", container([v1(a1), none_v1(), v1(a2_)]))
    case("v1_none", "v1_none.params", "hand-built from FORMAT.md §4.2/§5 (V1 record with ndim 0 in the middle)",
         "V1 none record: [array, none, array]", expect="spec", spec=none_spec, spec_kind="list")
    wbytes("v2_none.params", container([v2(a1), none_v2(), v2(a2_)]))
    case("v2_none", "v2_none.params", "hand-built from FORMAT.md §4.3/§5 (V2 record: magic, stype 0, ndim 0)",
         "V2 none record: [array, none, array]", expect="spec", spec=none_spec, spec_kind="list")
    wbytes("v2_none_sparse.params", container(
        [v2(a1), u32(V2) + i32(1) + shape64([0]) + shape64([]), v2(a2_)], names=["a", "n", "b"]))
    case("v2_none_sparse", "v2_none_sparse.params",
         "hand-built from FORMAT.md §4.3/§5 (V2 stype 1, storage shape (0,), shape ndim 0)",
         "V2 none test comes after the storage shape: {a, n: none, b}", expect="spec",
         spec=[Entry.dense(a1, "a"), Entry.none("n"), Entry.dense(a2_, "b")], spec_kind="dict")
    sc = np.array(9.5, "f4")
    wbytes("v3_none_dim.params", container([v2(a1, magic=V3),
                                            none_v3_dim(),
                                            v2(sc, magic=V3)]))
    case("v3_none_dim", "v3_none_dim.params", "hand-built from FORMAT.md §4.4/§5 (V3 record with shape (2,-1))",
         "V3 unknown dim (-1) = none; next record parses: [array, none, 0-d scalar]", np_on=True,
         loader="npx.load", expect="spec", spec=[Entry.dense(a1), Entry.none(), Entry.dense(sc)], spec_kind="list")
    wbytes("v3_none_ndim_minus1.params", container([v2(a1, magic=V3),
                                                    u32(V3) + i32(0) + i32(-1),
                                                    v2(sc, magic=V3)]))
    case("v3_none_ndim_minus1", "v3_none_ndim_minus1.params",
         "hand-built from FORMAT.md §4.4/§5 (V3 record with ndim -1, no dims)",
         "V3 ndim -1 = unknown shape = none per FORMAT.md §16: [array, none, 0-d scalar]", np_on=True,
         loader="npx.load", expect="spec", spec=[Entry.dense(a1), Entry.none(), Entry.dense(sc)], spec_kind="list")
    zd = {"z0x3": np.zeros((0, 3), "f4"), "z2x0": np.zeros((2, 0), "i4"), "after": np.array([1.0, -1.0], "f8")}
    wbytes("v2_zero_dim.params", container([v2(a) for a in zd.values()], names=list(zd)))
    case("v2_zero_dim", "v2_zero_dim.params", "hand-built from FORMAT.md §4.3/§5 (V2 records with a 0 dim)",
         "V2 zero-size arrays (0,3), (2,0): no data bytes", spec=dense_spec(zd), spec_kind="dict")

    # 8. oddities ---------------------------------------------------------------------------
    od = {"w": np.array([1.0, 2.0], "f4"), "b": np.array([3], "i4")}
    mx.nd.save(P("odd_reserved_12345.params"), {k: nd(v) for k, v in od.items()})
    b = bytearray(rbytes("odd_reserved_12345.params"))
    b[8:16] = (12345).to_bytes(8, "little")
    wbytes("odd_reserved_12345.params", bytes(b))
    case("odd_reserved_12345", "odd_reserved_12345.params",
         TAG + " mx.nd.save(f, dict) then reserved u64 (bytes 8-15) patched to 12345",
         "non-zero reserved field is ignored", spec=dense_spec(od), spec_kind="dict")
    mx.nd.save(P("odd_trailing_bytes.params"), {k: nd(v) for k, v in od.items()})
    wbytes("odd_trailing_bytes.params", rbytes("odd_trailing_bytes.params") + b"TRAILING GARBAGE\x00\x01\x02\xff")
    case("odd_trailing_bytes", "odd_trailing_bytes.params", TAG + " mx.nd.save(f, dict) then 20 bytes appended",
         "bytes after the names vector are ignored", spec=dense_spec(od), spec_kind="dict")
    oc = [np.array([1.0], "f4"), np.array([2.0, 3.0], "f8"), np.array([4], "u1")]
    wbytes("odd_context.params", container([v2(oc[0], ctx=(2, 3)), v2(oc[1], ctx=(3, 7)),
                                            v2(oc[2], ctx=(9, 3))]))
    res = mx.nd.load(P("odd_context.params"))
    ctxs = [str(a.context) for a in res]
    case("odd_context", "odd_context.params", "hand-built from FORMAT.md §4.3/§8 (contexts (2,3), (3,7), (9,3))",
         "gpu(3), cpu_pinned(7), nonsense dev_type 9: context ignored", spec=dense_spec(oc, False), spec_kind="list",
         note="contexts of the loaded arrays: %s" % ctxs)

    # 11. pickled handles ---------------------------------------------------------------------
    px = rng(12).standard_normal((2, 3)).astype("f4")
    wbytes("pickled_f32.bin", bytes(nd(px).__getstate__()["handle"]))
    case("pickled_f32", "pickled_f32.bin", TAG + " bytes(mx.nd.array(x).__getstate__()['handle'])",
         "bare V2 record, no container (pickle payload)", loader="setstate", spec=[Entry.dense(px)], spec_kind="list")
    prs = mx.nd.sparse.row_sparse_array((nd(i32d), nd(np.array([1, 3], "i8"))), shape=(5, 2))
    wbytes("pickled_row_sparse.bin", bytes(prs.__getstate__()["handle"]))
    case("pickled_row_sparse", "pickled_row_sparse.bin", TAG + " bytes(row_sparse_array.__getstate__()['handle'])",
         "bare sparse V2 record", loader="setstate",
         spec=[Entry.row_sparse(i32d, np.array([1, 3], "i8"), (5, 2))], spec_kind="list")
    npx.set_np()
    ps = mx.np.array(np.array(3.5, "f4"))
    wbytes("pickled_np_scalar.bin", bytes(ps.__getstate__()["handle"]))
    npx.reset_np()
    case("pickled_np_scalar", "pickled_np_scalar.bin",
         TAG + " npx.set_np(); bytes(mx.np.array(3.5).__getstate__()['handle'])",
         "bare V3 record of a 0-d scalar (FORMAT.md E5)", np_on=True, loader="setstate",
         spec=[Entry.dense(np.array(3.5, "f4"))], spec_kind="list")

    # 12. errors ---------------------------------------------------------------------------------
    good = container([v2(np.arange(6, dtype="f4").reshape(2, 3)), v2(np.array([1.5, 2.5], "f8"))],
                     names=["first", "second_name"])
    wbytes("err_empty_file.params", b"")
    case("err_empty_file", "err_empty_file.params", "0-byte file (e.g. left by a failed 2.x npx.save of a sparse array)",
         "empty file must be rejected", expect="error")
    wbytes("err_short_header.params", good[:12])
    case("err_short_header", "err_short_header.params", "hand-built: first 12 bytes of a valid file",
         "file shorter than the 24-byte header", expect="error")
    wbytes("err_bad_header.params", b"\x13" + good[1:])
    case("err_bad_header", "err_bad_header.params", "hand-built: valid file with header 0x113 instead of 0x112",
         "bad container magic", expect="error")
    wbytes("err_not_mxnet.params", b"this is not an MXNet parameter file, just text\n" * 2)
    case("err_not_mxnet", "err_not_mxnet.params", "plain ASCII text", "not an MXNet file at all", expect="error")
    cut = 24 + 4 + 4 + 4 + 16 + 8 + 4 + 10
    wbytes("err_trunc_mid_record.params", good[:cut])
    case("err_trunc_mid_record", "err_trunc_mid_record.params",
         "hand-built valid 2-array dict cut to %d bytes (inside the first record's data)" % cut,
         "truncated inside a record payload", expect="error")
    cut2 = good.rfind(b"second_name") + 4
    wbytes("err_trunc_mid_names.params", good[:cut2])
    case("err_trunc_mid_names", "err_trunc_mid_names.params",
         "hand-built valid 2-array dict cut to %d bytes (inside the 2nd name)" % cut2,
         "truncated inside the names section", expect="error")
    rec_end = len(container([v2(np.arange(6, dtype="f4").reshape(2, 3)), v2(np.array([1.5, 2.5], "f8"))])) - 8
    wbytes("err_missing_names.params", good[:rec_end])
    case("err_missing_names", "err_missing_names.params",
         "hand-built valid 2-array dict cut right after the last record (no n_names)",
         "names vector missing entirely", expect="error")
    wbytes("err_trunc_mid_shape.params", good[:24 + 4 + 4 + 4 + 5])
    case("err_trunc_mid_shape", "err_trunc_mid_shape.params", "hand-built valid file cut inside the first shape",
         "truncated inside a shape", expect="error")
    wbytes("err_names_mismatch.params", container([v2(a1), v2(a2_)], names=["only_one"]))
    case("err_names_mismatch", "err_names_mismatch.params", "hand-built: 2 arrays, n_names 1",
         "0 < n_names != n_arrays", expect="error")
    wbytes("err_type13.params", container([v2(a1, code=13)]))
    case("err_type13", "err_type13.params", "hand-built: V2 dense record with type_flag 13",
         "unknown type code", expect="error")
    wbytes("err_stype5.params", container([u32(V2) + i32(5) + shape64([3]) + context() + i32(0)
                                           + a1.tobytes()]))
    case("err_stype5", "err_stype5.params", "hand-built: V2 record with stype 5", "unknown storage type", expect="error")
    wbytes("err_negative_dim.params", container([v2(np.zeros((2, 3), "f4"), shape=(2, -3))]))
    case("err_negative_dim", "err_negative_dim.params", "hand-built: V2 record with shape (2,-3)",
         "negative dim", expect="error")
    wbytes("err_v2_minus1_dim.params", container([v2(np.zeros(2, "f4"), shape=(2, -1))]))
    case("err_v2_minus1_dim", "err_v2_minus1_dim.params", "hand-built: V2 (not V3) record with shape (2,-1)",
         "-1 dim is only 'unknown' in V3; in V2 it is an error", expect="error")
    wbytes("err_huge_n_arrays.params", header(2**64 - 1) + v2(a1) + u32(0) * 2)
    case("err_huge_n_arrays", "err_huge_n_arrays.params", "hand-built: n_arrays = 2^64-1, one record present",
         "count larger than the file: must be rejected, not allocated", expect="error")
    wbytes("err_huge_name_len.params", header(1) + v2(a1) + (1).to_bytes(8, "little")
           + (2**62).to_bytes(8, "little") + b"abc")
    case("err_huge_name_len", "err_huge_name_len.params", "hand-built: one name with length 2^62, 3 bytes present",
         "string length larger than the file", expect="error")
    h = mx.nd.NDArray(mx.nd._new_empty_handle())
    try:
        mx.nd.save(P("err_uninit_save.params"), [h])
        saved = "save succeeded (unexpected)"
    except Exception as e:  # noqa: BLE001
        saved = "mx.nd.save raised " + errtext(e)
    assert rbytes("err_uninit_save.params").endswith(bytes.fromhex("c9fa93f9ffffffff"))
    case("err_uninit_save", "err_uninit_save.params",
         TAG + " mx.nd.save(f, [NDArray(_new_empty_handle())]) (uninitialised array; the save fails midway)",
         "32-byte partial file ending in V2 magic + stype -1", expect="error",
         note="while writing it, " + saved)

    # realworld ---------------------------------------------------------------------------
    prov = {
        "mxnet_legacy_ndarray.v0": "apache/mxnet : tests/python/unittest/legacy_ndarray.v0 (V0 list of 6 float32 arange(128))",
        "straightdope_test.ndarray": "zackchase/mxnet-the-straight-dope : checkpoints/test.ndarray (MXNet 0.11, V1 list of 1)",
        "straightdope_test2.ndarray": "zackchase/mxnet-the-straight-dope : checkpoints/test2.ndarray (V1 dict of 2)",
        "straightdope_testnet.params": "zackchase/mxnet-the-straight-dope : checkpoints/testnet.params (V1, Gluon 0.11 ParameterDict.save names)",
        "mxnet_ts_forecasting_cnn_best_perf_model.params": "apache/mxnet : example/gluon/ts_forecasting_cnn/assets/best_perf_model (V2, Gluon save_parameters)",
        "pratapwarrohit13_mlp.params": "pratapwarrohit13/mxnet : mlp.params (V3, Gluon save_parameters under numpy-shape mode)",
        "pratapwarrohit13_mydict": "pratapwarrohit13/mxnet : mydict (V3, npx.save of a dict)",
    }
    for fn in sorted(prov):
        dst = "realworld_" + fn
        shutil.copyfile(os.path.join(REALWORLD, dst), P(dst))
        os.chmod(P(dst), 0o644)
        stem = fn
        for ext in (".v0", ".ndarray", ".params"):
            if stem.endswith(ext):
                stem = stem[: -len(ext)]
        v3 = rbytes(dst)[24:28] == u32(V3)
        case("realworld_" + stem, dst, "real-world file, not made by us: " + prov[fn],
             "real-world %s file, original name %s" % ("V3" if v3 else "legacy", fn),
             np_on=v3, loader="npx.load" if v3 else "nd.load")


# ------------------------------------------------------------------ MXNet 2.0.0b1
def run_v20():
    assert MXV.startswith("2.0.0"), MXV
    npx.set_np()

    def cross19(f, np_on, loader):
        r = probe(P(f), np_on, loader, venv=VENV19)
        return "cross-check, %s: %s" % (read_by_text(np_on, loader, "1.9.1"), r["text"])

    r = rng(200)
    ints = {}
    for dt in ["int16", "uint16", "uint32", "uint64"]:
        ints[dt + "_limits"] = int_limits(dt)
        ii = np.iinfo(dt)
        ints[dt + "_rand"] = r.integers(ii.min, ii.max, size=(2, 3), endpoint=True, dtype=dt)
    mx.nd.save(P("v20_nd_save_int_v3.params"), {k: nd(v) for k, v in ints.items()})
    case("v20_nd_save_int_v3", "v20_nd_save_int_v3.params",
         TAG + " mx.nd.save(f, dict) in the default np mode (writes V3 records)",
         "type codes 8-11 (int16, uint16, uint32, uint64) in V3 records", np_on=True,
         spec=dense_spec(ints), spec_kind="dict", note=cross19("v20_nd_save_int_v3.params", True, "npx.load"))
    npx.reset_np()
    mx.nd.save(P("v20_nd_save_int_v2.params"), {k: nd(v) for k, v in ints.items()})
    npx.set_np()
    case("v20_nd_save_int_v2", "v20_nd_save_int_v2.params",
         TAG + " npx.reset_np(); mx.nd.save(f, dict) (writes V2 records)",
         "type codes 8-11 in V2 records", np_on=False,
         spec=dense_spec(ints), spec_kind="dict", note=cross19("v20_nd_save_int_v2.params", False, "nd.load"))

    x = r.standard_normal((2, 3)).astype("f4")
    npx.save(P("v20_npx_save.npy"), mx.np.array(x))
    case("v20_npx_save", "v20_npx_save.npy", TAG + " npx.save(f, mx.np.array float32 (2,3))",
         "2.x single array -> plain .npy (format 1.0)", np_on=True, loader="npx.load", spec=[Entry.dense(x)],
         spec_kind="list")
    s = np.array(-1.25, "f8")
    npx.save(P("v20_npx_save_scalar.npy"), mx.np.array(s, dtype="f8"))
    case("v20_npx_save_scalar", "v20_npx_save_scalar.npy", TAG + " npx.save(f, mx.np.array(-1.25, float64))",
         "2.x 0-d array -> .npy with shape ()", np_on=True, loader="npx.load", spec=[Entry.dense(s)],
         spec_kind="list")

    zw = {"w": r.standard_normal((3, 2)).astype("f4"), "b_u16": np.array([0, 65535, 7], "u2"),
          "mask": np.array([[True, False], [False, True]])}
    pos = [np.arange(4, dtype="i8"), np.array(2.5, "f2"), np.zeros((0, 2), "f4")]
    npx.savez(P("v20_npx_savez.npz"), *[mx.np.array(a, dtype=a.dtype) for a in pos],
              **{k: mx.np.array(v, dtype=v.dtype) for k, v in zw.items()})
    case("v20_npx_savez", "v20_npx_savez.npz",
         TAG + " npx.savez(f, arr0, arr1, arr2, w=..., b_u16=..., mask=...)",
         "2.x npz: keyword members first, then arr_0..; stored (uncompressed) zip with data descriptors",
         np_on=True, loader="npx.load")
    npx.savez(P("v20_npx_savez_empty.npz"))
    case("v20_npx_savez_empty", "v20_npx_savez_empty.npz", TAG + " npx.savez(f) with no arrays",
         "empty zip (22 bytes, PK\\x05\\x06)", np_on=True, loader="npx.load", spec=[], spec_kind="list",
         note="an empty list, not a dict (mx.nd.load also returns [])")

    from mxnet.gluon import nn

    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, in_channels=2), nn.BatchNorm(in_channels=4), nn.Dense(3, in_units=36))
    net.initialize()
    xin = mx.np.array(rng(202).standard_normal((1, 2, 5, 5)).astype("f4"))
    net(xin)  # 2.0.0b1 keeps Conv2D in_channels deferred (shape (4,-1,3,3)) until a forward pass
    rr = rng(201)
    for k, p in sorted(net.collect_params().items()):
        v = rr.standard_normal(p.shape).astype("f4")
        if k.endswith("running_var"):
            v = np.abs(v) + 0.5
        p.set_data(mx.np.array(v))
    net.save_parameters(P("v20_gluon_save_parameters.params"))
    case("v20_gluon_save_parameters", "v20_gluon_save_parameters.params",
         TAG + " gluon HybridSequential(Conv2D, BatchNorm, Dense).save_parameters(f) (npz bytes in a .params file)",
         "2.x Gluon npz with structural names", np_on=True, loader="npx.load")
    net.hybridize()
    net(xin)
    net.export(P("v20_gluon_export"), epoch=0)
    case("v20_gluon_export", "v20_gluon_export-0000.params",
         TAG + " gluon HybridSequential.export('v20_gluon_export', epoch=0)",
         "2.x export: npz with arg:/aux: member names; symbol in v20_gluon_export-symbol.json", np_on=True,
         loader="npx.load", extra={"symbol_file": "v20_gluon_export-symbol.json"})

    cd = np.array([1.5, -2.0, 3.0, 4.0, 5.0], "f4")
    cip = np.array([0, 2, 2, 4, 5], "i8")
    cix = np.array([0, 3, 1, 4, 2], "i8")
    rd = r.standard_normal((2, 3)).astype("f8")
    mcsr = mx.nd.sparse.csr_matrix((cd, cix, cip), shape=(4, 5), dtype="f4")
    rsp = mx.nd.sparse.row_sparse_array((rd, np.array([0, 3], "i8")), shape=(4, 3), dtype="f8")
    npx.savez(P("v20_sparse.npz"), zcsr=mcsr, rsp=rsp, dense=mx.np.array(x))
    stamped = zero_zip_times(P("v20_sparse.npz"))
    case("v20_sparse", "v20_sparse.npz", TAG + " npx.savez(f, zcsr=csr (4,5), rsp=row_sparse (4,3) f64, dense=...)"
         " [then the zip DOS mod time/date of %s (which MXNet stamps with the wall clock; all other members"
         " carry 0) zeroed for reproducibility]" % ", ".join(stamped),
         "2.x sparse arrays as npz folders <key>/{data,indptr,indices,shape,format}.npy; format.npy has the malformed header",
         np_on=True, loader="nd.load")
    # sparse through mx.nd.save in np mode: fails, leaves 24 bytes
    try:
        mx.nd.save(P("err_v20_sparse_npmode.params"), {"c": mcsr, "r": rsp})
        msg = "save succeeded (unexpected)"
    except Exception as e:  # noqa: BLE001
        msg = "mx.nd.save raised " + errtext(e)
    case("err_v20_sparse_npmode", "err_v20_sparse_npmode.params",
         TAG + " mx.nd.save(f, {'c': csr, 'r': row_sparse}) in the default np mode (the save fails midway)",
         "partial file left by a failed save: 24-byte header claiming 2 arrays, no records", expect="error",
         np_on=True, note="while writing it, " + msg)

    # bfloat16
    f32 = rng(203).standard_normal((2, 4)).astype("f4")
    f32[0, :3] = [1.0, 2.0, -3.5]
    bfx = mx.nd.amp_cast(mx.nd.array(f32), dtype=BF16)
    bits = bfx.asnumpy().view("<u2").reshape(2, 4)
    mx.nd.save(P("v20_bfloat16_v3.params"), [bfx])
    case("v20_bfloat16_v3", "v20_bfloat16_v3.params",
         TAG + " mx.nd.save(f, [mx.nd.amp_cast(x, dtype=np.dtype([('bfloat16','<u2')]))]) (np mode -> V3)",
         "bfloat16 (code 12) in a V3 record written by 2.0.0b1", np_on=True, loader="nd.load",
         spec=[Entry.dense(bits.view(BF16))], spec_kind="list")
    npx.save(P("v20_bfloat16.npy"), bfx.as_np_ndarray())
    assert b"[('bfloat16', '<u2')]" in rbytes("v20_bfloat16.npy")[:128]
    case("v20_bfloat16", "v20_bfloat16.npy", TAG + " npx.save(f, bfloat16 array) -> descr [('bfloat16', '<u2')]",
         "2.0.0a0/b1 bfloat16 npy spelling; expected = raw uint16 bits", np_on=True, loader="npx.load",
         expect="spec", spec=[Entry.dense(bits.view(BF16))], spec_kind="list",
         note="numpy.load reads it as a structured uint16 array")
    wbytes("npy_bfloat16_b2.npy", npy("<b2", bits.shape, bits.astype("<u2").tobytes()))
    case("npy_bfloat16_b2", "npy_bfloat16_b2.npy",
         "hand-built from FORMAT.md §11.1 (descr '<b2', the unreleased-master bfloat16 spelling)",
         "'<b2' bfloat16 npy; expected = raw uint16 bits", np_on=True, loader="npx.load", expect="spec",
         spec=[Entry.dense(bits.view(BF16))], spec_kind="list", note="numpy.load rejects '<b2'")

    # 10. npy edge cases (numpy semantics)
    import io
    fx = np.asfortranarray(rng(204).standard_normal((3, 4)).astype("f4"))
    bio = io.BytesIO()
    np.lib.format.write_array(bio, fx)
    wbytes("npy_fortran.npy", bio.getvalue())
    assert b"'fortran_order': True" in bio.getvalue()[:128]
    case("npy_fortran", "npy_fortran.npy", "numpy %s np.lib.format.write_array of a Fortran-ordered (3,4) float32"
         % np.__version__, "fortran_order True: data is column-major; expected = the logical (3,4) array",
         np_on=True, loader="npx.load", expect="spec", spec=[Entry.dense(np.ascontiguousarray(fx))], spec_kind="list")
    be = rng(205).standard_normal((2, 3)).astype(">f4")
    bio = io.BytesIO()
    np.lib.format.write_array(bio, be)
    wbytes("npy_big_endian.npy", bio.getvalue())
    case("npy_big_endian", "npy_big_endian.npy", "numpy %s np.lib.format.write_array of a '>f4' (2,3) array"
         % np.__version__, "big-endian descr '>f4'; expected = the values as little-endian float32",
         np_on=True, loader="npx.load", expect="spec", spec=[Entry.dense(be.astype("<f4"))], spec_kind="list")
    lh = np.arange(12, dtype="f4").reshape(3, 4) * 1.5
    for cname, mh, what in [("npy_long_header", 320, "MXNet 2.0.0b1 silently returns garbage"),
                            ("npy_long_header_310", 300, "MXNet 2.0.0b1 raises")]:
        fn = cname + ".npy"
        wbytes(fn, npy("<f4", lh.shape, lh.tobytes(), min_len=mh))
        assert np.array_equal(np.load(P(fn)), lh)
        hl = int.from_bytes(rbytes(fn)[8:10], "little")
        case(cname, fn,
             "hand-built npy 1.0, header dict padded with spaces: HEADER_LEN %d (0x%03x), data at offset %d"
             % (hl, hl, 10 + hl),
             "long npy header (HEADER_LEN >= 256; %s); expected = numpy's reading" % what,
             np_on=True, loader="npx.load", expect="spec", spec=[Entry.dense(lh)], spec_kind="list")
    v2a = rng(206).integers(-1000, 1000, (2, 2, 2), dtype="i4")
    bio = io.BytesIO()
    np.lib.format.write_array(bio, v2a, version=(2, 0))
    wbytes("npy_version2.npy", bio.getvalue())
    assert bio.getvalue()[6:8] == b"\x02\x00"
    case("npy_version2", "npy_version2.npy", "numpy %s np.lib.format.write_array(..., version=(2, 0))" % np.__version__,
         "npy format 2.0 (u32 HEADER_LEN); expected = numpy's reading", np_on=True, loader="npx.load",
         expect="spec", spec=[Entry.dense(v2a)], spec_kind="list")


def main():
    global OUT
    if sys.argv[1] == "probe":
        probe_main(*sys.argv[2:])
        return
    OUT = os.path.abspath(sys.argv[2])
    os.makedirs(OUT, exist_ok=True)
    {"v19": run_v19, "v20": run_v20}[sys.argv[1]]()


if __name__ == "__main__":
    main()
