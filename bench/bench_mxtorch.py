"""Benchmark of mxtorch against its floors (ratios from one run; not part of the test suite).

    PYTHONPATH=. python bench/bench_mxtorch.py                 # both measurements
    PYTHONPATH=. python bench/bench_mxtorch.py --only forward  # or --only load, --only export

1. forward: the dpn92 graph run by mxtorch vs the hand-written `dpn_torch.dpn92` holding the same
   (random, BN statistics non-trivial) weights; batch 2 x 3 x 224 x 224, float32, same thread count,
   inference mode, median of --runs timed runs after warm-up, alternating A, B, A, B.
2. load: `mxtorch.load` of a dpn131-size checkpoint (~303 MiB of float32) vs `ndparse.load(params,
   mmap=False)` of its params; each in its own process (alternating), timing the call itself and the
   process's peak RSS (VmHWM: ru_maxrss would carry over the parent's peak across fork + exec, which is
   this script holding a dpn131 model). Both processes import torch first, so the peak-memory ratio
   compares what the loads add; the plain numbers are printed too. Both then run one full garbage
   collection before the timed call (--no-gc-settle: not), so that the collection `import torch` leaves
   pending (~5,000 container allocations away: a scan of torch's ~170,000 objects, ~100 ms) is not
   charged to whichever load happens to allocate first; the ratio compares what the loads do.

3. export: the dpn92 graph to .pt2 (torch.export.export + save) and to .onnx (torch's ONNX exporter),
   each against exporting the hand-written `dpn_torch.dpn92` the same way in the same run (batch 1,
   dynamic batch dimension, without the artifact check), median of --export-runs alternating runs.

The full-size DPN symbols are built here as JSON (cypw's op and variable names, as in fixtures/dpn/ and
tools/make_dpn_fixtures.py, scaled to the published configuration of docs/DPN.md); the weights come
from `dpn_torch.convert.mxnet_state_dict` of a random `dpn_torch` model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class _Graph:
    """A tiny writer of 1.9.1-style symbol JSON (cypw names: N__conv_weight, N__bn_gamma, ...)."""

    def __init__(self) -> None:
        self.nodes: list[dict] = []

    def _add(self, op: str, name: str, inputs: list[int], attrs: dict | None = None) -> int:
        self.nodes.append({"op": op, "name": name, "attrs": {k: str(v) for k, v in (attrs or {}).items()},
                           "inputs": [[i, 0, 0] for i in inputs]})
        return len(self.nodes) - 1

    def var(self, name: str) -> int:
        return self._add("null", name, [])

    def op(self, op: str, name: str, inputs: list[int], params: tuple[str, ...] = (), **attrs) -> int:
        ids = inputs + [self.var(f"{name}_{p}") for p in params]
        return self._add(op, name, ids, attrs)

    def json(self, head: int) -> str:
        arg_nodes = [i for i, n in enumerate(self.nodes) if n["op"] == "null"]
        return json.dumps({"nodes": self.nodes, "arg_nodes": arg_nodes, "heads": [[head, 0, 0]],
                           "attrs": {"mxnet_version": ["int", 10901]}})


def dpn_symbol_json(cfg) -> str:
    """The cypw DPN graph (non-b) with FullyConnected fc6 logits, for a dpn_torch DPNConfig."""
    g = _Graph()

    def bn(x, name):
        return g.op("BatchNorm", f"{name}__bn", [x], ("gamma", "beta", "moving_mean", "moving_var"),
                    eps=0.001, fix_gamma=False, momentum=0.9)

    def relu(x, name):
        return g.op("Activation", f"{name}__relu", [x], act_type="relu")

    def conv(x, name, nf, k, s=1, p=0, groups=1):
        return g.op("Convolution", f"{name}__conv", [x], ("weight",), kernel=(k, k), stride=(s, s),
                    pad=(p, p), num_filter=nf, num_group=groups, no_bias=True)

    def bn_ac_conv(x, name, nf, k, s=1, p=0, groups=1):
        return conv(relu(bn(x, f"{name}__bn"), f"{name}__ac"), name, nf, k, s, p, groups)

    def slice_(x, name, b, e):
        return g.op("slice_axis", name, [x], axis=1, begin=b, end=e)

    data = g.var("data")
    k = 3 if cfg.small else 7
    x = conv(data, "conv1_x_1", cfg.num_init_features, k, 2, k // 2)
    x = relu(bn(x, "conv1_x_1__relu-sp"), "conv1_x_1__relu-sp")
    x = g.op("Pooling", "pool1", [x], pool_type="max", kernel=(3, 3), pad=(1, 1), stride=(2, 2))
    state: list[int] | int = x
    for s, w in enumerate(cfg.stage_widths()):
        bw, inc, r = w["bw"], w["inc"], w["r"]
        for i in range(1, cfg.k_sec[s] + 1):
            name = f"conv{s + 2}_x__{i}"
            stride = 2 if (i == 1 and s > 0) else 1
            if isinstance(state, list):
                data_in = g.op("Concat", f"{name}_cat-input", state, num_args=2, dim=1)
            else:
                data_in = state
            if i == 1:
                wn = f"{name}_c1x1-w(s/{stride})"
                wv = bn_ac_conv(data_in, wn, bw + 2 * inc, 1, stride)
                res_in, dense_in = slice_(wv, wn + "-split1", 0, bw), slice_(wv, wn + "-split2", bw, bw + 2 * inc)
            else:
                res_in, dense_in = state
            a = bn_ac_conv(data_in, f"{name}_c1x1-a", r, 1)
            m = bn_ac_conv(a, f"{name}_c3x3-b", r, 3, stride, 1, cfg.groups)
            c = bn_ac_conv(m, f"{name}_c1x1-c", bw + inc, 1)
            y_res = slice_(c, f"{name}_c1x1-c-split1", 0, bw)
            y_dense = slice_(c, f"{name}_c1x1-c-split2", bw, bw + inc)
            state = [g.op("ElementWiseSum", f"{name}_sum", [res_in, y_res], num_args=2),
                     g.op("Concat", f"{name}_cat", [dense_in, y_dense], num_args=2, dim=1)]
    x = g.op("Concat", "conv5_x_x_cat-final", state, num_args=2, dim=1)
    x = relu(bn(x, "conv5_x_x__relu-sp"), "conv5_x_x__relu-sp")
    x = g.op("Pooling", "pool5", [x], pool_type="avg", kernel=(7, 7), stride=(1, 1))
    x = g.op("Flatten", "flatten", [x])
    x = g.op("FullyConnected", "fc6", [x], ("weight", "bias"), num_hidden=cfg.num_classes)
    return g.json(x)


def random_dpn(name: str):
    """A dpn_torch model with random weights and non-trivial BN statistics, and its MXNet arrays."""
    import torch

    import dpn_torch
    from dpn_torch.convert import mxnet_state_dict

    torch.manual_seed(0)
    model = getattr(dpn_torch, name)().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    arrays = mxnet_state_dict(model)
    arg = {k[4:]: v for k, v in arrays.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in arrays.items() if k.startswith("aux:")}
    return model, arg, aux


def bench_forward(runs: int) -> dict:
    import torch

    import mxtorch

    ref, arg, aux = random_dpn("dpn92")
    model = mxtorch.from_symbol(dpn_symbol_json(ref.config), arg, aux)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        a, b = model(x), ref(x)
        err = float((a - b).abs().max() / b.abs().max())
        times: dict[str, list[float]] = {"mxtorch": [], "dpn_torch": []}
        for _ in range(2):  # warm-up
            model(x), ref(x)
        for _ in range(runs):
            for key, fn in (("mxtorch", model), ("dpn_torch", ref)):
                t = time.perf_counter()
                fn(x)
                times[key].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"threads": torch.get_num_threads(), "max_rel_diff": err, "mxtorch_s": med["mxtorch"],
            "dpn_torch_s": med["dpn_torch"], "ratio": med["mxtorch"] / med["dpn_torch"]}


_CHILD = textwrap.dedent("""
    import gc, json, sys, time
    import torch
    sys.path.insert(0, {root!r})
    import ndparse, mxtorch
    def rss(key="VmRSS:"):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    before = rss()
    if {settle}:
        gc.collect()
    t = time.perf_counter()
    obj = {call}
    dt = time.perf_counter() - t
    peak = rss("VmHWM:")
    print(json.dumps({{"s": dt, "peak_mib": peak, "before_mib": before}}))
