"""Write the sequence-family fixtures of mxtorch with real MXNet 1.9.1 (run in the oracle venv, by hand):

    .oracle19/bin/python tools/make_sequence_fixtures.py [-k SUBSTRING] [--nets]

fixtures/mxtorch/sequence/: one case per op setting: the fused RNN over every mode x layers x direction x
projection x sequence lengths (odd sizes), the interleaved attention matmuls at several head counts,
div_sqrt_dim, arange_like, SequenceMask/Last/Reverse, and _foreach/_while_loop/_cond graphs (loop state, free
variables, early exit). fixtures/mxtorch/gluonnlp/ (with --nets): tiny GluonNLP 0.10.0 networks (BERT,
RoBERTa, DistilBERT with 2 layers and width 32; the standard and AWD LSTM language models) exported with
``net.hybridize(); net(...); net.export(prefix)`` exactly as users do.

Files per case: NAME-symbol.json, NAME-0000.params (``mx.model.save_checkpoint``'s arg:/aux: keys, only when
the graph has weights), NAME.expected.npz (``in:<input>``, ``out:<i>`` in list_outputs order) and NAME.json
(provenance). MXNet's CPU RNN refuses ``use_sequence_length`` (cuDNN only); for those cases the expected
outputs are MXNet's own RNN run on each sample cut to its length (outputs past the length zero), which is
what cuDNN's variable-length mode computes; the provenance says so.
"""

from __future__ import annotations

import argparse
import json
import os
import zlib

import mxnet as mx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "fixtures", "mxtorch")
MAX_FILE_BYTES = 1024 * 1024
S = mx.sym
CASES: list = []


def case(name, build, kind="sequence"):
    CASES.append((kind, name, build))


def write(kind, name, sym, inputs, params, outs, *, call, notes="", aux=None):
    out_dir = os.path.join(OUT, kind)
    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.join(out_dir, name)
    aux = aux or {}
    if params or aux:
        mx.model.save_checkpoint(prefix, 0, sym, {k: mx.nd.array(v, dtype=v.dtype) for k, v in params.items()},
                                 {k: mx.nd.array(v, dtype=v.dtype) for k, v in aux.items()})
    else:
        sym.save(prefix + "-symbol.json")
        if os.path.exists(prefix + "-0000.params"):
            os.remove(prefix + "-0000.params")
    np.savez_compressed(prefix + ".expected.npz", **{f"in:{k}": v for k, v in inputs.items()},
                        **{f"out:{i}": o for i, o in enumerate(outs)})
    prov = {"name": name, "mxnet": mx.__version__, "seed": zlib.crc32(name.encode()), "call": call,
            "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in inputs.items()},
            "outputs": sym.list_outputs(), "output_shapes": [list(o.shape) for o in outs],
            "ops": sorted({n["op"] for n in json.loads(sym.tojson())["nodes"] if n["op"] != "null"}),
            "notes": notes}
    with open(prefix + ".json", "w") as f:
        json.dump(prov, f, indent=1)
        f.write("\n")
    for suffix in ("-symbol.json", "-0000.params", ".expected.npz", ".json"):
        if os.path.exists(prefix + suffix):
            assert os.path.getsize(prefix + suffix) < MAX_FILE_BYTES, prefix + suffix
    return prov


def run(sym, values):
    """MXNet's forward at inference on every argument given by name."""
    exe = sym.bind(mx.cpu(), args={k: mx.nd.array(v, dtype=v.dtype) for k, v in values.items()},
                   grad_req="null")
    return [o.asnumpy() for o in exe.forward(is_train=False)]


