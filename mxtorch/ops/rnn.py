"""The fused recurrent op of MXNet (docs/SYMBOL.md §4.10): RNN (lstm / gru / rnn_relu / rnn_tanh, stacked,
bidirectional, LSTM projection, state outputs, per-sample sequence lengths, LSTM state clipping) and
``_rnn_param_concat``, the concat Gluon uses to build its flat parameter vector.

MXNet's flat ``parameters`` vector holds every weight first, then every bias. Weights go layer by layer,
and within a layer forward direction then backward: ``W_x`` (gates*H x input), ``W_h`` (gates*H x R) and,
with a projection, ``W_r`` (P x H); R is P with a projection, else H. The biases follow in the same order:
``b_x`` then ``b_h`` (gates*H each). A layer above the first reads R*directions features. Gate order:
LSTM input, forget, cell, output; GRU reset, update, new, with the new gate ``tanh(x_n + r * (W_hn h +
b_hn))`` (the reset gate scales the recurrent product including its bias). These are exactly torch's
conventions, so in eager mode torch's fused kernels run the op. While ``torch.export`` traces, and whenever
sequence lengths or state clipping are in play, a cell written out step by step runs instead, as a
``scan`` over time, so the sequence length stays symbolic in .pt2 and ONNX (torch's fused kernels unroll
into a fixed trip count when exported).

``use_sequence_length`` (MXNet runs it only with cuDNN; the semantics are cuDNN's): sample ``n`` sees only
its first ``len[n]`` steps; outputs past the length are zero and the final states are those at the last
valid step (the backward direction starts at step ``len[n] - 1``). LSTM state clipping (also cuDNN-only in
MXNet) clamps the cell state to ``[min, max]`` after each step, before ``h = o * tanh(c)``;
``lstm_state_clip_nan`` also maps a NaN cell value to ``min``.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def param_count(mode: str, num_layers: int, input_size: int, state_size: int, bidirectional: bool,
                projection_size: int | None) -> int:
    """The length of MXNet's flat parameter vector for these settings (rnn-inl.h's rule)."""
    g, h, d = GATES[mode], state_size, 2 if bidirectional else 1
    r = projection_size or h
    total = 0
    for layer in range(num_layers):
        isz = input_size if layer == 0 else r * d
        total += d * (g * h * (isz + r) + 2 * g * h + (projection_size or 0) * h)
    return total


def split_params(params: Tensor, mode: str, num_layers: int, input_size: int, state_size: int,
                 bidirectional: bool, projection_size: int | None) -> list[tuple[Tensor, ...]]:
    """Views of MXNet's flat vector, one ``(w_x, w_h, b_x, b_h, w_r or None)`` per layer and direction
    (index ``layer * directions + direction``). Raises ValueError if the vector's length does not fit."""
    g, h, d = GATES[mode], state_size, 2 if bidirectional else 1
    r = projection_size or h
    want = param_count(mode, num_layers, input_size, state_size, bidirectional, projection_size)
    if params.dim() != 1 or params.shape[0] != want:
        raise ValueError(f"RNN parameters: expected a vector of {want} values for mode={mode}, "
                         f"num_layers={num_layers}, input size {input_size}, state_size={state_size}, "
                         f"bidirectional={bidirectional}, projection_size={projection_size}; "
                         f"got shape {tuple(params.shape)}")
    off = 0

    def take(rows: int, cols: int | None = None) -> Tensor:
        nonlocal off
        n = rows * (cols or 1)
        v = params[off:off + n]
        off += n
        return v if cols is None else v.view(rows, cols)

    weights = []
    for layer in range(num_layers):
        isz = input_size if layer == 0 else r * d
        for _ in range(d):
            wx, wh = take(g * h, isz), take(g * h, r)
            wr = take(projection_size, h) if projection_size else None
            weights.append((wx, wh, wr))
    out = []
    for wx, wh, wr in weights:
        bx, bh = take(g * h), take(g * h)
        out.append((wx, wh, bx, bh, wr))
    return out


def _gates(x: Tensor, n: int, size: int) -> list[Tensor]:
    """The ``n`` gate blocks of ``x``'s last axis (sizes as Python ints, so tracing keeps them fixed)."""
    return [x[..., k * size:(k + 1) * size] for k in range(n)]


