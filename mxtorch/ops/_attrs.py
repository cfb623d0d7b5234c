"""The one attribute reader of the converters: typed access to a node's attributes (import as ``A``).

ndparse parses the attributes of the ops in its table and fills their defaults; these helpers take such
values as they are. For an op ndparse does not know, or a value it kept verbatim, they also accept the
MXNet attribute string (SYMBOL.md §3: ``"(2, 3)"``, ``"[2,3]"``, ``"True"``/``"1"``, ``"None"``), so a
converter never sees two spellings of one value. A value that cannot be read as the expected type, or that
is outside the range a reader is given (``min=``/``max=`` for ints, ``finite=`` for numbers: the ranges MXNet
itself enforces, kernel >= 1, pad >= 0, ...), raises `UnsupportedOpError` naming the node, the attribute and
the value, at load time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from ._registry import Node, unsupported

# The largest value of a size attribute (kernel, stride, pad, num_filter, scale, repeats ...): MXNet keeps these
# in C ``int``/``uint32`` fields or refuses tensors of 2^31 elements and more; a larger value is not a model.
INT_MAX = (1 << 31) - 1

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}
_INT_ITEM = re.compile(r"^[+-]?\d+L?$")


def _raw(node: Node, key: str) -> Any:
    return node.attrs.get(key)


def _bad(node: Node, key: str, value: Any, what: str) -> Exception:
    return unsupported(node, f"{key}={value!r} (expected {what})")


def _range(node: Node, key: str, shown: Any, values: Iterable[int], lo: int | None, hi: int | None) -> None:
    """Refuse ``key`` (shown as ``shown``) unless every one of ``values`` is in ``[lo, hi]``."""
    for v in values:
        if v is not None and ((lo is not None and v < lo) or (hi is not None and v > hi)):
            want = (f"{key} >= {lo}" if hi is None else f"{key} <= {hi}" if lo is None
                    else f"{lo} <= {key} <= {hi}")
            if isinstance(shown, tuple):
                want = want.replace(key, f"each {key} entry", 1)
            raise unsupported(node, f"{key}={shown}", [want])


def _opt_int(node: Node, key: str, default: int | None) -> int | None:
    v = _raw(node, key)
    if v is None or v == "None":
        return default
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str) and _INT_ITEM.match(v.strip()):
        return int(v.strip().rstrip("L"))
    raise _bad(node, key, v, "an int")


def opt_int(node: Node, key: str, default: int | None = None, *, min: int | None = None,
            max: int | None = None) -> int | None:
    """An optional int attribute (``None`` stays None), refused outside ``[min, max]``."""
    v = _opt_int(node, key, default)
    _range(node, key, v, (v,), min, max)
    return v


def req_int(node: Node, key: str, default: int | None = None, *, min: int | None = None,
            max: int | None = None) -> int:
    """An int attribute that must be present (or have ``default``), refused outside ``[min, max]``."""
    v = _opt_int(node, key, default)
    if v is None:
        raise _bad(node, key, v, "an int")
    _range(node, key, v, (v,), min, max)
    return v


def num(node: Node, key: str, default: float | None = None, *, finite: bool = False) -> float:
    """A float attribute (``inf``/``nan`` allowed unless ``finite``, a trailing ``f`` as MXNet accepts)."""
    v = _raw(node, key)
    if v is None or v == "None":
        if default is None:
            raise _bad(node, key, v, "a number")
        out = float(default)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        out = float(v)
    else:
        out = None
        if isinstance(v, str):
            try:
                out = float(v.strip().rstrip("fF") if not v.strip().lower().endswith("inf") else v.strip())
            except ValueError:
                pass
        if out is None:
            raise _bad(node, key, v, "a number")
    if finite and not math.isfinite(out):
        raise unsupported(node, f"{key}={out}", [f"a finite {key}"])
    return out


def flag(node: Node, key: str, default: bool = False) -> bool:
    """A bool attribute (``True``/``1``/``False``/``0``)."""
    v = _raw(node, key)
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise _bad(node, key, v, "a bool")


def text(node: Node, key: str, default: str | None = None) -> str | None:
    """A string/enum attribute, verbatim (``None`` -> default)."""
    v = _raw(node, key)
    if v is None or v == "None":
        return default
    return str(v)


def ints(node: Node, key: str, default: tuple | None = (), *, allow_none: bool = False, min: int | None = None,
         max: int | None = None) -> tuple | None:
    """A shape/tuple attribute: ``(2, 3)``, ``[2,3]``, a bare ``3``; items may be None if ``allow_none``;
    refused when an item is outside ``[min, max]``.

    Returns None when the attribute is ``None`` and ``default`` is None.
    """
    out = _ints(node, key, default, allow_none)
    if out is not None:
        _range(node, key, out, out, min, max)
    return out


def _ints(node: Node, key: str, default: tuple | None, allow_none: bool) -> tuple | None:
    v = _raw(node, key)
    if v is None or v == "None":
        return default
    if isinstance(v, bool):
        raise _bad(node, key, v, "a tuple of ints")
    if isinstance(v, int):
        return (v,)
    if isinstance(v, str):
        s = v.strip()
        if s[:1] in "([" and s[-1:] in ")]":
            s = s[1:-1]
        items = [p.strip() for p in s.split(",")]
        if items and items[-1] == "":
            items.pop()
        v = []
        for p in items:
            if allow_none and p == "None":
                v.append(None)
            elif _INT_ITEM.match(p):
                v.append(int(p.rstrip("L")))
            else:
                raise _bad(node, key, s, "a tuple of ints")
    try:
        out = tuple(None if (allow_none and p is None) else int(p) for p in v)
    except (TypeError, ValueError):
        raise _bad(node, key, v, "a tuple of ints") from None
    return out


def per_dim(node: Node, key: str, nd: int, fill: int, *, min: int | None = None,
            max: int | None = None) -> tuple[int, ...]:
    """A per-spatial-dimension attribute (stride, pad, dilate, adj): absent or ``()`` means ``fill`` on each
    of the ``nd`` dimensions; otherwise exactly ``nd`` ints, each in ``[min, max]``."""
    value = ints(node, key, (), min=min, max=max)
    if not value:
        return (fill,) * nd
    if len(value) != nd:
        raise unsupported(node, f"{key}={value} with a {nd}-D kernel", [f"{key} of length {nd}"])
    return value


def axis_or_axes(node: Node, key: str) -> tuple | None:
    """A reduction ``axis``: None (all axes), or a tuple of ints (a bare int becomes a 1-tuple)."""
    return ints(node, key, None)


def choice(node: Node, key: str, allowed: Iterable[Any], default: Any = None) -> Any:
    """Attribute ``key`` of ``node``, which must be one of ``allowed``; else UnsupportedOpError."""
    allowed = tuple(allowed)
    v = _raw(node, key)
    value = default if v is None else v
    if value not in allowed:
        raise unsupported(node, f"{key}={value!r}", [f"{key}={a!r}" for a in allowed])
    return value


def floats(node: Node, key: str, default: tuple | None = ()) -> tuple | None:
    """A tuple-of-numbers attribute (``sizes=(0.2, 0.4)``, ``[1,2]``, a bare ``0.5``)."""
    v = _raw(node, key)
    if v is None or v == "None":
        return default
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (float(v),)
    if isinstance(v, (tuple, list)):
        try:
            return tuple(float(x) for x in v)
        except (TypeError, ValueError):
            raise _bad(node, key, v, "a tuple of numbers") from None
    if isinstance(v, str):
        s = v.strip()
        if s[:1] in "([" and s[-1:] in ")]":
            s = s[1:-1]
        items = [p.strip().rstrip("fF") for p in s.split(",")]
        if items and items[-1] == "":
            items.pop()
        try:
            return tuple(float(p) for p in items)
        except ValueError:
            pass
    raise _bad(node, key, v, "a tuple of numbers")
