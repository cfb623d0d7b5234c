"""The MXNet NDArray file format as constants, in the order of docs/FORMAT.md.

Everything the reader and the writer need to know about magic numbers, type codes and
storage types lives here, so that the parsing code reads like the spec.
"""

from __future__ import annotations

import re
from enum import IntEnum

import numpy as np

# --- §1 identifying the file -------------------------------------------------------------
NPY_MAGIC = b"\x93NUMPY"          # MXNet >= 2.0 npx.save: one dense unnamed array (§11)
ZIP_LOCAL_MAGIC = b"PK\x03\x04"   # .npz (npx.savez, Gluon save_parameters/export in 2.x)
ZIP_EMPTY_MAGIC = b"PK\x05\x06"   # .npz with no members

# --- §2 legacy container ----------------------------------------------------------------
LIST_MAGIC = 0x112                # kMXAPINDArrayListMagic, u64 at offset 0


class RecordMagic(IntEnum):
    """u32 at the start of a record in the legacy container (§4). Anything else is a V0 ndim."""

    V1 = 0xF993FAC8  # int64 dims, MXNet 0.11.x only (§4.2)
    V2 = 0xF993FAC9  # storage type, MXNet 0.12 .. 2.x with np-shape off (§4.3)
    V3 = 0xF993FACA  # numpy-shape semantics (§4.4)


# --- §3 building blocks -----------------------------------------------------------------
class DevType(IntEnum):
    """Context dev_type (§3). It never affects the bytes (§8); kept for inspection only."""

    CPU = 1
    GPU = 2
    CPU_PINNED = 3
    CPU_SHARED = 5


class StorageType(IntEnum):
    """NDArrayStorageType (§3): i32 stype in V2/V3 records."""

    UNDEFINED = -1
    DEFAULT = 0
    ROW_SPARSE = 1
    CSR = 2


# Number of aux (index) arrays per storage type (§4.3, §7).
N_AUX = {StorageType.DEFAULT: 0, StorageType.ROW_SPARSE: 1, StorageType.CSR: 2}

# Slot of the index aux whose length sizes the values (§7): csr::kIdx = 1, rowsparse::kIdx = 0.
CSR_INDICES = 1
ROW_SPARSE_INDICES = 0

STYPE_NAMES = {
    StorageType.DEFAULT: "default",
    StorageType.ROW_SPARSE: "row_sparse",
    StorageType.CSR: "csr",
}


# --- §6 type_flag -> dtype --------------------------------------------------------------
class TypeFlag(IntEnum):
    """mshadow TypeFlag (§6)."""

    FLOAT32 = 0
    FLOAT64 = 1
    FLOAT16 = 2
    UINT8 = 3
    INT32 = 4
    INT8 = 5
    INT64 = 6
    BOOL = 7
    INT16 = 8
    UINT16 = 9
    UINT32 = 10
    UINT64 = 11
    BFLOAT16 = 12


class _DtypeTable(dict):
    """type code -> little-endian numpy dtype. bfloat16 has no numpy dtype of its own: it is
    ml_dtypes.bfloat16, added to the table on its first lookup, because importing ml_dtypes costs
    more than the rest of ndparse and almost no file holds bfloat16."""

    def __missing__(self, code: int) -> np.dtype:
        if code != TypeFlag.BFLOAT16:
            raise KeyError(code)
        import ml_dtypes

        dt = self[TypeFlag.BFLOAT16] = np.dtype(ml_dtypes.bfloat16)
        return dt


# The one type-code table (§6): TYPE_DTYPES[code] -> dtype; KeyError for an unknown code.
TYPE_DTYPES: dict[int, np.dtype] = _DtypeTable({
    TypeFlag.FLOAT32: np.dtype("<f4"),
    TypeFlag.FLOAT64: np.dtype("<f8"),
    TypeFlag.FLOAT16: np.dtype("<f2"),
    TypeFlag.UINT8: np.dtype("u1"),
    TypeFlag.INT32: np.dtype("<i4"),
    TypeFlag.INT8: np.dtype("i1"),
    TypeFlag.INT64: np.dtype("<i8"),
    TypeFlag.BOOL: np.dtype("?"),
    TypeFlag.INT16: np.dtype("<i2"),
    TypeFlag.UINT16: np.dtype("<u2"),
    TypeFlag.UINT32: np.dtype("<u4"),
    TypeFlag.UINT64: np.dtype("<u8"),
    # TypeFlag.BFLOAT16: filled in on first use (see _DtypeTable)
})


def __getattr__(name: str) -> np.dtype:
    if name == "BFLOAT16":  # constants.BFLOAT16: the table's bfloat16 entry, looked up on use
        return TYPE_DTYPES[TypeFlag.BFLOAT16]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Codes MXNet 1.9.1 can size (§6); 8..11 came with 1.7 for 2.x and 1.9.1 cannot read them.
