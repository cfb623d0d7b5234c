"""Index of MXNet 2.x `.npy` and `.npz` files (docs/FORMAT.md §11).

The npy header is parsed by hand (not by numpy) because MXNet writes two things numpy cannot
read: the bfloat16 descr '<b2' and the malformed header of a sparse folder's `format.npy`.
Members of an npz are located through the zip central directory; stored members are read in
place (zero copy), deflated ones are inflated on demand with a bounded size. The plain zip that
numpy and MXNet write (every member stored, no comment, no zip64) is read here in one pass;
anything else is read by zipfile, imported only then (opening an npz costs little beyond numpy).
"""

from __future__ import annotations

import io
import math
import re
import struct
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from . import constants as C
from ._index import Part, RecordInfo, numpy_shape_problem
from .errors import TRUNCATED_HINT, NDFormatError, warn

if TYPE_CHECKING:
    import zipfile

Buffer = bytes | bytearray | memoryview

_NPY_VERSIONS = {  # (major, minor) -> (struct of HEADER_LEN, header text encoding)
    (1, 0): (struct.Struct("<H"), "latin1"),
    (2, 0): (struct.Struct("<I"), "latin1"),
    (3, 0): (struct.Struct("<I"), "utf8"),
}
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
# end of central dir: signature, 4 disk and entry counts, size and offset of the directory,
# comment length
_END_OF_CENTRAL_DIR = struct.Struct("<4s8xIIH")
# central file header: signature, version needed, flags, method, 8 bytes, compressed size,
# uncompressed size, name / extra / comment lengths, 8 bytes, local header offset
_CENTRAL_HEADER = struct.Struct("<4s2xHHH8xIIHHH8xI")
_NPY_V1_PREAMBLE = C.NPY_MAGIC + b"\x01\x00"
_U16 = struct.Struct("<H")
_SIMPLE_DESCR = re.compile(r"[<>|=]?[a-zA-Z]{1,8}[0-9]{0,2}")  # '<f4', '|u1', 'float32'


class NpyHeader:
    """A parsed npy header: dtype, shape, order, and where the data starts."""

    __slots__ = ("dtype", "shape", "fortran", "data_offset")

    def __init__(self, dtype: np.dtype, shape: tuple[int, ...], fortran: bool, data_offset: int
                 ) -> None:
        self.dtype = dtype
        self.shape = shape
        self.fortran = fortran
        self.data_offset = data_offset


_DESCR_DTYPES: dict[str, np.dtype] = {}  # descr text -> dtype, for the descrs _descr_dtype took


def _descr_dtype(descr: Any) -> np.dtype | None:
    """Map an npy descr to a dtype MXNet can hold; None when it is not one."""
    if type(descr) is str:
        known = _DESCR_DTYPES.get(descr)
        if known is not None:
            return known
    dt = _new_descr_dtype(descr)
    if dt is not None and type(descr) is str:
        _DESCR_DTYPES[descr] = dt  # few: only short descr texts numpy takes get here
    return dt


def _new_descr_dtype(descr: Any) -> np.dtype | None:
    if descr in C.NPY_BFLOAT16_DESCRS:
        return C.TYPE_DTYPES[C.TypeFlag.BFLOAT16]  # both spellings MXNet 2.x wrote (§6, §11.1)
    if not isinstance(descr, str) or not _SIMPLE_DESCR.fullmatch(descr):
        return None  # never hand numpy's dtype-string parser (comma strings, ...) hostile text
    try:
        dt = np.dtype(descr)
    except (TypeError, ValueError, SyntaxError):
        return None
    if dt.kind not in "biuf" or dt.hasobject or dt.names is not None or dt.subdtype is not None:
        return None
    try:
        C.dtype_to_type_flag(dt)
    except KeyError:
        return None
    return dt