""")


def bench_load(runs: int, workdir: Path, settle: bool = True) -> dict:
    import ndparse

    _, arg, aux = random_dpn("dpn131")
    import dpn_torch

    cfg = dpn_torch.dpn131().config
    prefix = workdir / "dpn131"
    (workdir / "dpn131-symbol.json").write_text(dpn_symbol_json(cfg))
    ndparse.save(workdir / "dpn131-0000.params", {**{f"arg:{k}": v for k, v in arg.items()},
                                                  **{f"aux:{k}": v for k, v in aux.items()}})
    size = (workdir / "dpn131-0000.params").stat().st_size
    del arg, aux
    calls = {"mxtorch.load": f"mxtorch.load({str(prefix)!r})",
             "ndparse.load": f"ndparse.load({str(prefix) + '-0000.params'!r}, mmap=False)"}
    res: dict[str, list[dict]] = {k: [] for k in calls}
    for i in range(runs + 1):
        for key, call in calls.items():
            out = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT), call=call, settle=settle)],
                                 capture_output=True, text=True, check=True)
            if i:  # the first round warms the page cache
                res[key].append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("s", "peak_mib", "before_mib")}
           for k, v in res.items()}
    a, b = med["mxtorch.load"], med["ndparse.load"]
    return {"params_mib": size / 2**20, "mxtorch": a, "ndparse": b, "time_ratio": a["s"] / b["s"],
            "peak_ratio": a["peak_mib"] / b["peak_mib"],
            "added_ratio": (a["peak_mib"] - a["before_mib"]) / (b["peak_mib"] - b["before_mib"])}


def bench_export(runs: int, workdir: Path) -> dict:
    import torch

    import mxtorch
    from mxtorch.export import export

    ref, arg, aux = random_dpn("dpn92")
    graph = mxtorch.from_symbol(dpn_symbol_json(ref.config), arg, aux)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    times: dict[str, list[float]] = {f"{who}.{fmt}": [] for who in ("mxtorch", "dpn_torch") for fmt in ("pt2", "onnx")}
    for _ in range(runs):
        for fmt in ("pt2", "onnx"):
            for who, model, names in (("mxtorch", graph, graph.output_names), ("dpn_torch", ref, ("logits",))):
                out = workdir / f"{who}.{fmt}"
                t = time.perf_counter()
                export(model, out, (x,), input_names=("data",), output_names=names, dynamic_batch=True,
                       verify=False)
                times[f"{who}.{fmt}"].append(time.perf_counter() - t)
                out.unlink()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"median_s": med, "pt2_ratio": med["mxtorch.pt2"] / med["dpn_torch.pt2"],
            "onnx_ratio": med["mxtorch.onnx"] / med["dpn_torch.onnx"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("forward", "load", "export"))
    ap.add_argument("--export-runs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-gc-settle", dest="settle", action="store_false",
                    help="load: no gc.collect() before the timed call (see the module docstring)")
    args = ap.parse_args(argv)
    if args.only in (None, "forward"):
        r = bench_forward(args.runs)
        print(f"forward dpn92 batch 2x3x224x224, {r['threads']} threads: mxtorch {r['mxtorch_s'] * 1e3:.0f} ms, "
              f"dpn_torch {r['dpn_torch_s'] * 1e3:.0f} ms, ratio {r['ratio']:.2f}x (goal <= 1.15x); "
              f"outputs differ by {r['max_rel_diff']:.1e} relative")
    if args.only in (None, "load"):
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
            r = bench_load(args.runs, Path(d), args.settle)
        a, b = r["mxtorch"], r["ndparse"]
        print(f"load dpn131 ({r['params_mib']:.0f} MiB): mxtorch.load {a['s'] * 1e3:.0f} ms, ndparse.load "
              f"{b['s'] * 1e3:.0f} ms, ratio {r['time_ratio']:.2f}x (goal <= 1.5x); peak RSS "
              f"{a['peak_mib']:.0f} vs {b['peak_mib']:.0f} MiB = {r['peak_ratio']:.2f}x (goal <= 1.2x); "
              f"added by the load {a['peak_mib'] - a['before_mib']:.0f} vs "
              f"{b['peak_mib'] - b['before_mib']:.0f} MiB = {r['added_ratio']:.2f}x")
    if args.only in (None, "export"):
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
            r = bench_export(args.export_runs, Path(d))
        m = r["median_s"]
        print(f"export dpn92 graph (batch 1, dynamic batch): .pt2 {m['mxtorch.pt2']:.1f} s vs dpn_torch "
              f"{m['dpn_torch.pt2']:.1f} s = {r['pt2_ratio']:.2f}x; .onnx {m['mxtorch.onnx']:.1f} s vs "
              f"dpn_torch {m['dpn_torch.onnx']:.1f} s = {r['onnx_ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