MXNET19_TYPE_CODES = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 12})

# Integer codes allowed for sparse aux (index) arrays. MXNet writes int64; 1.9.1 also loads
# int32 aux arrays (§7).
AUX_TYPE_CODES = frozenset({TypeFlag.INT32, TypeFlag.INT64})


def dtype_to_type_flag(dtype: np.dtype) -> TypeFlag:
    """The type code of a numpy dtype, the inverse of TYPE_DTYPES (byte order ignored).

    Raises KeyError for a dtype MXNet has no code for."""
    dt = np.dtype(dtype)
    if dt.names == ("bfloat16",) or (dt.names is None and dt.type.__name__ == "bfloat16"):
        return TypeFlag.BFLOAT16  # MXNet's own spelling [('bfloat16', '<u2')], or ml_dtypes'
    le = dt.newbyteorder("<") if dt.byteorder not in ("=", "|", "<") else dt
    for code, candidate in TYPE_DTYPES.items():
        if candidate == le or candidate == dt:
            return code
    raise KeyError(dt)


# --- §11 MXNet 2.x npy / npz ------------------------------------------------------------
NPY_BFLOAT16_DESCRS = ("<b2", [("bfloat16", "<u2")])  # later master and 2.0.0a0/b1 spellings
NPZ_CSR_MEMBERS = frozenset({"data", "indptr", "indices", "shape", "format"})
NPZ_ROW_SPARSE_MEMBERS = frozenset({"data", "indices", "shape", "format"})
# The zip records an npz index reads itself (PKWARE APPNOTE.TXT §4.3); anything outside the
# plain case (a comment, zip64, data before the archive, a non-stored member) goes to zipfile.
ZIP_CENTRAL_HEADER_MAGIC = b"PK\x01\x02"   # central file header signature
ZIP_END_OF_CENTRAL_DIR_MAGIC = ZIP_EMPTY_MAGIC  # end of central dir signature
ZIP64_END_OF_CENTRAL_DIR_LOCATOR_MAGIC = b"PK\x06\x07"
ZIP_LOCAL_HEADER_SIZE = 30                   # fixed part of a local file header
ZIP_CENTRAL_HEADER_SIZE = 46                 # fixed part of a central file header
ZIP_END_OF_CENTRAL_DIR_SIZE = 22             # without the .ZIP file comment
ZIP64_END_OF_CENTRAL_DIR_LOCATOR_SIZE = 20
ZIP_STORED = 0                               # compression method 0: stored (no compression)
ZIP_DEFLATED = 8                             # compression method 8: deflated
ZIP_FLAG_ENCRYPTED = 0x0001                  # general purpose bit 0
ZIP_FLAG_UTF8 = 0x0800                       # general purpose bit 11: names are UTF-8 (EFS)
ZIP_MAX_EXTRACT_VERSION = 63                 # the newest "version needed to extract" zipfile reads

# --- §17 checkpoint names ---------------------------------------------------------------
# save_checkpoint writes `<prefix>-<epoch:04d>.params` with keys `arg:NAME` / `aux:NAME`.
PARAMS_FILE_NAME = re.compile(r"(?P<prefix>.*)-(?P<epoch>[0-9]+)\.params", re.DOTALL)  # fullmatch


def params_file_name(prefix: str, epoch: int) -> str:
    """`<prefix>-<epoch:04d>.params`, the name `save_checkpoint` gives a checkpoint."""
    return f"{prefix}-{epoch:04d}.params"


def split_params_file_name(name: str) -> tuple[str, int] | None:
    """(prefix, epoch) of a file name like `dpn92-0000.params`; None when it is not one."""
    m = PARAMS_FILE_NAME.fullmatch(name)
    return None if m is None else (m["prefix"], int(m["epoch"]))


# --- safety limits (why each exists) ----------------------------------------------------
# An npy header is Python-literal text; parsing an enormous one is itself a risk (time and
# memory of ast parsing), and no real header comes near this. numpy caps at 10000 by default;
# MXNet's own headers are < 256 bytes.
NPY_MAX_HEADER_SIZE = 1 << 16
# Deflate cannot expand by more than 1032:1, so a compressed npz member whose declared size
# exceeds this ratio is a lie (a zip bomb or a corrupt directory), refused before inflating.
DEFLATE_MAX_RATIO = 1032
# numpy holds at most NPY_MAXDIMS dimensions (64 since numpy 2.0, 32 before), and refuses a shape
# whose non-zero dims times the itemsize exceed the largest intp, even when a 0 dim makes it
# empty. A file may say anything, so shapes are checked against these before numpy sees them.
NPY_MAXDIMS = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32
NPY_MAX_BYTES = int(np.iinfo(np.intp).max)
