"""The facts in docs/ against the code and the MXNet-made fixtures, so that neither drifts silently.

Every table or worked example that a test can check carries a `<!-- check: NAME -->` comment in
its document; the tests below parse the table (or the hex dump) that follows the comment and
compare each row with ndparse / dpn_torch and with what real MXNet wrote or read back
(fixtures/). Editing a number in a document, or the code, without the other fails here.
"""

from __future__ import annotations

import ast
import json
import math
import re
import struct
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ndparse
from ndparse import constants as C
from ndbytes import container, v0, v1

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NDFIX = ROOT / "fixtures" / "ndparse"
DPNFIX = ROOT / "fixtures" / "dpn"


# --- reading the documents ---------------------------------------------------------------
@cache
def _text(doc: str) -> str:
    return (DOCS / doc).read_text(encoding="utf-8")


def _after_marker(doc: str, name: str) -> str:
    """The document text after `<!-- check: name -->` (which must appear exactly once)."""
    marker = f"<!-- check: {name} -->"
    text = _text(doc)
    assert text.count(marker) == 1, f"{doc}: marker {marker!r} must appear exactly once"
    return text.split(marker, 1)[1]


def _paragraph(doc: str, name: str) -> str:
    """The marked paragraph: text after the marker up to the first blank line."""
    return _after_marker(doc, name).strip("\n").split("\n\n", 1)[0]


def _cells(line: str) -> list[str]:
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [p.strip().replace("\\|", "|") for p in parts]


def table(doc: str, name: str) -> list[dict[str, str]]:
    """The first markdown table after the marker, as one dict (header -> cell) per row."""
    lines = _after_marker(doc, name).splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    rows = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        rows.append(_cells(ln))
    header, sep, body = rows[0], rows[1], rows[2:]
    assert set("".join(sep)) <= set("-:"), f"{doc} {name}: no separator row"
    assert body and all(len(r) == len(header) for r in body), f"{doc} {name}: ragged table"
    return [dict(zip(header, r)) for r in body]


_BYTE = re.compile(r"[0-9a-f]{2}")
_REPEAT = re.compile(r"x(\d+)")


def hexdump(doc: str, name: str) -> bytes:
    """The bytes of the first fenced block after the marker. Lines are `OFFSET  bytes...  comment`;
    `x8` repeats the previous byte to 8 in all. Each line's offset must equal the bytes before it."""
    block = _after_marker(doc, name).split("```", 2)[1]
    out = bytearray()
    for ln in block.strip("\n").splitlines():
        tokens = ln.split()
        assert int(tokens[0], 16) == len(out), f"{doc} {name}: line {ln!r} starts at byte {len(out):#x}"
        for tok in tokens[1:]:
            if _BYTE.fullmatch(tok):
                out.append(int(tok, 16))
            elif (m := _REPEAT.fullmatch(tok)) and out:
                out += bytes([out[-1]]) * (int(m.group(1)) - 1)
            else:
                break  # the comment
    return bytes(out)


def ticks(cell: str) -> list[str]:
    """The `code` spans of a cell."""
    return re.findall(r"`([^`]*)`", cell)


def _expand(s: str) -> bytes:
    """Hex bytes with the dump's `x8` repeat notation ("01 00 x7")."""
    out = bytearray()
    for tok in s.split():
        m = _REPEAT.fullmatch(tok)
        out += bytes([out[-1]]) * (int(m.group(1)) - 1) if m else bytes.fromhex(tok)
    return bytes(out)