def rng_of(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


# ---------------------------------------------------------------------------------------------- RNN
T, N, I, H, P = 5, 3, 5, 7, 3
LENS = np.array([5, 1, 3], np.int32)


def rnn_sym(mode, layers, bi, proj, so, usl):
    args = {"data": S.Variable("data"), "parameters": S.Variable("parameters"), "state": S.Variable("state")}
    kw = dict(mode=mode, state_size=H, num_layers=layers, bidirectional=bi, state_outputs=so, name="rnn")
    if mode == "lstm":
        args["state_cell"] = S.Variable("state_cell")
    if proj:
        kw["projection_size"] = proj
    if usl:
        args["sequence_length"] = S.Variable("sequence_length")
        kw["use_sequence_length"] = True
    return S.RNN(**args, **kw)


def rnn_case(mode, layers, bi, proj, so, usl):
    name = f"rnn_{mode}_l{layers}_{'bi' if bi else 'uni'}{f'_p{proj}' if proj else ''}" \
           f"{'' if so else '_nostate'}{'_seqlen' if usl else ''}"

    def build():
        rng = rng_of(name)
        d = 2 if bi else 1
        sym = rnn_sym(mode, layers, bi, proj, so, usl)
        base = rnn_sym(mode, layers, bi, proj, so, False)
        shapes = {"data": (T, N, I), "state": (layers * d, N, proj or H)}
        if mode == "lstm":
            shapes["state_cell"] = (layers * d, N, H)
        arg_shapes, _, _ = base.infer_shape(**shapes)
        pshape = dict(zip(base.list_arguments(), arg_shapes))["parameters"]
        params = {"parameters": (rng.normal(0, 0.4, pshape)).astype(np.float32)}
        inputs = {k: rng.normal(0, 1, s).astype(np.float32) for k, s in shapes.items()}
        call = "sym.bind(mx.cpu(), grad_req='null').forward(is_train=False)"
        notes = f"mx.sym.RNN(mode={mode!r}, state_size={H}, num_layers={layers}, bidirectional={bi}, " \
                f"projection_size={proj}, state_outputs={so}, use_sequence_length={usl})"
        if not usl:
            outs = run(sym, {**inputs, **params})
        else:
            inputs["sequence_length"] = LENS.copy()
            per = []
            for n, ln in enumerate(LENS):
                v = {k: (x[:ln, n:n + 1] if k == "data" else x[:, n:n + 1]) for k, x in inputs.items()
                     if k != "sequence_length"}
                per.append(run(base, {**v, **params}))
            y = np.zeros((T, N, per[0][0].shape[2]), np.float32)
            for n, ln in enumerate(LENS):
                y[:ln, n] = per[n][0][:, 0]
            outs = [y] + [np.concatenate([p[k] for p in per], axis=1) for k in range(1, len(per[0]))]
            call = ("expected: MXNet's RNN without sequence lengths run on each sample cut to its length, "
                    "outputs past it zero (MXNet's CPU RNN refuses use_sequence_length; cuDNN's semantics)")
        return write("sequence", name, sym, inputs, params, outs, call=call, notes=notes)

    case(name, build)


def rnn_cases():
    for mode in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        for layers in (1, 2):
            for bi in (False, True):
                for proj in ((None, P) if mode == "lstm" else (None,)):
                    for usl in (False, True):
                        rnn_case(mode, layers, bi, proj, True, usl)
    rnn_case("lstm", 3, True, None, False, False)
    rnn_case("gru", 1, False, None, False, False)
    rnn_case("rnn_tanh", 3, True, None, True, False)


# ---------------------------------------------------------------------------------------- attention
def simple(name, sym, inputs, notes=""):
    def build():
        outs = run(sym, inputs)
        return write("sequence", name, sym, inputs, {}, outs,
                     call="sym.bind(mx.cpu(), grad_req='null').forward(is_train=False)", notes=notes)
    case(name, build)


def softmaxed(rng, shape):
    a = rng.normal(0, 1, shape)
    a = np.exp(a - a.max(-1, keepdims=True))
    return (a / a.sum(-1, keepdims=True)).astype(np.float32)


def attention_cases():
    C = S.contrib
    for heads in (1, 2, 4):
        rng = rng_of(f"att{heads}")
        d, tq, tk, n = 3, 4, 5, 3
        qkv = rng.normal(0, 1, (tk, n, heads * 3 * d)).astype(np.float32)
        att = softmaxed(rng, (n * heads, tk, tk))
        q = rng.normal(0, 1, (tq, n, heads * d)).astype(np.float32)
        kv = rng.normal(0, 1, (tk, n, heads * 2 * d)).astype(np.float32)
        att2 = softmaxed(rng, (n * heads, tq, tk))
        x = S.Variable("qkv")
        simple(f"selfatt_qk_h{heads}", C.interleaved_matmul_selfatt_qk(x, heads=heads), {"qkv": qkv})
        simple(f"selfatt_valatt_h{heads}", C.interleaved_matmul_selfatt_valatt(x, S.Variable("att"), heads=heads),
               {"qkv": qkv, "att": att})
        simple(f"encdec_qk_h{heads}", C.interleaved_matmul_encdec_qk(S.Variable("q"), S.Variable("kv"),
                                                                     heads=heads), {"q": q, "kv": kv})
        simple(f"encdec_valatt_h{heads}", C.interleaved_matmul_encdec_valatt(S.Variable("kv"), S.Variable("att"),
                                                                             heads=heads), {"kv": kv, "att": att2})
        # the whole self-attention block as GluonNLP composes it
        sc = C.interleaved_matmul_selfatt_qk(x, heads=heads)
        sm = S.softmax(sc, axis=-1)
        simple(f"selfatt_block_h{heads}", C.interleaved_matmul_selfatt_valatt(x, sm, heads=heads), {"qkv": qkv})
    rng = rng_of("misc")
    x = rng.normal(0, 1, (2, 3, 7)).astype(np.float32)
    simple("div_sqrt_dim", C.div_sqrt_dim(S.Variable("data")), {"data": x})
    d = S.Variable("data")
    simple("arange_like_all", C.arange_like(d), {"data": rng.normal(0, 1, (3, 4)).astype(np.float32)})
    simple("arange_like_repeat", C.arange_like(d, start=2.0, step=0.5, repeat=2),
           {"data": rng.normal(0, 1, (3, 5)).astype(np.float32)})
    simple("arange_like_axis1", C.arange_like(d, start=-1.0, step=3.0, axis=1),
           {"data": rng.normal(0, 1, (2, 7, 3)).astype(np.float32)})
    simple("arange_like_axis0_repeat3", C.arange_like(d, start=1.5, step=-0.25, repeat=3, axis=0),
           {"data": rng.normal(0, 1, (7, 2)).astype(np.float32)})
    # GluonNLP's position ids: arange_like over the time axis, added to data
    simple("arange_like_positions", S.broadcast_add(d, C.arange_like(d, axis=1).reshape((1, -1))),
           {"data": rng.normal(0, 1, (3, 6)).astype(np.float32)})
    lens = np.array([5, 2, 0], np.float32)
    lens1 = np.array([5, 1, 3], np.float32)
    xt = rng.normal(0, 1, (5, 3, 4)).astype(np.float32)
    xn = rng.normal(0, 1, (3, 5, 4)).astype(np.float32)
    L = S.Variable("length")
    simple("seqmask_axis0", S.SequenceMask(d, L, use_sequence_length=True), {"data": xt, "length": lens})
    simple("seqmask_axis1_value", S.SequenceMask(d, L, use_sequence_length=True, value=-1e4, axis=1),
           {"data": xn, "length": lens})
    simple("seqmask_nolen", S.SequenceMask(d, value=3.0), {"data": xt})
    simple("seqmask_2d", S.SequenceMask(d, L, use_sequence_length=True, value=-2.5, axis=1),
           {"data": rng.normal(0, 1, (3, 5)).astype(np.float32), "length": np.array([4.7, 1, 5], np.float32)})
    simple("seqlast_axis0", S.SequenceLast(d, L, use_sequence_length=True), {"data": xt, "length": lens1})
    simple("seqlast_axis1", S.SequenceLast(d, L, use_sequence_length=True, axis=1), {"data": xn, "length": lens1})
    simple("seqlast_nolen", S.SequenceLast(d), {"data": xt})
    simple("seqreverse_len", S.SequenceReverse(d, L, use_sequence_length=True), {"data": xt, "length": lens1})
    simple("seqreverse_nolen", S.SequenceReverse(d), {"data": xt})


# ------------------------------------------------------------------------------------------ control flow
def flow(name, sym, inputs, params, notes="", steps_at=None):
    """``steps_at``: (index of the output holding the step count, indices of while_loop stacked outputs):
    MXNet leaves the rows of steps not taken unwritten (uninitialised memory); they are recorded as zero."""
    def build():
        outs = run(sym, {**inputs, **params})
        nonlocal notes
        if steps_at is not None:
            n = int(outs[steps_at[0]].reshape(-1)[0])
            for k in steps_at[1]:
                outs[k][n:] = 0
            notes += f"; {n} steps taken: the stacked rows past them are MXNet's uninitialised memory, " \
                     "recorded as zero (mxtorch pads with zeros)"
        return write("sequence", name, sym, inputs, params, outs,
                     call="sym.bind(mx.cpu(), grad_req='null').forward(is_train=False)", notes=notes)
    case(name, build)


def control_cases():
    C = S.contrib
    rng = rng_of("control")
    x = rng.normal(0, 1, (5, 3, 4)).astype(np.float32)
    h0 = rng.normal(0, 1, (3, 4)).astype(np.float32)
    w = rng.normal(0, 1, (4,)).astype(np.float32)

    # foreach: a running sum scaled by a free variable (a weight), the state carried
    def body1(d, st):
        out = S.broadcast_mul(d, S.Variable("w")) + st[0]
        return out * 2, [out]
    outs, states = C.foreach(body1, S.Variable("data"), [S.Variable("h0")])
    flow("foreach_cumsum", S.Group([outs, states[0]]), {"data": x, "h0": h0}, {"w": w},
         "foreach: data sliced on axis 0, one state, a free weight")

    # foreach: an Elman cell with two states, two per-step outputs and FullyConnected weights
    def body2(d, st):
        h = S.tanh(S.FullyConnected(d, weight=S.Variable("wx"), bias=S.Variable("bx"), num_hidden=4)
                   + S.FullyConnected(st[0], weight=S.Variable("wh"), no_bias=True, num_hidden=4))
        return [h, S.sum(h, axis=1)], [h, st[1] + h]
    outs, states = C.foreach(body2, S.Variable("data"), [S.Variable("h0"), S.Variable("acc")])
    flow("foreach_cell", S.Group(outs + states), {"data": x, "h0": h0, "acc": np.zeros_like(h0)},
         {"wx": rng.normal(0, 0.5, (4, 4)).astype(np.float32), "bx": rng.normal(0, 0.5, (4,)).astype(np.float32),
          "wh": rng.normal(0, 0.5, (4, 4)).astype(np.float32)}, "foreach: two outputs, two states, weights free")

    # foreach over two data arrays, no state
    outs, states = C.foreach(lambda d, st: (d[0] * d[1], []), [S.Variable("a"), S.Variable("b")], [])
    flow("foreach_two_data_nostate", outs, {"a": x, "b": x[::-1].copy()}, {})

    # while_loop with early exit: i counts to 3 of max 5; the stacked output has 5 rows
    def wcond(i, s):
        return i < 3

    def wfunc(i, s):
        s2 = s + S.Variable("x")
        return [s2 * 2], [i + 1, s2]
    outs, vars_ = C.while_loop(wcond, wfunc, [S.Variable("i"), S.Variable("s")], max_iterations=5)
    flow("while_early_exit", S.Group(outs + vars_),
         {"i": np.zeros((1,), np.float32), "s": h0, "x": rng.normal(0, 1, (3, 4)).astype(np.float32)}, {},
         "while_loop: cond false after 3 of max_iterations=5 steps; free variable x", steps_at=(1, [0]))
    # while_loop stopped by max_iterations
    outs, vars_ = C.while_loop(lambda i, s: i < 100, wfunc, [S.Variable("i"), S.Variable("s")], max_iterations=4)
    flow("while_max_iterations", S.Group(outs + vars_),
         {"i": np.zeros((1,), np.float32), "s": h0, "x": rng.normal(0, 1, (3, 4)).astype(np.float32)}, {})
    # a data-dependent condition on a tensor loop variable
    outs, vars_ = C.while_loop(lambda s, i: S.sum(s) < 10.0, lambda s, i: ([S.sqrt(S.abs(s))], [s * 1.5 + 0.5, i + 1]),
                               [S.Variable("s"), S.Variable("i")], max_iterations=8)
    flow("while_data_cond", S.Group(outs + vars_), {"s": np.abs(h0) * 0.05, "i": np.zeros((1,), np.float32)}, {},
         "while_loop: a condition on the data", steps_at=(2, [0]))

    # cond: both branches, a predicate computed from the data
    def mk():
        a, b = S.Variable("a"), S.Variable("b")
        return C.cond(S.sum(a) > 0, lambda: [a * 2 + b, S.FullyConnected(b, weight=S.Variable("w2"), no_bias=True,
                                                                          num_hidden=4)],
                      lambda: [a - b, b * 0.5])
    w2 = rng.normal(0, 1, (4, 4)).astype(np.float32)
    a = np.abs(rng.normal(0, 1, (3, 4))).astype(np.float32)
    flow("cond_then", S.Group(mk()), {"a": a, "b": h0}, {"w2": w2})
    flow("cond_else", S.Group(mk()), {"a": -a, "b": h0}, {"w2": w2})


# ------------------------------------------------------------------------------------------- GluonNLP
VOCAB_WORDS = [f"w{i}" for i in range(37)]
BERT_KW = dict(num_layers=2, units=32, hidden_size=64, num_heads=2, embed_size=32, max_length=64, dropout=0.0)


def _init_net(net, rng, warm):
    """Seeded random weights; LayerNorm gamma/beta and biases non-trivial (init=None lets the name rule work)."""
    for n, p in net.collect_params().items():
        if n.endswith(("gamma", "beta", "mean", "var", "bias")):
            p.init = None
    net.initialize(mx.init.Normal(0.2))
    warm()  # deferred shapes
    for n, p in net.collect_params().items():
        shape = p.shape
        if n.endswith("gamma"):
            v = rng.uniform(0.5, 1.5, shape)
        elif n.endswith(("beta", "bias")):
            v = rng.normal(0, 0.2, shape)
        else:
            v = rng.normal(0, 0.2, shape)
        p.set_data(mx.nd.array(v.astype(np.float32)))


def export_net(name, net, args, notes):
    """hybridize, call, export as users do; the expected outputs are the exported symbol's run."""
    import tempfile

    net.hybridize()
    direct = net(*[mx.nd.array(a, dtype=a.dtype) for a in args])
    tmp = tempfile.mkdtemp()
    net.export(os.path.join(tmp, name))
    sym = mx.sym.load(os.path.join(tmp, f"{name}-symbol.json"))
    saved = mx.nd.load(os.path.join(tmp, f"{name}-0000.params"))
    params = {k[4:]: v.asnumpy() for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v.asnumpy() for k, v in saved.items() if k.startswith("aux:")}
    data_names = [n for n in sym.list_inputs() if n not in params and n not in aux]
    inputs = dict(zip(data_names, args))
    exe = sym.bind(mx.cpu(), args={k: mx.nd.array(v, dtype=v.dtype) for k, v in {**inputs, **params}.items()},
                   aux_states={k: mx.nd.array(v) for k, v in aux.items()}, grad_req="null")
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    flat = []

    def walk(o):
        if isinstance(o, (list, tuple)):
            for x in o:
                walk(x)
        else:
            flat.append(o.asnumpy())
    walk(direct)
    for a, b in zip(outs, flat):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-5), (name, a.shape, b.shape, np.abs(a - b).max())
    call = ("gluonnlp %s: net.hybridize(); net(*inputs); net.export(prefix); expected = "
            "mx.sym.load(prefix).bind(...).forward(is_train=False)" % nlp_version())
    return write("gluonnlp", name, sym, inputs, params, outs, call=call, notes=notes, aux=aux)


