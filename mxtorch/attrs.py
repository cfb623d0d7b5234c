"""The attribute readers of op converters, public for user converters (``from mxtorch import attrs as A``).

The same readers the built-in converters use: ``A.ints(node, "kernel")``, ``A.floats``, ``A.num``,
``A.flag``, ``A.text``, ``A.req_int``, ``A.opt_int``, ``A.choice``, ``A.axis_or_axes``. Each takes the
value ndparse parsed (or MXNet's attribute string, for an op ndparse does not know, e.g. a ``Custom``
op's own attributes) and raises `mxtorch.UnsupportedOpError` naming the node for a value it cannot read.
`unsupported(node, value, supported)` builds that error for a converter's own checks.
"""

from __future__ import annotations

from .ops._attrs import axis_or_axes, choice, flag, floats, ints, num, opt_int, req_int, text
from .ops._registry import unsupported

__all__ = ["axis_or_axes", "choice", "flag", "floats", "ints", "num", "opt_int", "req_int", "text",
           "unsupported"]