def read_npy_prefix(buf: Buffer, base: int, end: int, where: str | None, what: str
                    ) -> tuple[tuple[int, int], int, int]:
    """Read magic and HEADER_LEN at `base`: ((major, minor), header start, header length)."""
    def err(msg: str, expected: str, found: str, off: int) -> NDFormatError:
        return NDFormatError(f"{what}: {msg}", file=where, offset=off, expected=expected, found=found)

    mv = memoryview(buf)
    if end - base < 10:
        raise err("truncated npy preamble", "at least 10 bytes", f"{end - base} bytes", base)
    if bytes(mv[base:base + 6]) != C.NPY_MAGIC:
        raise err("bad npy magic", "\\x93NUMPY", repr(bytes(mv[base:base + 6])), base)
    version = (mv[base + 6], mv[base + 7])
    if version not in _NPY_VERSIONS:
        raise err("unsupported npy format version", "1.0, 2.0 or 3.0", f"{version[0]}.{version[1]}",
                  base + 6)
    st, _ = _NPY_VERSIONS[version]
    if end - base < 8 + st.size:
        raise err("truncated npy header length", f"{st.size} bytes", f"{end - base - 8}", base + 8)
    hlen = st.unpack_from(buf, base + 8)[0]
    start = base + 8 + st.size
    if hlen > C.NPY_MAX_HEADER_SIZE:
        raise err("npy header too large", f"at most {C.NPY_MAX_HEADER_SIZE} bytes", f"{hlen}", base + 8)
    if hlen > end - start:
        raise err("truncated npy header", f"{hlen} bytes", f"{end - start} bytes left", start)
    return version, start, hlen


_INT = r"(?:0|[1-9][0-9]*)"
_CANONICAL = re.compile(r"\{'descr': '([^'\\]*)', 'fortran_order': (True|False), 'shape': \(("
                        + _INT + r",|" + _INT + r"(?:, " + _INT + r")+,?|)\), \}[ ]*\n?\Z")


def _canonical_header(text: str) -> dict[str, Any] | None:
    """The header dict when `text` is in numpy's own format (exactly what ast would give), else
    None. ast.literal_eval costs ~25 us a header; this is the fast path for every npz member."""
    m = _CANONICAL.match(text)
    if m is None:
        return None
    dims = m.group(3)
    try:
        shape = tuple(int(x) for x in dims.split(",") if x) if dims else ()
    except ValueError:  # a dim past int()'s digit limit: ast then refuses the header cleanly
        return None
    return {"descr": m.group(1), "fortran_order": m.group(2) == "True", "shape": shape}


def parse_npy_header(buf: Buffer, base: int, end: int, where: str | None, what: str) -> NpyHeader:
    """Parse the npy header of the array whose file (or member) bytes start at `base`."""
    version, start, hlen = read_npy_prefix(buf, base, end, where, what)
    _, encoding = _NPY_VERSIONS[version]

    def err(msg: str, expected: str, found: str) -> NDFormatError:
        return NDFormatError(f"{what}: {msg}", file=where, offset=start, expected=expected, found=found)

    try:
        text = bytes(memoryview(buf)[start:start + hlen]).decode(encoding)
    except UnicodeDecodeError:
        raise err("npy header is not text", f"{encoding} text", "undecodable bytes") from None
    d = _canonical_header(text)  # what numpy and MXNet write; anything else goes through ast
    if d is None:
        import ast

        try:
            d = ast.literal_eval(text)  # a Python literal only; never evaluates code
        except (SyntaxError, ValueError, MemoryError, RecursionError, TypeError):
            raise err("cannot parse npy header", "a dict literal", repr(text[:80])) from None
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise err("npy header has the wrong keys", "descr, fortran_order, shape", repr(text[:80]))
    dtype = _descr_dtype(d["descr"])
    if dtype is None:
        raise err("unsupported npy dtype", "a numeric dtype MXNet can hold", repr(d["descr"]))
    shape = d["shape"]
    if (not isinstance(shape, tuple)
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in shape)):
        raise err("bad npy shape", "a tuple of non-negative ints", repr(shape))
    if not isinstance(d["fortran_order"], bool):
        raise err("bad npy fortran_order", "True or False", repr(d["fortran_order"]))
    return NpyHeader(dtype, shape, d["fortran_order"], start + hlen)


def _part_for(h: NpyHeader, end: int, where: str | None, what: str, member: str | None = None
              ) -> Part:
    shape = tuple(reversed(h.shape)) if h.fortran else h.shape
    nbytes = h.dtype.itemsize * math.prod(shape)
    left = end - h.data_offset
    if nbytes > left:
        raise NDFormatError(f"{what}: truncated npy data", file=where, offset=h.data_offset,
                            expected=f"{nbytes} bytes for {h.dtype} {h.shape}",
                            found=f"{left} bytes left", hint=TRUNCATED_HINT)
    problem = numpy_shape_problem(h.dtype.itemsize, shape)
    if problem is not None:
        raise NDFormatError(f"{what}: npy shape cannot be held by an array", file=where,
                            offset=h.data_offset, expected="a shape numpy can hold", found=problem)
    return Part("data", h.dtype, shape, h.data_offset, nbytes, h.fortran, member)