def nlp_version():
    import gluonnlp

    return gluonnlp.__version__


def bert_like(model, name, extra, feed):
    def build():
        import gluonnlp as nlp

        rng = rng_of(name)
        vocab = nlp.Vocab(nlp.data.count_tokens(VOCAB_WORDS))
        net, _ = nlp.model.get_model(model, dataset_name=None, vocab=vocab, pretrained=False,
                                     hparam_allow_override=True, **BERT_KW, **extra)
        b, t = 2, 7
        tokens = rng.integers(0, len(vocab), (b, t)).astype(np.float32)
        valid = np.array([7, 4], np.float32)
        args = feed(rng, tokens, valid)
        _init_net(net, rng, lambda: net(*[mx.nd.array(a, dtype=a.dtype) for a in args]))
        return export_net(name, net, args, f"{model} with {BERT_KW}, {extra}; vocab {len(vocab)}; "
                                           f"token ids and valid lengths float32 as GluonNLP feeds them")
    case(name, build, kind="gluonnlp")


def lm(model, name, extra):
    def build():
        import gluonnlp as nlp

        rng = rng_of(name)
        vocab = nlp.Vocab(nlp.data.count_tokens(VOCAB_WORDS))
        net, _ = nlp.model.get_model(model, dataset_name=None, vocab=vocab, pretrained=False,
                                     hparam_allow_override=True, **extra)
        t, b = 5, 3
        tokens = rng.integers(0, len(vocab), (t, b)).astype(np.float32)
        state = net.begin_state(batch_size=b, func=mx.nd.zeros)
        _init_net(net, rng, lambda: net(mx.nd.array(tokens), state))
        flat = []
        for s in state:
            for x in (s if isinstance(s, (list, tuple)) else [s]):
                flat.append(rng.normal(0, 0.5, x.shape).astype(np.float32))
        net.hybridize()
        nested, k = [], 0
        for s in state:
            n = len(s) if isinstance(s, (list, tuple)) else 1
            arrs = [mx.nd.array(x) for x in flat[k:k + n]]
            nested.append(arrs if isinstance(s, (list, tuple)) else arrs[0])
            k += n
        net(mx.nd.array(tokens), nested)
        return export_net_lm(name, net, tokens, nested, flat,
                             f"{model} with {extra}; vocab {len(vocab)}; inputs (tokens float32, begin_state)")
    case(name, build, kind="gluonnlp")


