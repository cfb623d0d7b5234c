"""The sequence families (issue 19) beyond the MXNet fixtures: RNN's settings MXNet's CPU build refuses
(state clipping), the fused and step-by-step RNN paths agreeing, load-time refusals, and export with a
symbolic batch and sequence length (torch.export Dim; control flow through scan / cond / while_loop)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mxtorch  # noqa: E402
from mxtorch.ops import rnn as R  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEQ = ROOT / "fixtures" / "mxtorch" / "sequence"
NLP = ROOT / "fixtures" / "mxtorch" / "gluonnlp"


def _kw(mode, layers, bi, proj, **extra):
    kw = dict(mode=mode, state_size=6, num_layers=layers, bidirectional=bi, projection_size=proj,
              state_outputs=True, has_cell=mode == "lstm", use_sequence_length=False, clip=None)
    kw.update(extra)
    return kw


def _rnn_args(mode, layers, bi, proj, t=4, n=2, i=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    d = 2 if bi else 1
    p = torch.randn(R.param_count(mode, layers, i, 6, bi, proj), generator=g) * 0.4
    x = torch.randn(t, n, i, generator=g)
    h = torch.randn(layers * d, n, proj or 6, generator=g)
    c = torch.randn(layers * d, n, 6, generator=g)
    return (x, p, h, c) if mode == "lstm" else (x, p, h)


@pytest.mark.parametrize("mode,layers,bi,proj", [
    (m, L, b, p) for m, L, b, p in itertools.product(["lstm", "gru", "rnn_tanh", "rnn_relu"], [1, 2],
                                                      [False, True], [None, 2]) if p is None or m == "lstm"])
def test_fused_and_stepwise_paths_agree(mode, layers, bi, proj):
    args = _rnn_args(mode, layers, bi, proj)
    fused = R.rnn(*args, **_kw(mode, layers, bi, proj))
    full = torch.full((args[0].shape[1],), args[0].shape[0])
    step = R.rnn(*args, full, **_kw(mode, layers, bi, proj, use_sequence_length=True))
    for a, b in zip(fused, step):
        assert float((a - b).abs().max()) < 1e-5


def test_param_count_is_mxnet_rule():
    # rnn-inl.h GetRnnParamSize for a 2-layer bidirectional LSTM, input 5, state 7, no projection
    size = 7 * 2 * 4
    assert R.param_count("lstm", 2, 5, 7, True, None) == (5 + 7 + 2) * size + (7 * 2 + 7 + 2) * size
    with pytest.raises(ValueError, match="expected a vector of"):
        R.split_params(torch.zeros(10), "gru", 1, 5, 7, False, None)


def _lstm_reference(x, p, h, c, lo, hi, nan):
    wx, wh, bx, bh, _ = R.split_params(p, "lstm", 1, x.shape[2], 6, False, None)[0]
    ys = []
    for t in range(x.shape[0]):
        i, f, g, o = (x[t] @ wx.T + bx + h @ wh.T + bh).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        c = torch.where(torch.isnan(c), torch.full_like(c, lo), c.clamp(lo, hi)) if nan else c.clamp(lo, hi)
        h = torch.sigmoid(o) * torch.tanh(c)
        ys.append(h)
    return torch.stack(ys), h, c


def test_lstm_state_clip():
    x, p, h, c = _rnn_args("lstm", 1, False, None, seed=3)
    p = p * 4  # large gates: the cell state leaves [-0.3, 0.3]
    out, hy, cy = R.rnn(x, p, h, c, **_kw("lstm", 1, False, None, clip=(-0.3, 0.3, False)))
    ref = _lstm_reference(x, p, h[0], c[0], -0.3, 0.3, False)
    assert float((out - ref[0]).abs().max()) < 1e-6 and float(cy.abs().max()) <= 0.3 + 1e-7
    c2 = c.clone()
    c2[0, 0, 0] = float("nan")
    out, hy, cy = R.rnn(x[:1], p, h, c2, **_kw("lstm", 1, False, None, clip=(-0.3, 0.3, True)))
    assert not torch.isnan(cy).any()


def _node(op, **attrs):
    from ndparse.symbol import load_symbol_json

    a = {k: str(v) for k, v in attrs.items()}
    ins = {"RNN": ["data", "parameters", "state"] + (["state_cell"] if attrs.get("mode") == "lstm" else [])}[op]
    nodes = [{"op": "null", "name": n, "inputs": []} for n in ins]
    nodes.append({"op": op, "name": "r", "attrs": a, "inputs": [[k, 0, 0] for k in range(len(ins))]})
    return load_symbol_json(json.dumps({"nodes": nodes, "arg_nodes": list(range(len(ins))),
                                        "heads": [[len(ins), 0, 0]]}))


@pytest.mark.parametrize("attrs,words", [
    (dict(mode="gru", state_size=4, num_layers=1, projection_size=2), "projection"),
    (dict(mode="lstm", state_size=4, num_layers=1, projection_size=5), "projection_size"),
    (dict(mode="lstm", state_size=4, num_layers=1, lstm_state_clip_min=-1), "lstm_state_clip"),
    (dict(mode="gru", state_size=4, num_layers=1, lstm_state_clip_min=-1, lstm_state_clip_max=1), "mode"),
    (dict(mode="lstm", state_size=4, num_layers=0), "num_layers"),
])
def test_rnn_refusals(attrs, words):
    sym = _node("RNN", **attrs)
    with pytest.raises(mxtorch.UnsupportedOpError, match=words):
        mxtorch.from_symbol(sym, {"parameters": np.zeros(10, np.float32)}, {})


def _export_check(prefix: Path, specs, feeds):
    """torch.export with the Dims in ``specs`` (one dict per input), then the program at other sizes
    (``feeds``: callables building inputs) matches the eager model."""
    m = mxtorch.load(prefix)
    e = np.load(str(prefix) + ".expected.npz")
    args = tuple(torch.from_numpy(e[f"in:{n}"]) for n in m.input_names)
    ep = torch.export.export(m, args, dynamic_shapes=(tuple(specs),))
    for feed in feeds:
        xs = feed()
        got, want = ep.module()(*xs), m(*xs)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for a, b in zip(got, want):
            assert a.shape == b.shape
            assert float((a - b).abs().max()) <= 1e-5 * max(1.0, float(b.abs().max()))
    return ep


def test_rnn_export_symbolic_length_and_batch():
    T, N = torch.export.Dim("T", min=1, max=512), torch.export.Dim("N", min=1, max=64)
    g = torch.Generator().manual_seed(1)

    def feed(t, n):
        return lambda: (torch.randn(t, n, 5, generator=g), torch.randn(2, n, 7, generator=g),
                        torch.randint(1, t + 1, (n,), generator=g, dtype=torch.int32))
    ep = _export_check(SEQ / "rnn_gru_l1_bi_seqlen", [{0: T, 1: N}, {1: N}, {0: N}], [feed(9, 2), feed(3, 5)])
    assert "higher_order.scan" in str(ep.graph)


def test_bert_export_symbolic_length_and_batch():
    B, T = torch.export.Dim("B", min=1, max=64), torch.export.Dim("T", min=1, max=64)
    g = torch.Generator().manual_seed(2)

    def feed(b, t):
        return lambda: (torch.randint(0, 37, (b, t), generator=g).float(),
                        torch.randint(0, 2, (b, t), generator=g).float(),
                        torch.randint(1, t + 1, (b,), generator=g).float())
    _export_check(NLP / "bert_tiny", [{0: B, 1: T}, {0: B, 1: T}, {0: B}], [feed(3, 11), feed(1, 4)])


def test_lstm_lm_export_symbolic_length_and_batch():
    B, T = torch.export.Dim("B", min=1, max=64), torch.export.Dim("T", min=1, max=512)
    g = torch.Generator().manual_seed(3)

    def feed(t, b):
        return lambda: (torch.randint(0, 37, (t, b), generator=g).float(), torch.randn(2, b, 16, generator=g),
                        torch.randn(2, b, 16, generator=g))
    _export_check(NLP / "standard_lstm_lm_tiny", [{0: T, 1: B}, {1: B}, {1: B}], [feed(8, 2), feed(2, 4)])


def test_control_flow_exports_through_torch_operators():
    T, N = torch.export.Dim("T", min=1, max=64), torch.export.Dim("N", min=1, max=64)
    g = torch.Generator().manual_seed(4)
    ep = _export_check(SEQ / "foreach_cell", [{0: T, 1: N}, {0: N}, {0: N}],
                       [lambda: (torch.randn(7, 2, 4, generator=g), torch.randn(2, 4, generator=g),
                                 torch.zeros(2, 4))])
    assert "higher_order.scan" in str(ep.graph)
    ep = _export_check(SEQ / "cond_then", [None, None],
                       [lambda: (-torch.rand(3, 4, generator=g), torch.randn(3, 4, generator=g))])
    assert "higher_order.cond" in str(ep.graph)
    # while_loop: the trip count is data (here 1 step instead of the example's 3)
    ep = _export_check(SEQ / "while_early_exit", [None, None, None],
                       [lambda: (torch.full((1,), 2.0), torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g))])
    assert "higher_order.while_loop" in str(ep.graph)