def index_npy(buf: Buffer, file: str | None) -> list[RecordInfo]:
    """A `.npy` file: one dense unnamed array (returned by MXNet as a list of one)."""
    end = len(memoryview(buf).cast("B"))
    h = parse_npy_header(buf, 0, end, file, "npy")
    part = _part_for(h, end, file, "npy")
    if end - part.offset > part.nbytes:
        warn(f"{file or '<buffer>'}: {end - part.offset - part.nbytes} trailing bytes after the "
             "npy data")
    shape = h.shape
    return [RecordInfo(0, 0, "default", h.dtype, shape, None, 0, part.nbytes, (part,))]


class _BufferIO(io.RawIOBase):
    """A seekable read-only file over a buffer, so zipfile reads an mmap without copying it."""

    def __init__(self, buf: Buffer) -> None:
        self._mv = memoryview(buf).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._mv))[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def close(self) -> None:
        self._mv.release()  # the source (an mmap) can then be closed
        super().close()

    def readinto(self, b: Any) -> int:
        chunk = self._mv[self._pos:self._pos + len(b)]
        n = len(chunk)
        b[:n] = chunk
        self._pos += n
        return n


class _Member:
    """A central directory entry: the fields of a zipfile.ZipInfo that the npz index reads."""

    __slots__ = ("filename", "header_offset", "compress_size", "file_size", "compress_type",
                 "flag_bits")

    def __init__(self, filename: str, header_offset: int, compress_size: int, file_size: int,
                 flag_bits: int) -> None:
        self.filename = filename
        self.header_offset = header_offset
        self.compress_size = compress_size
        self.file_size = file_size
        self.compress_type = C.ZIP_STORED
        self.flag_bits = flag_bits


Member = Union["zipfile.ZipInfo", _Member]


def _plain_central_directory(buf: Buffer, size: int) -> list[_Member] | None:
    """The members of a plain zip, read in one pass: no archive comment, no zip64, no bytes
    before the archive, every member stored without extra fields. None for anything else (or
    anything odd), which zipfile then reads and judges; for a plain zip both give the same
    names, offsets, sizes and flags."""
    eocd = size - C.ZIP_END_OF_CENTRAL_DIR_SIZE
    if eocd < 0:
        return None
    sig, cd_size, cd_offset, comment_len = _END_OF_CENTRAL_DIR.unpack_from(buf, eocd)
    if sig != C.ZIP_END_OF_CENTRAL_DIR_MAGIC or comment_len or cd_offset + cd_size != eocd:
        return None
    loc = eocd - C.ZIP64_END_OF_CENTRAL_DIR_LOCATOR_SIZE
    if loc >= 0 and bytes(buf[loc:loc + 4]) == C.ZIP64_END_OF_CENTRAL_DIR_LOCATOR_MAGIC:
        return None
    unpack = _CENTRAL_HEADER.unpack_from
    magic, fixed = C.ZIP_CENTRAL_HEADER_MAGIC, C.ZIP_CENTRAL_HEADER_SIZE
    members = []
    pos = cd_offset
    while pos < eocd:
        if pos + fixed > eocd:
            return None
        sig, need, flags, method, csize, usize, nlen, xlen, clen, offset = unpack(buf, pos)
        name_at = pos + fixed
        pos = name_at + nlen + clen
        if (sig != magic or method != C.ZIP_STORED or xlen or pos > eocd
                or need & 0xFF > C.ZIP_MAX_EXTRACT_VERSION):
            return None
        try:
            name = bytes(buf[name_at:name_at + nlen]).decode(
                "utf-8" if flags & C.ZIP_FLAG_UTF8 else "cp437")
        except UnicodeDecodeError:
            return None
        if "\0" in name or "\\" in name:
            return None  # zipfile cuts a name at NUL (and turns os.sep into "/" on Windows)
        members.append(_Member(name, offset, csize, usize, flags))
    return members


class NpzIndex:
    """The members of an npz and how to get at their bytes."""

    def __init__(self, buf: Buffer, file: str | None) -> None:
        self.buf = buf
        self.file = file
        self._mv = memoryview(buf).cast("B")
        self.size = len(self._mv)
        self._zf: zipfile.ZipFile | None = None
        self._io: _BufferIO | None = None
        try:
            plain = _plain_central_directory(self._mv, self.size)
            self.infos: list[Member] = plain if plain is not None else list(self.zf.infolist())
        except BaseException:
            self.close()
            raise

    @property
    def zf(self) -> zipfile.ZipFile:
        """The archive read by zipfile (made on first use: only odd or deflated npz need it)."""
        if self._zf is None:
            import zipfile

            self._io = _BufferIO(self.buf)
            try:
                self._zf = zipfile.ZipFile(self._io)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
                    struct.error, NotImplementedError, UnicodeDecodeError) as e:
                raise NDFormatError("not a readable zip (npz) file", file=self.file, offset=0,
                                    expected="a zip central directory", found=str(e)) from None
        return self._zf

    def close(self) -> None:
        """Let go of the buffer (arrays already made keep what they view)."""
        if self._zf is not None:
            self._zf.close()
        if self._io is not None:
            self._io.close()
        self._mv.release()  # the source (an mmap) can then be closed

    def member_bytes_range(self, zi: Member) -> tuple[int, int]:
        """(start, end) of a stored member's bytes in the file, checked."""
        lh = zi.header_offset
        if lh < 0 or lh + C.ZIP_LOCAL_HEADER_SIZE > self.size:
            raise NDFormatError(f"npz member {zi.filename!r}: local header outside the file",
                                file=self.file, offset=max(lh, 0), expected="a local header",
                                found=f"offset {lh} in a {self.size}-byte file")
        sig, nlen, xlen = _LOCAL_HEADER.unpack_from(self.buf, lh)
        if sig != C.ZIP_LOCAL_MAGIC:
            raise NDFormatError(f"npz member {zi.filename!r}: bad local header", file=self.file,
                                offset=lh, expected="PK\\x03\\x04", found=repr(sig))
        start = lh + C.ZIP_LOCAL_HEADER_SIZE + nlen + xlen
        end = start + zi.compress_size
        if end > self.size:
            raise NDFormatError(f"npz member {zi.filename!r}: data runs past the end of the file",
                                file=self.file, offset=start, expected=f"{zi.compress_size} bytes",
                                found=f"{max(self.size - start, 0)} bytes left")
        return start, end

    def check_member(self, zi: Member) -> None:
        if zi.flag_bits & C.ZIP_FLAG_ENCRYPTED:
            raise NDFormatError(f"npz member {zi.filename!r} is encrypted", file=self.file,
                                offset=zi.header_offset, expected="an unencrypted member",
                                found="encryption flag")
        if zi.compress_type not in (C.ZIP_STORED, C.ZIP_DEFLATED):
            raise NDFormatError(f"npz member {zi.filename!r}: unsupported compression",
                                file=self.file, offset=zi.header_offset,
                                expected="stored or deflated", found=f"method {zi.compress_type}")
        if zi.compress_type == C.ZIP_STORED and zi.compress_size != zi.file_size:
            raise NDFormatError(f"npz member {zi.filename!r}: stored sizes disagree",
                                file=self.file, offset=zi.header_offset,
                                expected=f"{zi.compress_size} bytes", found=f"{zi.file_size}")
        if (zi.compress_type == C.ZIP_DEFLATED
                and zi.file_size > max(zi.compress_size, 1) * C.DEFLATE_MAX_RATIO):
            raise NDFormatError(f"npz member {zi.filename!r}: declared size impossible for deflate",
                                file=self.file, offset=zi.header_offset,
                                expected=f"at most {C.DEFLATE_MAX_RATIO}x {zi.compress_size} bytes",
                                found=f"{zi.file_size} bytes")
        if zi.compress_type == C.ZIP_DEFLATED:
            self.member_bytes_range(zi)  # the compressed bytes must lie inside the file

    def inflate(self, zi: Member, limit: int | None = None) -> bytearray:
        """The (first `limit`) bytes of a deflated member, never more than it declares."""
        import zipfile
        import zlib

        n = zi.file_size if limit is None else min(limit, zi.file_size)
        out = bytearray()
        try:
            with self.zf.open(zi) as f:
                # in chunks, so memory follows the bytes that really inflate, not the declared size
                while len(out) < n:
                    chunk = f.read(min(n - len(out), 1 << 22))
                    if not chunk:
                        break
                    out += chunk
            got = len(out)
        except (zipfile.BadZipFile, ValueError, EOFError, OSError, struct.error, zlib.error,
                NotImplementedError, RuntimeError) as e:
            raise NDFormatError(f"npz member {zi.filename!r}: cannot inflate", file=self.file,
                                offset=zi.header_offset, expected="valid deflate data",
                                found=str(e)) from None
        if got != n:
            raise NDFormatError(f"npz member {zi.filename!r}: truncated", file=self.file,
                                offset=zi.header_offset, expected=f"{n} bytes", found=f"{got}")
        return out

    def stored_part(self, zi: Member) -> Part:
        """member_header on the path every numpy/MXNet npz member takes (stored, npy 1.0,
        numpy's own header text, enough bytes), in one tight pass; anything else, valid or
        not, goes through member_header, which then accepts or refuses it."""
        buf, size = self._mv, self.size
        lh = zi.header_offset
        if (zi.compress_type != C.ZIP_STORED or zi.flag_bits & C.ZIP_FLAG_ENCRYPTED
                or zi.compress_size != zi.file_size
                or not 0 <= lh <= size - C.ZIP_LOCAL_HEADER_SIZE):
            return self.member_header(zi)
        sig, nlen, xlen = _LOCAL_HEADER.unpack_from(buf, lh)
        start = lh + C.ZIP_LOCAL_HEADER_SIZE + nlen + xlen
        end = start + zi.compress_size
        if sig != C.ZIP_LOCAL_MAGIC or end > size or end - start < 10 \
                or bytes(buf[start:start + 8]) != _NPY_V1_PREAMBLE:
            return self.member_header(zi)
        at = start + 10
        hlen = _U16.unpack_from(buf, start + 8)[0]
        m = _CANONICAL.match(bytes(buf[at:at + hlen]).decode("latin1")) if hlen <= end - at \
            else None
        dtype = _DESCR_DTYPES.get(m[1]) if m is not None else None
        if dtype is None:
            return self.member_header(zi)
        dims = m[3]
        try:
            shape = tuple(map(int, dims.rstrip(",").split(","))) if dims else ()
        except ValueError:  # more digits than int() takes
            return self.member_header(zi)
        fortran = m[2] == "True"
        if fortran:
            shape = shape[::-1]
        at += hlen
        nbytes = dtype.itemsize * math.prod(shape)
        if nbytes > end - at or numpy_shape_problem(dtype.itemsize, shape) is not None:
            return self.member_header(zi)
        return Part("data", dtype, shape, at, nbytes, fortran, None)

    def member_header(self, zi: Member) -> Part:
        """Parse a member's npy header and locate its data (absolute, or inside the member)."""
        self.check_member(zi)
        what = f"npz member {zi.filename!r}"
        if zi.compress_type == C.ZIP_STORED:
            start, end = self.member_bytes_range(zi)
            h = parse_npy_header(self.buf, start, end, self.file, what)
            part = _part_for(h, end, self.file, what)
        else:
            head = self.inflate(zi, C.NPY_MAX_HEADER_SIZE + 16)
            h = parse_npy_header(head, 0, len(head), self.file, what)
            part = _part_for(h, zi.file_size, self.file, what, member=zi.filename)
        return part

    def format_text(self, zi: Member, width: int) -> str:
        """The sparse format string of a `format.npy`, skipping its malformed header (§11.1)."""
        self.check_member(zi)
        what = f"npz member {zi.filename!r}"
        if zi.compress_type == C.ZIP_STORED:
            start, end = self.member_bytes_range(zi)
            data = self.buf
        else:
            data, start, end = self.inflate(zi, C.NPY_MAX_HEADER_SIZE + 64), 0, zi.file_size
            end = min(end, len(data))
        _, hstart, hlen = read_npy_prefix(data, start, end, self.file, what)
        text_at = hstart + hlen
        raw = bytes(memoryview(data)[text_at:min(text_at + width, end)])
        return raw.decode("ascii", "replace")

    def shape_values(self, zi: Member) -> tuple[int, ...]:
        part = self.member_header(zi)
        what = f"npz member {zi.filename!r}"
        if part.dtype != np.dtype("<i8") or len(part.shape) != 1:
            raise NDFormatError(f"{what}: sparse shape must be 1-D int64", file=self.file,
                                offset=part.offset, expected="<i8 (ndim,)",
                                found=f"{part.dtype} {part.shape}")
        raw = (bytes(memoryview(self.buf)[part.offset:part.offset + part.nbytes])
               if part.member is None else bytes(self.inflate(zi)[part.offset:]))
        dims = struct.unpack(f"<{part.shape[0]}q", raw[:8 * part.shape[0]])
        if any(d < 0 for d in dims):
            raise NDFormatError(f"{what}: negative dimension", file=self.file, offset=part.offset,
                                expected="dims >= 0", found=f"{dims}")
        return dims