def _step(mode: str, xt: Tensor, h: Tensor, c: Tensor | None, wh: Tensor, bh: Tensor, wr: Tensor | None,
          clip: tuple[float, float, bool] | None, size: int) -> tuple[Tensor, Tensor | None]:
    """One time step of one direction: ``xt`` is ``W_x x_t + b_x`` already; ``size`` is state_size."""
    gh = torch.nn.functional.linear(h, wh, bh)
    if mode == "lstm":
        i, f, g, o = _gates(xt + gh, 4, size)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if clip is not None:
            lo, hi, nan = clip
            cc = torch.clamp(c, lo, hi)
            c = torch.where(torch.isnan(c), torch.full_like(c, lo), cc) if nan else cc
        hn = torch.sigmoid(o) * torch.tanh(c)
        if wr is not None:
            hn = torch.nn.functional.linear(hn, wr)
        return hn, c
    if mode == "gru":
        xr, xz, xn = _gates(xt, 3, size)
        hr, hz, hn_ = _gates(gh, 3, size)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn_)
        return (1 - z) * n + z * h, None
    a = xt + gh
    return (torch.tanh(a) if mode == "rnn_tanh" else torch.relu(a)), None


def _direction(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w: tuple[Tensor, ...], mask: Tensor | None,
               reverse: bool, clip: tuple[float, float, bool] | None) -> tuple[Tensor, Tensor, Tensor | None]:
    """One direction of one layer over the whole sequence, as a scan (export keeps the length symbolic).
    ``mask``: (T, N, 1) bool of valid steps, or None. Returns (outputs (T, N, R), final h, final c)."""
    from torch._higher_order_ops.scan import scan

    wx, wh, bx, bh, wr = w
    size = wh.shape[0] // GATES[mode]
    xp = torch.nn.functional.linear(x, wx, bx)
    lstm = mode == "lstm"
    carry0 = [h0, c0] if lstm else [h0]
    xs = [xp] if mask is None else [xp, mask]
    extra = [wh, bh] + ([wr] if wr is not None else [])
    if torch.compiler.is_exporting():  # views of one tensor alias each other (and their storage offsets
        extra = [t.clone() for t in extra]  # would pin the batch size): scan gets fresh tensors
        carry0 = [t.clone() for t in carry0]

    def body(carry: list[Tensor], inp: list[Tensor]) -> tuple[list[Tensor], Tensor]:
        h = carry[0]
        c = carry[1] if lstm else None
        hn, cn = _step(mode, inp[0], h, c, extra[0], extra[1], extra[2] if len(extra) > 2 else None, clip,
                       size)
        if mask is not None:
            m = inp[1]
            hn = torch.where(m, hn, h)
            y = torch.where(m, hn, torch.zeros_like(hn))
            if lstm:
                cn = torch.where(m, cn, c)
        else:
            y = hn.clone()
        return ([hn, cn] if lstm else [hn]), y

    if torch.compiler.is_exporting():
        carry, ys = scan(body, carry0, xs, reverse=reverse)
        for k in (0, 1):  # the scan's stacked output has the input's time and batch sizes
            torch._check(ys.shape[k] == xp.shape[k])
    else:  # eager: the same body in a plain loop (scan's eager path is slower)
        carry, outs = carry0, []
        steps = range(xp.shape[0] - 1, -1, -1) if reverse else range(xp.shape[0])
        for t in steps:
            carry, y = body(carry, [v[t] for v in xs])
            outs.append(y)
        if reverse:
            outs.reverse()
        ys = torch.stack(outs) if outs else xp.new_zeros(xp.shape[0], xp.shape[1], h0.shape[-1])
    return ys, carry[0], (carry[1] if lstm else None)