def hexbytes(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def ints(cell: str) -> tuple[int, ...]:
    return tuple(int(x.replace(",", "")) for x in re.findall(r"-?\d[\d,]*\d|-?\d", cell))


def number(cell: str) -> int:
    (n,) = ints(cell)
    return n


def stated_size(text: str) -> int:
    """The `N bytes` a paragraph states (exactly one)."""
    (n,) = {int(m.replace(",", "")) for m in re.findall(r"([\d,]+) bytes", text)}
    return n


@cache
def expected(case: str) -> dict[str, Any]:
    return json.loads((NDFIX / f"{case}.expected.json").read_text(encoding="utf-8"))


def _quiet_open(path: Path) -> ndparse.NDFile:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ndparse.NDFormatWarning)
        return ndparse.open(path, mmap=False)


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --- FORMAT.md §1: sniffing ------------------------------------------------------------------
def test_sniff_table_magics_and_fixtures() -> None:
    rows = table("FORMAT.md", "sniff")
    consts = {"npy": {C.NPY_MAGIC}, "legacy": {struct.pack("<Q", C.LIST_MAGIC)},
              "record": {struct.pack("<I", C.RecordMagic.V2), struct.pack("<I", C.RecordMagic.V3)}}
    seen_zip = set()
    for row in rows:
        prefixes = [hexbytes(t) for t in ticks(row["first bytes"]) if re.fullmatch(r"[0-9a-f ]+", t)]
        kind = row["ndparse `container`"]
        if kind == "npz":
            seen_zip.update(prefixes)
        else:
            assert set(prefixes) == consts[kind], row
        for fixture in ticks(row["example fixture"]):
            head = (NDFIX / fixture).read_bytes()
            assert any(head.startswith(p) for p in prefixes), (fixture, prefixes)
            assert _quiet_open(NDFIX / fixture).container == kind
    assert seen_zip == {C.ZIP_LOCAL_MAGIC, C.ZIP_EMPTY_MAGIC}


def test_record_magic_table() -> None:
    rows = table("FORMAT.md", "record-magics")
    assert [r["record"].split(":")[0].split()[0] for r in rows] == ["V3", "V2", "V1", "V0"]
    for row in rows:
        version = int(row["record"][1])
        f = _quiet_open(NDFIX / ticks(row["example fixture"])[0])
        assert f.record_versions == (version,)
        first = (NDFIX / ticks(row["example fixture"])[0]).read_bytes()[24:28]
        if version == 0:
            assert row["u32 value"] == "any other"
            assert struct.unpack("<I", first)[0] not in set(C.RecordMagic)
            continue
        value = int(ticks(row["u32 value"])[0], 16)
        assert value == C.RecordMagic[f"V{version}"]
        assert hexbytes(ticks(row["bytes on disk"])[0]) == struct.pack("<I", value) == first


# --- FORMAT.md §2, §3: container and building blocks ------------------------------------------
def test_container_table_against_mxnet_file() -> None:
    rows = {r["field"]: r for r in table("FORMAT.md", "container")}
    path = NDFIX / "v2_names.params"  # written by mx.nd.save(dict)
    data = path.read_bytes()
    f = _quiet_open(path)
    assert number(rows["header"]["offset"]) == 0
    assert struct.unpack_from("<Q", data, 0)[0] == int(ticks(rows["header"]["meaning"])[0], 16) == C.LIST_MAGIC
    assert number(rows["reserved"]["offset"]) == 8 and struct.unpack_from("<Q", data, 8)[0] == 0
    assert number(rows["n_arrays"]["offset"]) == 16 and struct.unpack_from("<Q", data, 16)[0] == len(f)
    assert number(rows["the arrays"]["offset"]) == 24 == f.records[0].offset
    assert all("u64" in r["type"] for k, r in rows.items() if k != "the arrays")  # every count is 64-bit
    assert f.named and rows["n_names"]["offset"] == "after the records"


def test_dev_and_storage_type_tables() -> None:
    dev = {number(r["dev_type"]): r["device"] for r in table("FORMAT.md", "dev-types")}
    assert dev == {int(m): m.name.lower() for m in C.DevType}
    for row in table("FORMAT.md", "storage-types"):
        st = C.StorageType(number(row["stype"]))
        assert row["storage"].split()[0] == st.name.lower()
        aux = row["index (aux) arrays"]
        assert (aux == "—") if st == C.StorageType.UNDEFINED else (number(aux) == C.N_AUX[st])


# --- FORMAT.md §6: type codes ------------------------------------------------------------------
@cache
def _doc_types() -> dict[int, dict[str, str]]:
    return {number(r["code"]): r for r in table("FORMAT.md", "type-codes")}


def _doc_dtype(code: int) -> np.dtype:
    cell = ticks(_doc_types()[code]["numpy dtype"])[0]
    return C.TYPE_DTYPES[C.TypeFlag.BFLOAT16] if cell == "bfloat16" else np.dtype(cell)