def export_net_lm(name, net, tokens, nested, flat, notes, kind="gluonnlp"):
    class Feed:  # export_net calls net(*args): the LM takes (tokens, nested state)
        pass
    import tempfile

    tmp = tempfile.mkdtemp()
    net.export(os.path.join(tmp, name))
    sym = mx.sym.load(os.path.join(tmp, f"{name}-symbol.json"))
    saved = mx.nd.load(os.path.join(tmp, f"{name}-0000.params"))
    params = {k[4:]: v.asnumpy() for k, v in saved.items() if k.startswith("arg:")}
    data_names = [n for n in sym.list_inputs() if n not in params]
    inputs = dict(zip(data_names, [tokens] + flat))
    outs = run(sym, {**inputs, **params})
    direct = net(mx.nd.array(tokens), nested)
    d = [direct[0]] + [x for s in direct[1] for x in (s if isinstance(s, (list, tuple)) else [s])]
    for a, b in zip(outs, d):
        assert np.allclose(a, b.asnumpy(), atol=1e-5), name
    call = ("%s: net.hybridize(); net(inputs, begin_state); net.export(prefix); expected = "
            "mx.sym.load(prefix).bind(...).forward(is_train=False)"
            % (f"gluonnlp {nlp_version()}" if kind == "gluonnlp" else f"mxnet {mx.__version__} gluon"))
    return write(kind, name, sym, inputs, params, outs, call=call, notes=notes)