def rnn(data: Tensor, parameters: Tensor, state: Tensor, *rest: Tensor, mode: str, state_size: int,
        num_layers: int, bidirectional: bool, projection_size: int | None, state_outputs: bool,
        has_cell: bool, use_sequence_length: bool,
        clip: tuple[float, float, bool] | None) -> Tensor | tuple[Tensor, ...]:
    """MXNet's RNN at inference: ``data`` (T, N, I), initial ``state`` (L*D, N, R) [and ``state_cell``
    (L*D, N, H) for LSTM] [and ``sequence_length`` (N,)]. Returns the output (T, N, D*R), then the final
    states if ``state_outputs``. Dropout between layers (``p``) is a training-only op."""
    cell = rest[0] if has_cell else None
    seqlen = rest[1 if has_cell else 0] if use_sequence_length else None
    d = 2 if bidirectional else 1
    ws = split_params(parameters, mode, num_layers, data.shape[2], state_size, bidirectional, projection_size)
    lstm = mode == "lstm"
    if seqlen is None and clip is None and not torch.compiler.is_exporting():
        flat = [t for w in ws for t in (w[:4] + ((w[4],) if w[4] is not None else ()))]
        if lstm and projection_size:
            with warnings.catch_warnings():  # "LSTM with projections is not supported with oneDNN": not news
                warnings.simplefilter("ignore", UserWarning)
                out, hy, cy = torch._VF.lstm(data, (state, cell), flat, True, num_layers, 0.0, False,
                                             bidirectional, False)
        elif lstm:
            out, hy, cy = torch._VF.lstm(data, (state, cell), flat, True, num_layers, 0.0, False,
                                         bidirectional, False)
        else:
            fn = {"gru": torch._VF.gru, "rnn_tanh": torch._VF.rnn_tanh, "rnn_relu": torch._VF.rnn_relu}[mode]
            out, hy = fn(data, state, flat, True, num_layers, 0.0, False, bidirectional, False)
            cy = None
    else:
        mask = None
        if seqlen is not None:
            steps = torch.arange(data.shape[0], device=data.device)
            mask = (steps[:, None] < seqlen.to(steps.dtype)[None, :])[:, :, None]
        x, hs, cs = data, [], []
        for layer in range(num_layers):
            outs = []
            for k in range(d):
                idx = layer * d + k
                y, h, c = _direction(mode, x, state[idx], cell[idx] if lstm else None, ws[idx], mask,
                                     k == 1, clip)
                outs.append(y)
                hs.append(h)
                cs.append(c)
            x = outs[0] if d == 1 else torch.cat(outs, -1)
        out, hy = x, torch.stack(hs)
        cy = torch.stack(cs) if lstm else None
    if not state_outputs:
        return out
    return (out, hy, cy) if lstm else (out, hy)


def _opt_num(node: Node, key: str) -> float | None:
    v = node.attrs.get(key)
    return None if v is None or v == "None" else A.num(node, key)


@register("RNN")
def _rnn(node: Node) -> Lowered:
    mode = A.choice(node, "mode", tuple(GATES))
    state_size = A.req_int(node, "state_size")
    num_layers = A.req_int(node, "num_layers")
    if state_size < 1 or num_layers < 1:
        raise unsupported(node, f"state_size={state_size}, num_layers={num_layers}",
                          ["state_size >= 1 and num_layers >= 1"])
    proj = A.opt_int(node, "projection_size")
    if proj is not None:
        if mode != "lstm":
            raise unsupported(node, f"projection_size={proj} with mode={mode!r}", ["projection only for lstm"])
        if not 1 <= proj <= state_size:
            raise unsupported(node, f"projection_size={proj}", [f"1 <= projection_size <= state_size ({state_size})"])
    lo, hi = _opt_num(node, "lstm_state_clip_min"), _opt_num(node, "lstm_state_clip_max")
    clip = None
    if lo is not None or hi is not None:
        if mode != "lstm" or lo is None or hi is None or hi < lo:
            raise unsupported(node, f"lstm_state_clip_min={lo}, lstm_state_clip_max={hi} (mode={mode!r})",
                              ["both bounds, min <= max, mode='lstm'"])
        clip = (lo, hi, A.flag(node, "lstm_state_clip_nan"))
    p = A.num(node, "p", 0.0)
    if not 0.0 <= p <= 1.0:
        raise unsupported(node, f"p={p}", ["0 <= p <= 1"])
    state_outputs = A.flag(node, "state_outputs")
    n_out = (3 if mode == "lstm" else 2) if state_outputs else 1
    return Lowered(rnn, {"mode": mode, "state_size": state_size, "num_layers": num_layers,
                         "bidirectional": A.flag(node, "bidirectional"), "projection_size": proj,
                         "state_outputs": state_outputs, "has_cell": mode == "lstm",
                         "use_sequence_length": A.flag(node, "use_sequence_length"), "clip": clip},
                   num_outputs=n_out)


def rnn_param_concat(*args: Tensor, dim: int) -> Tensor:
    """Concatenation along ``dim`` (MXNet's shape inference for it differs from Concat; the values do not)."""
    return torch.cat(args, dim)


@register("_rnn_param_concat")
def _rnn_param_concat(node: Node) -> Lowered:
    n = A.req_int(node, "num_args")
    if n < 1 or n != len(node.inputs):
        raise unsupported(node, f"num_args={n} with {len(node.inputs)} inputs", ["num_args = number of inputs >= 1"])
    return Lowered(rnn_param_concat, {"dim": A.req_int(node, "dim", 1)})
