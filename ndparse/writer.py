"""Writing MXNet NDArray files byte for byte as `mx.nd.save` does (docs/FORMAT.md §2-§4, §17).

V2 records (stype, Shape64, context cpu(0)) in the 0x112 container by default, readable by every
MXNet from 0.12 to 1.9.1 (and 2.x after `npx.reset_np()`); V3 records with `np_shape=True`, as
MXNet writes in numpy-shape mode. The file appears whole or not at all.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from typing import IO, Any, Union

import numpy as np

from . import constants as C
from ._atomic import atomic_write
from .errors import warn
from .sparse import CSRArray, RowSparseArray

Savable = Union[np.ndarray, RowSparseArray, CSRArray]
_CPU0 = struct.pack("<ii", C.DevType.CPU, 0)


def _type_flag(dtype: np.dtype, what: str) -> C.TypeFlag:
    try:
        return C.dtype_to_type_flag(dtype)
    except KeyError:
        raise TypeError(f"{what}: dtype {dtype} has no MXNet type code (supported: float32, "
                        "float64, float16, uint8, int32, int8, int64, bool, int16, uint16, "
                        "uint32, uint64, bfloat16)") from None


def _shape64(shape: tuple[int, ...]) -> bytes:
    return struct.pack(f"<i{len(shape)}q", len(shape), *shape)


def _le_bytes(arr: np.ndarray) -> memoryview:
    """The array's elements in C order, little-endian, without a copy when already so."""
    if arr.dtype.names == ("bfloat16",):
        arr = arr.view("<u2")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    arr = np.ascontiguousarray(arr)
    return memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")


def _dense_record(arr: np.ndarray, magic: int, what: str) -> list[bytes | memoryview]:
    code = _type_flag(arr.dtype, what)
    if arr.ndim == 0 and magic == C.RecordMagic.V2:
        raise ValueError(f"{what}: a 0-d array cannot be stored in a V2 record (ndim 0 means "
                         "'none' there); save with np_shape=True, or reshape it to (1,)")
    if code not in C.MXNET19_TYPE_CODES:
        warn(f"{what}: {arr.dtype} (type code {int(code)}) is read by MXNet 2.x only; MXNet "
             f"1.9.1 fails with 'Unknown type enum {int(code)}'")
    head = struct.pack("<Ii", magic, C.StorageType.DEFAULT) + _shape64(arr.shape)
    return [head + _CPU0 + struct.pack("<i", code), _le_bytes(arr)]


def _sparse_record(arr: RowSparseArray | CSRArray, what: str) -> list[bytes | memoryview]:
    code = _type_flag(arr.dtype, what)
    if isinstance(arr, RowSparseArray):
        stype = C.StorageType.ROW_SPARSE
        aux = [np.asarray(arr.indices, dtype="<i8")]
        storage = (aux[0].shape[0],) + tuple(arr.shape[1:])
    else:
        stype = C.StorageType.CSR
        aux = [np.asarray(arr.indptr, dtype="<i8"), np.asarray(arr.indices, dtype="<i8")]
        storage = (aux[1].shape[0],)
    head = (struct.pack("<Ii", C.RecordMagic.V2, stype) + _shape64(storage) + _shape64(arr.shape)
            + _CPU0 + struct.pack("<i", code))
    for a in aux:  # every (aux type, aux shape) pair before the values (docs/FORMAT.md §4.3)
        head += struct.pack("<i", C.TypeFlag.INT64) + _shape64(a.shape)
    return [head, _le_bytes(np.asarray(arr.data))] + [_le_bytes(a) for a in aux]


def _record(value: Any, magic: int, what: str) -> list[bytes | memoryview]:
    if isinstance(value, (RowSparseArray, CSRArray)):
        if magic == C.RecordMagic.V3:
            raise ValueError(f"{what}: MXNet refuses sparse arrays in numpy-shape (V3) files; "
                             "save with np_shape=False")
        return _sparse_record(value, what)
    if value is None:
        raise ValueError(f"{what}: cannot save None (MXNet cannot save an uninitialised array)")
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
        if value.dtype.kind in "OUSV" or value.dtype.kind == "c":
            raise TypeError(f"{what}: not a numeric array")
    return _dense_record(value, magic, what)


def encode(arrays: Mapping[str, Savable] | Sequence[Savable] | np.ndarray, *,
           np_shape: bool = False) -> list[bytes | memoryview]:
    """The chunks of the file `save` writes, in order (their concatenation is the file)."""
    magic = C.RecordMagic.V3 if np_shape else C.RecordMagic.V2
    if isinstance(arrays, (np.ndarray, RowSparseArray, CSRArray)):
        arrays = [arrays]  # mx.nd.save of a bare NDArray writes [x]
    if isinstance(arrays, Mapping):
        names = [str(k) if not isinstance(k, str) else k for k in arrays.keys()]
        values = list(arrays.values())
    elif isinstance(arrays, Sequence):
        names, values = [], list(arrays)
    else:
        raise TypeError(f"arrays must be a dict, a list or an array, not {type(arrays).__name__}")
    chunks: list[bytes | memoryview] = [struct.pack("<QQQ", C.LIST_MAGIC, 0, len(values))]
    for i, v in enumerate(values):
        chunks += _record(v, magic, f"array {names[i]!r}" if names else f"array {i}")
    chunks.append(struct.pack("<Q", len(names)))  # an empty dict is written as an empty list
    for nm in names:
        raw = nm.encode("utf-8")
        chunks.append(struct.pack("<Q", len(raw)) + raw)
    return chunks


def dumps(arrays: Mapping[str, Savable] | Sequence[Savable] | np.ndarray, *,
          np_shape: bool = False) -> bytes:
    """The bytes `save` would write, as one bytes object."""
    return b"".join(bytes(c) if isinstance(c, memoryview) else c
                    for c in encode(arrays, np_shape=np_shape))


def save(path: str | os.PathLike[str] | IO[bytes],
         arrays: Mapping[str, Savable] | Sequence[Savable] | np.ndarray, *,
         np_shape: bool = False) -> None:
    """Write arrays as `mx.nd.save` does: V2 records (V3 with np_shape=True), cpu(0) context.

    `arrays` is a dict (names stored) or a list (no names) of numpy arrays and RowSparseArray /
    CSRArray. A path is written atomically: a failed save never leaves a partial file there.
    """
    chunks = encode(arrays, np_shape=np_shape)  # validate everything before touching the disk
    if hasattr(path, "write"):
        for c in chunks:
            path.write(c)  # type: ignore[union-attr]
        return
    with atomic_write(path) as f:  # type: ignore[arg-type]
        for c in chunks:
            f.write(c)