def test_type_code_table_against_constants() -> None:
    rows = _doc_types()
    assert sorted(rows) == sorted(int(t) for t in C.TypeFlag)
    for code, row in rows.items():
        assert row["mshadow name"].upper() == "K" + C.TypeFlag(code).name
        assert _doc_dtype(code) == C.TYPE_DTYPES[code]
        assert number(row["bytes"]) == C.TYPE_DTYPES[code].itemsize
        assert (row["MXNet 1.9.1 reads it"] == "yes") == (code in C.MXNET19_TYPE_CODES)
        descrs = ticks(row["`descr` in a 2.x `.npy`"])
        if code == C.TypeFlag.BFLOAT16:
            spelled = [ast.literal_eval(d) if d.startswith("[") else d for d in descrs]
            assert sorted(map(str, spelled)) == sorted(map(str, C.NPY_BFLOAT16_DESCRS))
        else:
            assert [np.dtype(d) for d in descrs] == [C.TYPE_DTYPES[code]]


def _mxnet_written_legacy_cases() -> list[str]:
    out = []
    for p in sorted(NDFIX.glob("*.expected.json")):
        meta = json.loads(p.read_text(encoding="utf-8"))
        if meta["kind"] in ("list", "dict") and meta["written_by"].startswith("mxnet") \
                and (NDFIX / meta["file"]).read_bytes()[:8] == struct.pack("<Q", C.LIST_MAGIC):
            out.append(meta["case"])
    return out


@pytest.mark.parametrize("case", _mxnet_written_legacy_cases())
def test_type_codes_in_mxnet_files_mean_what_mxnet_read(case: str) -> None:
    """Each dense record's stored type_flag, looked up in the doc's table, is the dtype MXNet
    itself returned for that entry (expected.json)."""
    meta = expected(case)
    f = _quiet_open(NDFIX / meta["file"])
    data = (NDFIX / meta["file"]).read_bytes()
    by_name = {e["name"]: e for e in meta["entries"]}
    last = {rec.name: rec.index for rec in f.records}  # with duplicate names MXNet keeps the last
    checked = 0
    for rec in f.records:
        if meta["kind"] == "dict" and last[rec.name] != rec.index:
            continue
        entry = meta["entries"][rec.index] if meta["kind"] == "list" else by_name[rec.name]
        if rec.stype != "default" or entry["stype"] != "default":
            continue
        code = struct.unpack_from("<i", data, rec.parts[0].offset - 4)[0]  # type_flag precedes data
        assert _doc_dtype(code).name == entry["dtype"], (rec.name, code)
        checked += 1
    assert checked or all(e["stype"] != "default" for e in meta["entries"])


# --- FORMAT.md §7, §8, §11: sparse, alignment, npy ------------------------------------------------
def test_sparse_table_aux_order_against_mxnet_files() -> None:
    rows = {C.StorageType(number(r["stype"].split()[0])): r for r in table("FORMAT.md", "sparse")}
    slots = {C.StorageType.ROW_SPARSE: {"indices": C.ROW_SPARSE_INDICES},
             C.StorageType.CSR: {"indptr": 0, "indices": C.CSR_INDICES}}  # indptr is aux 0
    for st, fixture in ((C.StorageType.ROW_SPARSE, "v2_row_sparse.params"),
                        (C.StorageType.CSR, "v2_csr.params")):
        row = rows[st]
        roles = [ticks(row[f"aux {k}"])[0] for k in (0, 1) if row[f"aux {k}"] != "—"]
        assert len(roles) == C.N_AUX[st]
        assert {r: i for i, r in enumerate(roles)} == slots[st]
        for rec in _quiet_open(NDFIX / fixture).records:
            assert rec.stype == C.STYPE_NAMES[st]
            assert [p.role for p in rec.parts] == ["data", *roles]


def test_stale_storage_shape_example() -> None:
    m = re.search(r"storage shape \((\d+), (\d+)\) with (\d+) row numbers reads (\d+) × (\d+) values",
                  _text("FORMAT.md"))
    assert m is not None
    s0, s1, n, r0, r1 = map(int, m.groups())
    rec = _quiet_open(NDFIX / "v2_rsp_stale_sshape.params").records[0]
    assert rec.storage_shape == (s0, s1)
    assert rec.parts[1].shape == (n,) and rec.parts[0].shape == (r0, r1)


