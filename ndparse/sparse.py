"""Sparse arrays as stored by MXNet: row_sparse and csr, small objects with exact parts.

They keep the stored parts bit-exact and can densify (`todense`) or, when scipy happens to be
installed, convert to `scipy.sparse` (`to_scipy`). scipy is never required.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._index import numpy_shape_problem
from .errors import NDFormatError, warn


class _SparseBase:
    stype: str = ""
    __slots__ = ("data", "shape", "_where")

    data: np.ndarray
    shape: tuple[int, ...]

    @property
    def dtype(self) -> np.dtype:
        """dtype of the stored values."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """Number of logical dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of logical elements (as in a dense array)."""
        return math.prod(self.shape)

    def _err(self, message: str, expected: str, found: str) -> NDFormatError:
        file, offset = self._where
        return NDFormatError(f"invalid {self.stype} array: {message}", file=file, offset=offset,
                             expected=expected, found=found)

    def _check_dense_shape(self) -> None:
        # todense() must be able to make the logical shape: refuse what numpy cannot hold
        problem = numpy_shape_problem(self.data.dtype.itemsize, self.shape)
        if problem is not None:
            raise self._err("logical shape cannot be held by an array", "a shape numpy can hold",
                            problem)


class RowSparseArray(_SparseBase):
    """MXNet row_sparse: `data[i]` is row `indices[i]` of a `shape` array; other rows are zero."""

    stype = "row_sparse"
    __slots__ = ("indices",)

    def __init__(self, data: np.ndarray, indices: np.ndarray, shape: tuple[int, ...], *,
                 _where: tuple[str | None, int | None] = (None, None)) -> None:
        self.data = data
        self.indices = indices
        self.shape = tuple(int(d) for d in shape)
        self._where = _where
        self._validate()

    def _validate(self) -> None:
        if len(self.shape) < 1:
            raise self._err("row_sparse needs at least one dimension", "ndim >= 1", "ndim 0")
        self._check_dense_shape()
        if self.indices.ndim != 1 or self.data.shape[:1] != self.indices.shape:
            raise self._err("values and row indices disagree", f"{self.indices.shape[0]} value rows",
                            f"values of shape {self.data.shape}")
        if tuple(self.data.shape[1:]) != self.shape[1:]:
            raise self._err("value rows have the wrong shape", f"{self.shape[1:]}",
                            f"{tuple(self.data.shape[1:])}")
        idx = self.indices
        if idx.size:
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= self.shape[0]:
                raise self._err("row index out of range", f"0 <= index < {self.shape[0]}",
                                f"index {lo if lo < 0 else hi}")
            if idx.size > 1 and not bool(np.all(idx[1:] > idx[:-1])):
                warn(f"{self._where[0] or '<buffer>'}: row_sparse row indices are not strictly "
                     "increasing (MXNet expects sorted unique rows); todense() keeps the last")

    def todense(self) -> np.ndarray:
        """The dense array MXNet's tostype('default') gives."""
        out = np.zeros(self.shape, dtype=self.data.dtype)
        if self.indices.size:
            out[self.indices.astype(np.intp, copy=False)] = self.data
        return out

    def to_scipy(self) -> Any:
        """A scipy.sparse.csr_array of a 2-D row_sparse array (scipy must be installed)."""
        import scipy.sparse  # optional dependency, imported only on request

        if len(self.shape) != 2:
            raise ValueError("only a 2-D row_sparse array converts to scipy.sparse")
        return scipy.sparse.csr_array(self.todense())

    def __repr__(self) -> str:
        return (f"RowSparseArray(shape={self.shape}, dtype={self.dtype}, "
                f"stored_rows={self.indices.shape[0]})")


class CSRArray(_SparseBase):
    """MXNet csr: compressed sparse rows (`data`, `indptr`, `indices`) of a 2-D `shape` array."""

    stype = "csr"
    __slots__ = ("indptr", "indices")

    def __init__(self, data: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                 shape: tuple[int, ...], *,
                 _where: tuple[str | None, int | None] = (None, None)) -> None:
        self.data = data
        self.indptr = indptr
        self.indices = indices
        self.shape = tuple(int(d) for d in shape)
        self._where = _where
        self._validate()

    def _validate(self) -> None:
        if len(self.shape) != 2:
            raise self._err("csr needs exactly two dimensions", "ndim 2", f"ndim {len(self.shape)}")
        self._check_dense_shape()
        rows, cols = self.shape
        if self.indptr.shape != (rows + 1,):
            raise self._err("indptr has the wrong length", f"({rows + 1},)", f"{self.indptr.shape}")
        if self.data.ndim != 1 or self.indices.shape != self.data.shape:
            raise self._err("values and column indices disagree", f"{self.indices.shape}",
                            f"values of shape {self.data.shape}")
        ptr = self.indptr.astype(np.int64, copy=False)
        nnz = self.data.shape[0]
        if int(ptr[0]) != 0 or int(ptr[-1]) != nnz:
            raise self._err("indptr must start at 0 and end at nnz", f"0 .. {nnz}",
                            f"{int(ptr[0])} .. {int(ptr[-1])}")
        if rows and not bool(np.all(ptr[1:] >= ptr[:-1])):
            raise self._err("indptr is not non-decreasing", "non-decreasing indptr", "a decrease")
        idx = self.indices
        if idx.size:
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= cols:
                raise self._err("column index out of range", f"0 <= index < {cols}",
                                f"index {lo if lo < 0 else hi}")
            rising = idx[1:] > idx[:-1]
            starts = ptr[1:-1]
            rising[starts[(starts > 0) & (starts < nnz)] - 1] = True  # row boundaries
            if not bool(np.all(rising)):
                warn(f"{self._where[0] or '<buffer>'}: csr column indices are not strictly "
                     "increasing within a row (MXNet expects sorted unique columns)")

    def todense(self) -> np.ndarray:
        """The dense array MXNet's tostype('default') gives."""
        out = np.zeros(self.shape, dtype=self.data.dtype)
        if self.data.size:
            counts = np.diff(self.indptr.astype(np.int64, copy=False))
            rows = np.repeat(np.arange(self.shape[0], dtype=np.intp), counts)
            out[rows, self.indices.astype(np.intp, copy=False)] = self.data
        return out

    def to_scipy(self) -> Any:
        """A scipy.sparse.csr_array with the same parts (scipy must be installed)."""
        import scipy.sparse  # optional dependency, imported only on request

        return scipy.sparse.csr_array((self.data, self.indices, self.indptr), shape=self.shape)

    def __repr__(self) -> str:
        return f"CSRArray(shape={self.shape}, dtype={self.dtype}, nnz={self.data.shape[0]})"
