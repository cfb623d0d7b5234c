"""Build MXNet NDArray bytes by hand from FORMAT.md, independently of ndparse's writer."""

from __future__ import annotations

import struct

import numpy as np

V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA


def container(records: list[bytes], names: list[str] | None = None, reserved: int = 0,
              trailing: bytes = b"") -> bytes:
    out = struct.pack("<QQQ", 0x112, reserved, len(records)) + b"".join(records)
    names = names or []
    out += struct.pack("<Q", len(names))
    for n in names:
        raw = n.encode("utf-8")
        out += struct.pack("<Q", len(raw)) + raw
    return out + trailing


def shape64(dims: tuple[int, ...]) -> bytes:
    return struct.pack(f"<i{len(dims)}q", len(dims), *dims)


def ctx_type(code: int, dev: tuple[int, int] = (1, 0)) -> bytes:
    return struct.pack("<iii", dev[0], dev[1], code)


def v0(arr: np.ndarray, code: int, dev: tuple[int, int] = (1, 0)) -> bytes:
    """V0 record: u32 ndim, u32 dims, context, type, data (FORMAT.md §4.1)."""
    return (struct.pack(f"<I{arr.ndim}I", arr.ndim, *arr.shape) + ctx_type(code, dev)
            + np.ascontiguousarray(arr).tobytes())


def v1(arr: np.ndarray, code: int) -> bytes:
    """V1 record: magic, u32 ndim, i64 dims, context, type, data (§4.2)."""
    return (struct.pack(f"<II{arr.ndim}q", V1, arr.ndim, *arr.shape) + ctx_type(code)
            + np.ascontiguousarray(arr).tobytes())


def v2(arr: np.ndarray, code: int, magic: int = V2, dev: tuple[int, int] = (1, 0)) -> bytes:
    """Dense V2/V3 record (§4.3)."""
    return (struct.pack("<Ii", magic, 0) + shape64(arr.shape) + ctx_type(code, dev)
            + np.ascontiguousarray(arr).tobytes())


def none_v0() -> bytes:
    return struct.pack("<I", 0)


def none_v1() -> bytes:
    return struct.pack("<II", V1, 0)


def none_v2() -> bytes:
    return struct.pack("<Ii", V2, 0) + shape64(())


def none_v3_dim() -> bytes:
    return struct.pack("<Ii", V3, 0) + shape64((2, -1))


def row_sparse(values: np.ndarray, idx: list[int], shape: tuple[int, ...], code: int = 0,
               storage: tuple[int, ...] | None = None, aux_code: int = 6) -> bytes:
    storage = storage if storage is not None else (len(idx),) + shape[1:]
    aux_dt = "<i8" if aux_code == 6 else "<i4"
    return (struct.pack("<Ii", V2, 1) + shape64(storage) + shape64(shape) + ctx_type(code)
            + struct.pack("<i", aux_code) + shape64((len(idx),))
            + values.tobytes() + np.array(idx, aux_dt).tobytes())


def csr(values: np.ndarray, indptr: list[int], indices: list[int], shape: tuple[int, int],
        code: int = 0) -> bytes:
    return (struct.pack("<Ii", V2, 2) + shape64((len(indices),)) + shape64(shape) + ctx_type(code)
            + struct.pack("<i", 6) + shape64((len(indptr),))
            + struct.pack("<i", 6) + shape64((len(indices),))
            + values.tobytes() + np.array(indptr, "<i8").tobytes()
            + np.array(indices, "<i8").tobytes())


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bytes (NaN payloads and -0.0 included)."""
    return (a.dtype == b.dtype and a.shape == b.shape
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())