def test_unaligned_example() -> None:
    m = re.search(r"float64 starts at byte\s+(\d+), which is (\d+) modulo 8", _text("FORMAT.md"))
    assert m is not None
    recs = _quiet_open(NDFIX / "v2_unaligned.params").records
    f64 = [r for r in recs if r.dtype == np.dtype("<f8")]
    assert [r.parts[0].offset for r in f64] == [int(m.group(1))] and int(m.group(1)) % 8 == int(m.group(2))


def test_npy_header_example() -> None:
    text = _paragraph("FORMAT.md", "npy-header")
    preamble = hexbytes(re.search(r"`([0-9a-f ]{29})`", text).group(1))
    header_len = int(re.search(r"HEADER_LEN (\d+)", text).group(1))
    data_at = int(re.search(r"data starts at\s+byte (\d+)", text).group(1))
    path = NDFIX / ticks(text)[0].removeprefix("fixtures/ndparse/")
    raw = path.read_bytes()
    assert raw[:10] == preamble == C.NPY_MAGIC + bytes([1, 0]) + struct.pack("<H", header_len)
    assert (10 + header_len) % 64 == 0 and 10 + header_len == data_at
    rec = _quiet_open(path).records[0]
    assert rec.parts[0].offset == data_at and rec.shape == (2, 3) and rec.dtype == np.dtype("<f4")


# --- FORMAT.md §12: what MXNet says --------------------------------------------------------------
@pytest.mark.parametrize("row", table("FORMAT.md", "load-errors"), ids=lambda r: ticks(r["fixture"])[0])
def test_load_error_table_quotes_mxnet(row: dict[str, str]) -> None:
    case = ticks(row["fixture"])[0]
    meta = expected(case)
    assert meta["kind"] == "error"
    message = ticks(row["MXNet 1.9.1 says"])[0]
    assert message in meta["mxnet_behaviour"], (message, meta["mxnet_behaviour"])
    with pytest.raises(ndparse.NDFormatError):
        ndparse.load(NDFIX / meta["file"])


# --- FORMAT.md §15: worked examples ---------------------------------------------------------------
def _example(name: str) -> bytes:
    data = hexdump("FORMAT.md", name)
    intro = _after_marker("FORMAT.md", name).split("```", 1)[0]
    assert len(data) == stated_size(intro)
    return data


def test_e1_is_the_mxnet_file_and_the_writer_output() -> None:
    data = _example("E1")
    assert data == (NDFIX / "v2_single.nd").read_bytes()
    x = np.arange(6, dtype="<f4").reshape(2, 3)
    assert data == ndparse.dumps([x]) == ndparse.dumps(x)
    assert bits_equal(ndparse.load(data)[0], x)


def test_e2_names() -> None:
    text = _paragraph("FORMAT.md", "E2")
    e1 = _example("E1")
    end = int(re.search(r"up to byte 0x([0-9a-f]+)", text).group(1), 16) + 1
    hex_ticks = [t for t in ticks(text) if re.fullmatch(r"[0-9a-f]{2}( ([0-9a-f]{2}|x\d+))*", t)]
    data = e1[:end] + b"".join(_expand(t) for t in hex_ticks[:3])
    assert len(data) == stated_size(text)
    assert data == ndparse.dumps({"w": np.arange(6, dtype="<f4").reshape(2, 3)})
    utf8 = "héllo".encode()
    assert f"length {len(utf8)}" in text and f"`{utf8.hex(' ')}`" in text
    assert list(ndparse.load(e1[:end] + struct.pack("<QQ", 1, len(utf8)) + utf8)) == ["héllo"]


def test_e4_payloads() -> None:
    text = _paragraph("FORMAT.md", "E4")
    values = [1, 0, 1, 1]
    f16 = hexbytes(re.search(r"float16 `([0-9a-f ]+)`", text).group(1))
    ints8 = hexbytes(re.search(r"bool `([0-9a-f ]+)`", text).group(1))
    for dt, want in (("<f2", f16), ("u1", ints8), ("i1", ints8), ("?", ints8)):
        arr = np.array(values, dt)
        out = ndparse.load(ndparse.dumps([arr]))[0]
        assert out.tobytes() == want and bits_equal(out, arr)


