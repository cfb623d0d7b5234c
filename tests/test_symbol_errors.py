"""Broken graphs raise SymbolFormatError (an NDFormatError) naming the file, the node and what
was expected."""

from __future__ import annotations

import json

import pytest

import ndparse


def _doc(nodes, heads, version=10901):
    return {"nodes": nodes, "arg_nodes": [i for i, n in enumerate(nodes) if n.get("op") == "null"],
            "heads": heads, "attrs": {"mxnet_version": ["int", version]}}


X = {"op": "null", "name": "x", "inputs": []}


def _raises(doc, *needles, file="g-symbol.json"):
    text = doc if isinstance(doc, (str, bytes)) else json.dumps(doc)
    with pytest.raises(ndparse.SymbolFormatError) as ei:
        ndparse.load_symbol_json(text, file=file)
    msg = str(ei.value)
    assert msg.startswith(file)
    for needle in needles:
        assert needle in msg, msg
    assert isinstance(ei.value, ndparse.NDFormatError)
    return ei.value


def test_bad_json_and_types():
    _raises("{", "not valid JSON", "line 1")
    _raises(b"\xff\xfe", "not UTF-8")
    _raises("[1, 2]", "not an object")
    _raises({"nodes": [], "arg_nodes": []}, "no 'heads'")
    _raises(_doc([{"op": 3, "name": "a", "inputs": []}], [[0, 0]]), "node 0", "'op'")
    _raises(_doc([X, {"op": "relu", "name": "r", "inputs": [[0, 0]], "attrs": {"a": 1}}], [[1, 0]]),
            "node 1 'r'", "not a string")


def test_entries_out_of_range():
    e = _raises(_doc([X, {"op": "relu", "name": "r", "inputs": [[5, 0]]}], [[1, 0]]),
                "node 1 'r'", "input 0 refers to node 5", "[0, 2)")
    assert e.node == 1 and e.node_name == "r"
    _raises(_doc([X], [[3, 0]]), "head 0 refers to node 3")
    _raises(_doc([X, {"op": "relu", "name": "r", "inputs": [[0, 0, 0, 0]]}], [[1, 0]]),
            "not an entry")


def test_output_index_past_the_outputs():
    _raises(_doc([X, {"op": "relu", "name": "r", "inputs": [[0, 1]]}], [[1, 0]]),
            "node 1 'r'", "output 1 of node 0 'x'", "below 1")
    split = {"op": "SliceChannel", "name": "s", "attrs": {"num_outputs": "2"}, "inputs": [[0, 0]]}
    assert ndparse.load_symbol_json(json.dumps(_doc([X, split], [[1, 1]]))).list_outputs() == ["s_output1"]
    _raises(_doc([X, split], [[1, 2]]), "head 0", "output 2 of node 1 's'", "below 2")


def test_cycles_and_self_loops():
    _raises(_doc([X, {"op": "relu", "name": "r", "inputs": [[1, 0]]}], [[1, 0]]),
            "node 1 'r'", "cycle", "itself")
    a = {"op": "relu", "name": "a", "inputs": [[2, 0]]}
    b = {"op": "relu", "name": "b", "inputs": [[1, 0]]}
    _raises(_doc([X, a, b], [[2, 0]]), "cycle")


def test_attribute_values_are_checked():
    conv = {"op": "Convolution", "name": "c", "inputs": [[0, 0], [0, 0]],
            "attrs": {"kernel": "(3, 3)", "num_filter": "8.0", "no_bias": "True"}}
    _raises(_doc([X, conv], [[1, 0]]), "node 1 'c'", "'num_filter'", "an integer", "'8.0'")
    conv["attrs"] = {"kernel": "(3, 3)", "stride": "(2,)", "num_filter": "8", "no_bias": "True"}
    _raises(_doc([X, conv], [[1, 0]]), "'stride'", "2 values")
    conv["attrs"] = {"num_filter": "8", "no_bias": "True"}
    _raises(_doc([X, conv], [[1, 0]]), "required parameter 'kernel'")
    act = {"op": "Activation", "name": "a", "inputs": [[0, 0]], "attrs": {"act_type": "Relu"}}
    _raises(_doc([X, act], [[1, 0]]), "'act_type'", "one of relu")
    cat = {"op": "Concat", "name": "cat", "inputs": [[0, 0]], "attrs": {"num_args": "99999999"}}
    _raises(_doc([X, cat], [[1, 0]]), "'num_args'")


@pytest.mark.parametrize("text,value", [
    ("True", True), ("false", False), ("TRUE", True), ("1", True), ("0", False)])
def test_bool_spellings(text, value):
    bn = {"op": "BatchNorm", "name": "bn", "inputs": [[0, 0]] * 5, "attrs": {"fix_gamma": text}}
    s = ndparse.load_symbol_json(json.dumps(_doc([X, bn], [[1, 0]])))
    assert s.nodes[-1].attrs["fix_gamma"] is value


def test_shape_and_number_spellings():
    from ndparse._opdefs import AttrError, op_def
    parse = op_def("Convolution").params["kernel"][0].parse
    for text, want in [("(3, 3)", (3, 3)), ("[3,3]", (3, 3)), ("( 3 , 3 )", (3, 3)),
                       ("(3, 3,)", (3, 3)), ("(3L, 3L)", (3, 3)), ("3", (3,)), ("()", ())]:
        assert parse(text) == want
    for bad in ("3, 3", "(3.0, 3.0)", "{3,3}", ""):
        with pytest.raises(AttrError):
            parse(bad)
    fparse = op_def("BatchNorm").params["eps"][0].parse
    assert [fparse(t) for t in ("0.1", ".1", "1e-05", "1E-1", "0.1f", " 0.5")] == \
        [0.1, 0.1, 1e-05, 0.1, 0.1, 0.5]
    for bad in ("0.1 ", "1,5", "0x1"):
        with pytest.raises(AttrError):
            fparse(bad)
    sl = op_def("slice").params["begin"][0].parse
    assert sl("(None, 1)") == (None, 1)


def test_unknown_ops_keep_strings_and_unreachable_nodes_are_dropped():
    odd = {"op": "MyCustomThing", "name": "m", "inputs": [[0, 0]],
           "attrs": {"k": "(1, 2)", "__lr_mult__": "2"}}
    s = ndparse.load_symbol_json(json.dumps(_doc([X, odd, {"op": "null", "name": "dead", "inputs": []}],
                                                 [[1, 0]])))
    assert [n.name for n in s.nodes] == ["x", "m"]
    assert s.nodes[1].attrs == {"k": "(1, 2)"} and s.nodes[1].extra == {"__lr_mult__": "2"}
    assert s.nodes[1].op_def is None
