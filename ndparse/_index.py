"""Index entries of a parsed file: where each array's bytes are, without touching them.

Parsing builds a sequence of `RecordInfo`; loading, lazy access, inspection and conversion all
work from it (the safetensors / gguf-py way). The legacy container keeps its index in compact
columns and makes each `RecordInfo` when asked (see `_legacy.LegacyRecords`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import constants as C


class Part(NamedTuple):
    """One contiguous array inside the file: dense data, sparse values or a sparse index."""

    role: str                  # "data", "indices" or "indptr"
    dtype: np.dtype            # as stored (may be big-endian for a hand-made npy)
    shape: tuple[int, ...]     # as stored (reversed for a Fortran-order npy)
    offset: int                # absolute byte offset of the first element in the file (or member)
    nbytes: int                # itemsize * prod(shape)
    fortran: bool = False      # npy fortran_order: the bytes are the transpose
    member: str | None = None  # compressed npz member holding the bytes (offset is then inside it)


class RecordInfo(NamedTuple):
    """The index entry of one stored array: name, type, shape, layout, and where its bytes are."""

    index: int                            # position in the file
    name: str | int                       # the stored name, or the position for unnamed lists
    stype: str                            # "default", "row_sparse", "csr" or "none"
    dtype: np.dtype | None                # dtype of the values (None for a none record)
    shape: tuple[int, ...] | None         # logical shape (None for a none record)
    version: int | None                   # record version 0..3; None for npy / npz members
    offset: int                           # byte offset where the record (or npz member) starts
    nbytes: int                           # payload bytes: values plus index arrays
    parts: tuple[Part, ...] = ()          # the arrays to read
    context: tuple[int, int] | None = None  # (dev_type, dev_id) as stored; irrelevant to the bytes
    storage_shape: tuple[int, ...] | None = None  # sparse only, as written in the record

    @property
    def size(self) -> int:
        """Number of logical elements (0 for a none record)."""
        return 0 if self.shape is None else math.prod(self.shape)

    @property
    def type_name(self) -> str:
        """The dtype as a short string ("float32", "bfloat16", ...), or "none"."""
        return "none" if self.dtype is None else dtype_name(self.dtype)


def dtype_name(dtype: np.dtype) -> str:
    """Short readable name of a dtype ("float32", "bool", "bfloat16", ...)."""
    return np.dtype(dtype).name


def numpy_shape_problem(itemsize: int, shape: tuple[int, ...]) -> str | None:
    """Why numpy cannot make an array of this shape (None when it can), without asking numpy."""
    if len(shape) > C.NPY_MAXDIMS:
        return f"{len(shape)} dimensions (numpy holds at most {C.NPY_MAXDIMS})"
    n = itemsize
    for d in shape:
        if d:
            n *= d
    if n > C.NPY_MAX_BYTES:
        return f"dims whose product overflows int64 ({itemsize} x {' x '.join(map(str, shape))})"
    return None