def test_e5_is_mxnets_v3_scalar() -> None:
    data = _example("E5")
    assert data == (NDFIX / "pickled_np_scalar.bin").read_bytes()
    assert data == (NDFIX / "v3_list.params").read_bytes()[0x18:0x18 + len(data)]
    (out,) = ndparse.load(data)
    assert bits_equal(out, np.array(3.5, "<f4"))
    assert ndparse.dumps([np.array(3.5, "<f4")], np_shape=True)[24:-8] == data


def test_e7_row_sparse() -> None:
    data = _example("E7")
    rsp = ndparse.RowSparseArray(np.array([[1, 2], [3, 4]], "<f4"), np.array([1, 3], "<i8"), (5, 2))
    assert data == ndparse.dumps([rsp])
    (out,) = ndparse.load(data)
    assert isinstance(out, ndparse.RowSparseArray) and bits_equal(out.todense(), rsp.todense())


def test_e8_csr() -> None:
    data = _example("E8")
    csr = ndparse.CSRArray(np.array([1, 2, 3], "<f4"), np.array([0, 2, 2, 3], "<i8"),
                           np.array([0, 2, 1], "<i8"), (3, 4))
    assert data == ndparse.dumps([csr])
    (out,) = ndparse.load(data)
    assert isinstance(out, ndparse.CSRArray) and bits_equal(out.todense(), csr.todense())


def test_e9_v1_and_the_real_011_file() -> None:
    data = hexdump("FORMAT.md", "E9")
    x = np.arange(1, 5, dtype="<f4").reshape(2, 2)
    y = np.arange(5, 9, dtype="<f4").reshape(2, 2)
    assert data == container([v1(x, 0), v1(y, 0)], ["X", "Y"])
    out = ndparse.load(data)
    assert list(out) == ["X", "Y"] and bits_equal(out["X"], x) and bits_equal(out["Y"], y)
    real_path = ROOT / re.search(r"`(fixtures/ndparse/realworld_[^`]+)`",
                                 _after_marker("FORMAT.md", "E9")).group(1)
    real = _quiet_open(real_path)
    assert real.record_versions == (1,) and list(real) == ["X", "Y"]
    assert real_path.read_bytes()[24:32] == data[24:32]  # V1 magic, ndim 2


def test_e10_v0_and_mxnets_legacy_file() -> None:
    data = hexdump("FORMAT.md", "E10")
    x = np.arange(4, dtype="<f4")
    assert data == container([v0(x, 0)])
    assert bits_equal(ndparse.load(data)[0], x)
    real_path = ROOT / re.search(r"`(fixtures/ndparse/realworld_[^`]+)`",
                                 _after_marker("FORMAT.md", "E10")).group(1)
    real = ndparse.load(real_path)
    assert len(real) == 6 and all(bits_equal(a, np.arange(128, dtype="<f4")) for a in real)
    assert real_path.read_bytes()[24:28] == data[24:28]  # ndim 1 in place of a magic


def test_e11_pickled_record() -> None:
    data = hexbytes(ticks(_paragraph("FORMAT.md", "E11"))[-1])
    x = np.array([1.0, 2.0], "<f4")
    assert data == ndparse.dumps([x])[24:-8]
    (out,) = ndparse.load(data)
    assert bits_equal(out, x)
    assert _quiet_open(NDFIX / "pickled_f32.bin").container == "record"


@pytest.mark.parametrize("row", table("FORMAT.md", "realworld"), ids=lambda r: ticks(r["fixture"])[0])
def test_realworld_table(row: dict[str, str]) -> None:
    path = NDFIX / ticks(row["fixture"])[0]
    assert path.stat().st_size == number(row["bytes"])
    m = re.fullmatch(r"V(\d) (list|dict) of (\d+)", row["layout"])
    assert m is not None, row["layout"]
    f = _quiet_open(path)
    assert f.record_versions == (int(m.group(1)),)
    assert f.named == (m.group(2) == "dict") and len(f) == int(m.group(3))