def index_npz(buf: Buffer, file: str | None) -> tuple[list[RecordInfo], NpzIndex]:
    """Index an npz as MXNet 2.x reads it (cnpy.cc load_arrays): members grouped by folder,
    sorted within a folder; a folder matching the csr or row_sparse file set is one sparse array;
    members not ending in `.npy` are skipped. Folders come in order of first appearance
    (MXNet's own folder order is an unordered_map's and not reproducible)."""
    z = NpzIndex(buf, file)
    folders: dict[str, dict[str, Member]] = {}
    for zi in z.infos:
        name = zi.filename
        if not name.endswith(".npy"):
            continue
        cut = name.rfind("/")
        d, f = (name[:cut + 1], name[cut + 1:]) if cut >= 0 else ("", name)
        if f in folders.setdefault(d, {}):
            raise NDFormatError(f"npz member {name!r} appears twice", file=file,
                                offset=zi.header_offset, expected="unique member names",
                                found="a duplicate")
        folders[d][f] = zi
    records: list[RecordInfo] = []
    for d, members in folders.items():
        stems = {f[:-4] for f in members}
        if stems == C.NPZ_CSR_MEMBERS or stems == C.NPZ_ROW_SPARSE_MEMBERS:
            records.append(_sparse_record(z, d, members, len(records)))
        elif stems in ({"data", "row", "col", "format", "shape"}, {"data", "offsets", "format", "shape"}):
            raise NDFormatError(f"npz folder {d!r} holds a coo/dia sparse matrix, which MXNet "
                                "cannot load", file=file, offset=members["data.npy"].header_offset,
                                expected="csr or row_sparse", found="coo or dia file set")
        else:
            for f in sorted(members, key=lambda s: s.encode("utf-8")):
                zi = members[f]
                part = z.stored_part(zi)
                shape = part.shape[::-1] if part.fortran else part.shape
                records.append(RecordInfo(len(records), (d + f)[:-4], "default", part.dtype,
                                          shape, None, zi.header_offset, part.nbytes, (part,)))
    return records, z


