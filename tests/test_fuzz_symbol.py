"""Fuzzing the symbol reader: every input gives a Symbol or an NDFormatError, never anything else.

Bounded by input count with a fixed seed (deterministic). Seeds are the graphs in
fixtures/symbol/ (every era); mutations work on the text (bytes flipped, truncated, spliced)
and on the parsed document (entries pointed anywhere incl. cycles and self-loops, fields deleted or
of the wrong type, attribute values replaced, nesting deepened).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import ndparse

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "fixtures" / "symbol").glob("*-symbol.json"))
N_TEXT = 1500
N_DOC = 2500
JUNK = [None, True, -1, 0, 1, 2**40, 1.5, "", "x", "None", "(3, 3)", "()", "-1", "1e400", [],
        [0], [0, 0], [0, 0, 0, 0], {}, {"a": "b"}, [[0, 0]], "True", "nan", "(None, 1)"]


def _exercise(s) -> None:
    s.list_arguments()
    s.list_auxiliary_states()
    s.list_outputs()
    s.label_names()
    for n in s.nodes:
        s.num_outputs(n)
    ndparse.load_symbol_json(s.tojson())


def _load(data) -> None:
    try:
        s = ndparse.load_symbol_json(data)
    except ndparse.NDFormatError:
        return
    _exercise(s)


def test_text_mutations():
    rng = random.Random(1234)
    texts = [p.read_bytes() for p in SEEDS]
    for _ in range(N_TEXT):
        t = bytearray(rng.choice(texts))
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                t[rng.randrange(len(t))] = rng.randrange(256)
        elif kind == 1:
            t = t[: rng.randrange(len(t))]
        elif kind == 2:
            i = rng.randrange(len(t))
            t[i:i] = bytes([rng.choice(b'{}[],:"0123456789-')]) * rng.randint(1, 3)
        else:
            other = rng.choice(texts)
            i, j = rng.randrange(len(t)), rng.randrange(len(other))
            t = t[:i] + other[j:]
        _load(bytes(t))


def _entries(doc):
    out = []
    for n in doc.get("nodes", []):
        if isinstance(n, dict) and isinstance(n.get("inputs"), list):
            out += [e for e in n["inputs"] if isinstance(e, list)]
    heads = doc.get("heads")
    out += [e for e in heads if isinstance(e, list)] if isinstance(heads, list) else []
    return out


def _mutate(doc, rng):
    nodes = [n for n in doc["nodes"] if isinstance(n, dict)] or [{}]
    kind = rng.randrange(7)
    if kind == 0:  # point an entry anywhere (cycles, self-loops, out of range, bad output index)
        es = _entries(doc)
        if es:
            e = rng.choice(es)
            if e:
                e[rng.randrange(len(e))] = rng.choice([rng.randrange(-2, len(doc["nodes"]) + 2),
                                                       rng.randrange(5)])
    elif kind == 1:  # delete or retype a field
        n = rng.choice(nodes)
        key = rng.choice(list(n) or ["op"])
        if rng.random() < 0.5:
            n.pop(key, None)
        else:
            n[key] = rng.choice(JUNK)
    elif kind == 2:  # replace an attribute value
        n = rng.choice(nodes)
        for key in ("attrs", "attr", "param"):
            if isinstance(n.get(key), dict) and n[key]:
                k = rng.choice(list(n[key]))
                n[key][k] = rng.choice(JUNK) if rng.random() < 0.2 else str(rng.choice(JUNK))
                break
    elif kind == 3:  # top-level damage
        key = rng.choice(["nodes", "heads", "arg_nodes", "attrs", "node_row_ptr"])
        doc[key] = rng.choice(JUNK) if rng.random() < 0.5 else doc.get(key)
        if rng.random() < 0.3:
            doc.pop(key, None)
    elif kind == 4:  # op renamed (alias, unknown, variable)
        n = rng.choice(nodes)
        n["op"] = rng.choice(["null", "Softmax", "NoSuchOp", "BatchNorm", "SliceChannel",
                              "Concat", "_foreach", ""])
    elif kind == 5:  # a subgraph, possibly nested in itself
        n = rng.choice(nodes)
        n["subgraphs"] = [copy.deepcopy(doc) if rng.random() < 0.7 else rng.choice(JUNK)]
    else:  # version changes which upgrade steps run
        doc["attrs"] = {"mxnet_version": ["int", rng.choice([0, 800, 900, 903, 10901, 20000])]}
    return doc


def test_document_mutations():
    rng = random.Random(99)
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in SEEDS]
    for _ in range(N_DOC):
        doc = copy.deepcopy(rng.choice(docs))
        for _ in range(rng.randint(1, 3)):
            if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list) or not doc["nodes"]:
                break
            doc = _mutate(doc, rng)
        _load(json.dumps(doc))


def test_deep_nesting_and_deep_graphs():
    _load("[" * 200_000 + "]" * 200_000)
    _load('{"nodes": ' + "[" * 50_000)
    # a chain 20,000 nodes deep loads (no recursion), and a cycle across it is refused
    n = 20_000
    nodes = [{"op": "null", "name": "x", "inputs": []}]
    nodes += [{"op": "relu", "name": f"r{i}", "inputs": [[i, 0, 0]]} for i in range(n)]
    doc = {"nodes": nodes, "arg_nodes": [0], "heads": [[n, 0, 0]]}
    s = ndparse.load_symbol_json(json.dumps(doc))
    assert len(s.nodes) == n + 1 and s.list_outputs() == [f"r{n - 1}_output"]
    nodes[0] = {"op": "relu", "name": "x", "inputs": [[n, 0, 0]]}
    doc["arg_nodes"] = []
    try:
        ndparse.load_symbol_json(json.dumps(doc))
    except ndparse.SymbolFormatError as e:
        assert "cycle" in str(e)
    else:
        raise AssertionError("a cycle loaded")