# --- SYMBOL.md -----------------------------------------------------------------------------------
SYMBOL_FIXTURES = sorted([*NDFIX.glob("*-symbol.json"), *DPNFIX.glob("*-symbol.json")])


@pytest.mark.parametrize("path", SYMBOL_FIXTURES, ids=lambda p: p.name)
def test_symbol_top_level_keys(path: Path) -> None:
    rows = {ticks(r["top-level key"])[0]: r for r in table("SYMBOL.md", "symbol-keys")}
    graph = json.loads(path.read_text(encoding="utf-8"))
    assert set(graph) <= set(rows)
    assert {k for k, r in rows.items() if r["required"].startswith("yes")} <= set(graph)
    version = graph["attrs"]["mxnet_version"]
    assert version[0] == "int" and version[1] in (10901, 20000)
    assert ("is_np_shape" in graph["attrs"]) == (version[1] == 20000)
    for node in graph["nodes"]:
        assert set(node) <= {ticks(r["field"])[0] for r in table("SYMBOL.md", "node-fields")}
        for entry in node["inputs"]:
            assert len(entry) in (2, 3) and entry[0] < len(graph["nodes"])


def test_symbol_examples_are_json() -> None:
    blocks = re.findall(r"```json\n(.*?)```", _text("SYMBOL.md"), re.S)
    assert len(blocks) == 2
    old, new = (json.loads(b) for b in blocks)
    assert "mxnet_version" not in old.get("attrs", {})
    assert new["attrs"]["mxnet_version"] == ["int", 10901]
    assert [n["name"] for n in new["nodes"] if n["op"] == "null"] == \
        ["data", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var"]


# --- DPN.md ---------------------------------------------------------------------------------------
@cache
def manifests() -> dict[str, dict[str, Any]]:
    out = {}
    for p in sorted((DPNFIX / "manifests").glob("*.json")):
        m = json.loads(p.read_text(encoding="utf-8"))
        out[m["prefix"]] = m
    return out


def _manifest_for(network: str) -> dict[str, Any]:
    """The 1000-class manifest of a network (its first released prefix)."""
    return next(m for m in manifests().values() if m["network"] == network and m["num_classes"] == 1000)


@pytest.fixture(scope="module")
def dpn() -> Any:
    """dpn_torch's public names and the rules and constants of its modules, in one namespace."""
    pytest.importorskip("torch")
    from types import SimpleNamespace

    from dpn_torch import config, convert, keys, model

    names: dict[str, Any] = {}
    for module in (config, keys, model, convert):
        names.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return SimpleNamespace(**names)


@cache
def _meta_model(name: str, num_classes: int = 1000) -> Any:
    import torch

    import dpn_torch

    with torch.device("meta"):  # shapes only
        return getattr(dpn_torch, name)(num_classes=num_classes)


def test_variant_table(dpn: Any) -> None:
    rows = table("DPN.md", "variants")
    assert [r["variant"] for r in rows] != [] and {r["variant"] for r in rows} == set(dpn.MODEL_CONFIGS)
    for row in rows:
        name = row["variant"]
        cfg = dpn.MODEL_CONFIGS[name]
        model = _meta_model(name)
        assert (row["small"] == "yes") == cfg.small
        assert (row["b"] == "yes") == cfg.b
        assert number(row["init channels"]) == cfg.num_init_features
        stem = model.features.conv1_1.conv
        assert ints(row["stem conv (kernel / pad)"]) == (stem.kernel_size[0], stem.padding[0])
        assert number(row["k_r"]) == cfg.k_r and number(row["groups G"]) == cfg.groups
        assert ints(row["k_sec (conv2..conv5)"]) == cfg.k_sec
        assert ints(row["inc_sec"]) == cfg.inc_sec
        assert number(row["final channels"]) == cfg.num_features == model.num_features
        n_params = number(row["parameters (1000 classes)"])
        assert n_params == sum(p.numel() for p in model.parameters())
        m = _manifest_for(name)
        assert m["n_params"] == n_params
        mc = m["config"]
        assert (mc["small"], mc["init_ch"], mc["k_r"], mc["G"], tuple(mc["k_sec"]), tuple(mc["inc_sec"])) \
            == (cfg.small, cfg.num_init_features, cfg.k_r, cfg.groups, cfg.k_sec, cfg.inc_sec)


def test_checkpoint_table_against_manifests(dpn: Any) -> None:
    rows = table("DPN.md", "checkpoints")
    assert {ticks(r["prefix"])[0] for r in rows} == set(manifests())
    for row in rows:
        m = manifests()[ticks(row["prefix"])[0]]
        assert row["dpn_torch model"] == m["network"]
        assert number(row["classes"]) == m["num_classes"]
        assert ticks(row["classifier"]) == [m["classifier"]]
        assert (m["network"] == "dpn68b") == m["b"]
        for n in ints(row["what it is"]):
            if n > 1_000_000:  # a parameter count
                assert n == m["n_params"]


def test_stage_width_table(dpn: Any) -> None:
    rows = table("DPN.md", "stage-widths")
    for row in rows:
        for name in [v.strip() for v in row["variant"].split(",")]:
            s = number(row["stage"].removeprefix("conv")) - 2
            cfg = dpn.MODEL_CONFIGS[name]
            w = cfg.stage_widths()[s]
            model = _meta_model(name)
            blocks = [getattr(model.features, f"conv{s + 2}_{i}") for i in range(1, w["blocks"] + 1)]
            first = blocks[0]
            proj = first.c1x1_w_s1 if s == 0 else first.c1x1_w_s2
            out_ch = (model.features.conv5_bn_ac.bn.num_features if s == 3
                      else getattr(model.features, f"conv{s + 3}_1").c1x1_a.bn.num_features)
            assert number(row["blocks"]) == w["blocks"] == len(blocks)
            assert number(row["input channels of block 1"]) == first.c1x1_a.conv.in_channels
            assert number(row["r"]) == w["r"] == first.c3x3_b.conv.out_channels
            assert number(row["channels per group"]) == first.c3x3_b.conv.weight.shape[1]
            assert number(row["bw"]) == w["bw"] and number(row["inc"]) == w["inc"]
            assert number(row["projection out"]) == proj.conv.out_channels
            assert number(row["stage out"]) == out_ch


def _manifest_shapes(prefix: str) -> dict[str, tuple[int, ...]]:
    return {k: tuple(s) for k, s in manifests()[prefix]["keys"]}


def test_identify_table_against_manifests(dpn: Any) -> None:
    rows = table("DPN.md", "identify")
    assert {ticks(r["prefix"])[0] for r in rows} == set(manifests())
    for row in rows:
        prefix = ticks(row["prefix"])[0]
        shapes = _manifest_shapes(prefix)
        m = manifests()[prefix]
        assert ints(row["`arg:conv1_x_1__conv_weight`"]) == shapes["arg:conv1_x_1__conv_weight"]
        c3 = shapes["arg:conv2_x__1_c3x3-b__conv_weight"]
        assert ints(row["`arg:conv2_x__1_c3x3-b__conv_weight`"]) == c3
        assert number(row["G"]) == c3[0] // c3[1] == m["config"]["G"]
        blocks = tuple(max(int(mm.group(1)) for k in shapes
                           if (mm := re.match(rf"arg:conv{s}_x__(\d+)_", k))) for s in range(2, 6))
        assert ints(row["blocks per stage"]) == blocks
        assert (row["`c1x1-c1` keys"] == "yes") == any("c1x1-c1" in k for k in shapes)
        fc = ticks(row["classifier"])[0]
        assert shapes[f"arg:{fc}_weight"] == ints(row["classifier"].split("`")[-1])
        cfg, classifier = dpn.infer_config(shapes)
        assert classifier == fc and dpn.variant_name(cfg) == m["network"]
        assert cfg.num_classes == m["num_classes"]


def test_key_count_table(dpn: Any) -> None:
    rows = table("DPN.md", "key-counts")
    assert {r["variant"] for r in rows} == set(dpn.MODEL_CONFIGS)
    for row in rows:
        m = _manifest_for(row["variant"])
        sd = _meta_model(row["variant"]).state_dict()
        tracked = sum(k.endswith("num_batches_tracked") for k in sd)
        assert number(row["`arg:` keys"]) == m["n_arg"]
        assert number(row["`aux:` keys"]) == m["n_aux"]
        assert number(row["mapped PyTorch keys"]) == m["n_arg"] + m["n_aux"] == len(sd) - tracked
        assert number(row["`num_batches_tracked`"]) == tracked
        assert number(row["full state_dict"]) == len(sd)


def _v0_size(keys: list[tuple[str, tuple[int, ...]]]) -> int:
    """The formula DPN.md §4.1 states: 24 + Σ(4 + 4·ndim + 8 + 4 + 4·size) + 8 + Σ(8 + len(key))."""
    return (24 + sum(4 + 4 * len(s) + 8 + 4 + 4 * math.prod(s) for _, s in keys)
            + 8 + sum(8 + len(k.encode()) for k, _ in keys))


def test_v0_size_table_and_formula() -> None:
    assert "24 + Σ(4 + 4·ndim + 8 + 4 + 4·size) + 8 + Σ(8 + len(key))" in _text("DPN.md")
    rows = table("DPN.md", "v0-sizes")
    assert {ticks(r["prefix"])[0] for r in rows} == set(manifests())
    for row in rows:
        m = manifests()[ticks(row["prefix"])[0]]
        size = number(row["bytes"])
        assert size == m["v0_file_bytes"] == _v0_size([(k, tuple(s)) for k, s in m["keys"]])
        assert row["MiB"] == f"{size / 2**20:.2f}"
        assert number(row["cypw README \"Size\""]) == math.ceil(size / 2**20)
    # the formula on the byte-built V0 fixtures that MXNet read back
    v0_files = sorted(DPNFIX.glob("*_v0-0000.params"))
    assert v0_files
    for path in v0_files:
        f = _quiet_open(path)
        assert f.record_versions == (0,)
        assert path.stat().st_size == _v0_size([(r.name, r.shape) for r in f.records])


def test_constants_table(dpn: Any) -> None:
    from dpn_torch import model as dpn_model

    rows = {r["quantity"]: r for r in table("DPN.md", "constants")}
    assert float(rows["BN eps"]["value"]) == dpn.BN_EPS
    assert all(m.eps == dpn.BN_EPS for m in _meta_model("dpn68").modules() if hasattr(m, "eps"))
    assert tuple(map(float, rows["pixel mean (RGB, 0..255)"]["value"].split(","))) == \
        dpn.PREPROCESSING.pixel_mean
    assert float(rows["pixel scale"]["value"]) == dpn.PREPROCESSING.pixel_scale
    assert dpn.DPN_MEAN == tuple(v / 255 for v in dpn.PREPROCESSING.pixel_mean)
    assert dpn.DPN_STD == (1 / (dpn.PREPROCESSING.pixel_scale * 255),) * 3
    assert ints(rows["input size (plain evaluation)"]["value"]) == dpn.INPUT_SIZE
    assert ints(rows["input size (mean-max evaluation)"]["value"]) == dpn.PREPROCESSING.test_input_size
    assert number(rows["mean-max window"]["value"]) == dpn_model._TTP_WINDOW


def test_key_mapping_examples(dpn: Any) -> None:
    rows = table("DPN.md", "key-examples")
    assert {r["network"] for r in rows} == {"any", "plain", "b"}
    for row in rows:
        (torch_key,), (mx_key,) = ticks(row["PyTorch key"]), ticks(row["MXNet key"])
        got = dpn.mxnet_key_to_torch(mx_key)
        assert got is not None and got[0] == torch_key
        for b in {"any": (False, True), "plain": (False,), "b": (True,)}[row["network"]]:
            assert dpn.torch_key_to_mxnet(torch_key, b=b) == mx_key
        # and a released checkpoint of that kind holds the key, with the PyTorch shape
        prefix = "dpn68-extra" if row["network"] == "b" else "dpn68"
        shapes = _manifest_shapes(prefix)
        sd = _meta_model("dpn68b" if row["network"] == "b" else "dpn68").state_dict()
        assert mx_key in shapes
        want = tuple(sd[torch_key].shape)
        assert shapes[mx_key] == (want[:2] if torch_key == "classifier.weight" else want)