def _sparse_record(z: NpzIndex, d: str, members: dict[str, Member], index: int
                   ) -> RecordInfo:
    csr = "indptr.npy" in members
    fmt_zi = members["format.npy"]
    width = 3 if csr else 10
    fmt = z.format_text(fmt_zi, width)
    expected = "csr" if csr else "row_sparse"
    if fmt != expected:
        raise NDFormatError(f"npz folder {d!r}: sparse format {fmt!r} is not supported",
                            file=z.file, offset=fmt_zi.header_offset, expected=expected,
                            found=repr(fmt))
    shape = z.shape_values(members["shape.npy"])
    roles = ("data", "indptr", "indices") if csr else ("data", "indices")
    parts = []
    for role in roles:
        p = z.member_header(members[role + ".npy"])
        if p.fortran:
            raise NDFormatError(f"npz folder {d!r}: Fortran-order sparse part {role}", file=z.file,
                                offset=members[role + ".npy"].header_offset,
                                expected="C order", found="fortran_order True")
        parts.append(p._replace(role=role))
    data = parts[0]
    for p in parts[1:]:
        if p.dtype.kind not in "iu" or len(p.shape) != 1:
            raise NDFormatError(f"npz folder {d!r}: sparse index {p.role} must be 1-D integer",
                                file=z.file, offset=p.offset, expected="1-D int64",
                                found=f"{p.dtype} {p.shape}")
    if (csr and len(shape) != 2) or (not csr and len(shape) < 1):
        raise NDFormatError(f"npz folder {d!r}: bad sparse shape", file=z.file,
                            offset=members["shape.npy"].header_offset,
                            expected="2-D" if csr else "at least 1-D", found=f"{shape}")
    return RecordInfo(index, d[:-1] if d else d, "csr" if csr else "row_sparse", data.dtype,
                      shape, None, members["data.npy"].header_offset,
                      sum(p.nbytes for p in parts), tuple(parts), None, data.shape)