def gluon_layer(name, make, shape):
    """A gluon.rnn layer (NTC layout, begin state given) exported as users export it."""
    def build():
        from mxnet.gluon import rnn

        rng = rng_of(name)
        net = make(rnn)
        x = rng.normal(0, 1, shape).astype(np.float32)
        st = net.begin_state(batch_size=shape[0], func=mx.nd.zeros)
        vals = [x] + [rng.normal(0, 0.5, s.shape).astype(np.float32) for s in st]
        _init_net(net, rng, lambda: net(mx.nd.array(x), [mx.nd.array(v) for v in vals[1:]]))
        net.hybridize()
        net(mx.nd.array(x), [mx.nd.array(v) for v in vals[1:]])
        return export_net_lm(name, net, x, [mx.nd.array(v) for v in vals[1:]], vals[1:],
                             "a gluon.rnn layer, layout NTC, begin states as inputs", kind="sequence")
    case(name, build, kind="sequence")


def net_cases():
    gluon_layer("gluon_lstm_ntc_bi_l2", lambda rnn: rnn.LSTM(9, num_layers=2, layout="NTC", bidirectional=True,
                                                             input_size=5), (3, 7, 5))
    gluon_layer("gluon_lstmp_l2", lambda rnn: rnn.LSTM(9, num_layers=2, layout="NTC", projection_size=4,
                                                       input_size=5), (3, 7, 5))
    gluon_layer("gluon_gru_ntc_bi", lambda rnn: rnn.GRU(6, num_layers=1, layout="NTC", bidirectional=True,
                                                        input_size=5), (2, 9, 5))

    bert_like("bert_12_768_12", "bert_tiny", dict(use_pooler=True, use_decoder=False, use_classifier=False),
              lambda rng, tok, vl: [tok, rng.integers(0, 2, tok.shape).astype(np.float32), vl])
    bert_like("roberta_12_768_12", "roberta_tiny", dict(use_decoder=False), lambda rng, tok, vl: [tok, vl])
    bert_like("roberta_12_768_12", "roberta_tiny_decoder", dict(use_decoder=True),
              lambda rng, tok, vl: [tok, vl, np.array([[1, 3, 6], [0, 2, 2]], np.int32)])
    bert_like("distilbert_6_768_12", "distilbert_tiny", {}, lambda rng, tok, vl: [tok, vl])
    lm("standard_lstm_lm_200", "standard_lstm_lm_tiny", dict(embed_size=16, hidden_size=16, num_layers=2,
                                                            dropout=0.0))
    lm("awd_lstm_lm_1150", "awd_lstm_lm_tiny", dict(embed_size=16, hidden_size=24, num_layers=3, dropout=0.0,
                                                    drop_h=0.0, drop_i=0.0, drop_e=0.0, weight_drop=0.0))


# ------------------------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--nets", action="store_true", help="also the GluonNLP networks")
    a = ap.parse_args(argv)
    rnn_cases()
    attention_cases()
    if "control_cases" in globals():
        globals()["control_cases"]()
    if a.nets and "net_cases" in globals():
        globals()["net_cases"]()
    for kind, name, build in CASES:
        if a.k in name:
            prov = build()
            print(kind, name, prov["output_shapes"])


if __name__ == "__main__":
    main()
