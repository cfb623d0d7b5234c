"""Print op-table rows (ndparse/_opdefs.py format) for MXNet ops, read from MXNet's own operator registry.

Run in the tools venv (MXNet 1.9.1), never by the tests:

    .oracle19/bin/python tools/mxnet_op_rows.py _contrib_box_nms RNN ...

Each row is ``name aliases | inputs | params``: the inputs are the op's ``NDArray-or-Symbol`` arguments
(``arg*`` for a variable-length list), the parameters are typed from the registry's type strings, a
``float`` default is written with a trailing ``f`` (MXNet keeps it in a C++ float). Inputs that exist only
for some attribute values (``state_cell`` of a non-LSTM RNN, say) are found by creating the op with MXNet and
must be marked by hand (``name?cond``); the script prints what MXNet lists for the default attributes.
The role marks are set by hand too: ``$`` before a learnt parameter (weight, bias, gamma, ...), ``@`` before
an auxiliary state (``sym.list_auxiliary_states()``), ``%`` before a loss label. Paste the row into the
section of ``ndparse/_opdefs.py`` named after the ``mxtorch/ops`` family that will run the op.
"""

from __future__ import annotations

import ctypes
import re
import struct
import sys


def _registry() -> dict[str, dict]:
    from mxnet.base import _LIB, c_str, check_call, mx_uint, py_str

    plist = ctypes.POINTER(ctypes.c_void_p)()
    size = ctypes.c_uint()
    check_call(_LIB.MXSymbolListAtomicSymbolCreators(ctypes.byref(size), ctypes.byref(plist)))
    out: dict[str, dict] = {}
    for i in range(size.value):
        h = ctypes.c_void_p(plist[i])
        name, desc, kv, rt = (ctypes.c_char_p() for _ in range(4))
        num = mx_uint()
        an, at, ad = (ctypes.POINTER(ctypes.c_char_p)() for _ in range(3))
        check_call(_LIB.MXSymbolGetAtomicSymbolInfo(h, ctypes.byref(name), ctypes.byref(desc), ctypes.byref(num),
                                                    ctypes.byref(an), ctypes.byref(at), ctypes.byref(ad),
                                                    ctypes.byref(kv), ctypes.byref(rt)))
        out[py_str(name.value)] = {"handle": plist[i],
                                   "args": [(py_str(an[j]), py_str(at[j])) for j in range(num.value)],
                                   "key_var": py_str(kv.value) if kv.value else None}
    names = ctypes.POINTER(ctypes.c_char_p)()
    n = mx_uint()
    check_call(_LIB.MXListAllOpNames(ctypes.byref(n), ctypes.byref(names)))
    by_handle: dict[int, list[str]] = {}
    for j in range(n.value):
        nm = py_str(names[j])
        h = ctypes.c_void_p()
        check_call(_LIB.NNGetOpHandle(c_str(nm), ctypes.byref(h)))
        by_handle.setdefault(h.value, []).append(nm)
    for k, v in out.items():
        v["aliases"] = sorted(a for a in by_handle.get(v["handle"], []) if a != k)
    return out


def _f32(text: str) -> str:
    v = struct.unpack("<f", struct.pack("<f", float(text)))[0]
    for digits in range(1, 18):
        s = f"{v:.{digits}g}"
        if struct.unpack("<f", struct.pack("<f", float(s)))[0] == v:
            return s + "f" if s not in ("inf", "-inf", "nan") else s
    return repr(v) + "f"


def _param(name: str, t: str) -> str | None:
    m = re.search(r"default=(.*)$", t)
    default = None if m is None else m.group(1).strip().strip("'")
    required = "required" in t and m is None
    head = t.split(",")[0].strip() if not t.startswith("{") else t[: t.index("}") + 1]
    opt = " or None" in head or head.startswith("{None")
    if head.startswith("{"):
        choices = [c.strip().strip("'") for c in head[1:-1].split(",") if c.strip() != "None"]
        kind = ("enum?" if opt else "enum") + "(" + ",".join(choices) + ")"
    elif head.startswith(("int", "long")):
        kind = "int" + ("?" if opt else "")
    elif head.startswith("float"):
        kind = "float" + ("?" if opt else "")
        if default not in (None, "None"):
            default = _f32(default)
    elif head.startswith("double"):
        kind = "float" + ("?" if opt else "")
    elif head.startswith("boolean"):
        kind = "bool"
        default = {"0": "False", "1": "True"}.get(default, default)
    elif head.startswith("Shape"):
        kind = "shape" + ("?" if opt else "")
        if default is not None and default.startswith("["):
            default = "(" + default[1:-1] + ")"
    elif head.startswith("tuple of <float>") or head.startswith("tuple of <double>"):
        kind = "floats"
        if default is not None and default.startswith("["):
            default = "(" + default[1:-1] + ")"
    elif head.startswith("tuple of <"):
        kind = "shape"
        if default is not None and default.startswith("["):
            default = "(" + default[1:-1] + ")"
    elif head.startswith("string"):
        kind = "str"
    else:
        return None  # Symbol (a subgraph), NDArray: not a parameter
    if required:
        return f"{name}:{kind}!"
    return f"{name}:{kind}={'None' if default is None else default.replace(' ', '')}"


def rows(ops: list[str]) -> list[str]:
    """One table row per op name (its registry entry; aliases from the registry)."""
    reg = _registry()
    out = []
    for op in ops:
        e = reg[op]
        inputs, params = [], []
        for name, t in e["args"]:
            if t.startswith("NDArray-or-Symbol[]"):
                inputs.append("arg*")
            elif t.startswith("NDArray-or-Symbol"):
                inputs.append(name)
            else:
                p = _param(name, t)
                if p is not None:
                    params.append(p)
        names = " ".join([op, *e["aliases"]])
        out.append(f"{names:<36} | {' '.join(inputs)} | {' '.join(params)}".rstrip())
    return out


if __name__ == "__main__":
    print("\n".join(rows(sys.argv[1:])))
