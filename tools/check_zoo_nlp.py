"""Full-size GluonNLP 0.10.0 networks through mxtorch, against MXNet 1.9.1 (run by hand, not by the tests):

    .oracle19/bin/python tools/check_zoo_nlp.py [--only NAME] [--repeat 5] [--threads 2]

For each of bert_12_768_12, roberta_12_768_12, distilbert_6_768_12 (encoders as users export them:
use_pooler=True, no decoder/classifier) and standard_lstm_lm_200 / awd_lstm_lm_1150 (dropout 0): build it
with MXNet (random weights, a small vocabulary: nothing can be downloaded), ``hybridize(); net(...);
export(prefix)`` to a temporary folder, run the exported symbol with MXNet, then load the same files with
mxtorch in a separate process (the project venv, which has no mxnet) and print every head's relative error
max|mxtorch - MXNet| / max|MXNet| and the forward time of both on the same threads (BERT-style: batch 1 and
8 at sequence length 128; the LMs: sequence 35, batch 8), median of ``--repeat`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT_PY = os.path.join(REPO, ".venv", "bin", "python")
MODELS = ("bert_12_768_12", "roberta_12_768_12", "distilbert_6_768_12", "standard_lstm_lm_200",
          "awd_lstm_lm_1150")


def _median(ts):
    ts = sorted(ts)
    return ts[len(ts) // 2]


# ---------------------------------------------------------------------------------------- mxtorch side
def torch_side(folder: str, repeat: int, threads: int) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    import mxtorch

    spec = json.load(open(os.path.join(folder, "spec.json")))
    t0 = time.perf_counter()
    model = mxtorch.load(os.path.join(folder, spec["name"]))
    load_s = time.perf_counter() - t0
    report = {"load_s": load_s, "runs": []}
    for run in spec["runs"]:
        data = np.load(os.path.join(folder, run["file"]))
        xs = [torch.from_numpy(data[f"in:{n}"]) for n in model.input_names]
        with torch.inference_mode():
            out = model(*xs)
            outs = out if isinstance(out, tuple) else (out,)
            errs = []
            for i, o in enumerate(outs):
                want = data[f"out:{i}"].astype(np.float64)
                got = o.numpy().astype(np.float64)
                scale = float(np.abs(want).max()) or 1.0
                errs.append(float(np.abs(got - want).max()) / scale if got.shape == want.shape else float("inf"))
            ts = []
            for _ in range(repeat):
                t = time.perf_counter()
                model(*xs)
                ts.append(time.perf_counter() - t)
        report["runs"].append({"errors": errs, "seconds": _median(ts)})
    print(json.dumps(report))


# ------------------------------------------------------------------------------------------ MXNet side
def _init(net, mx, np, warm):
    for n, p in net.collect_params().items():
        if n.endswith(("gamma", "beta", "mean", "var", "bias")):
            p.init = None
    net.initialize(mx.init.Normal(0.02))
    warm()
    rng = np.random.default_rng(0)
    for n, p in net.collect_params().items():
        if n.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.8, 1.2, p.shape).astype(np.float32)))
        elif n.endswith(("beta", "bias")):
            p.set_data(mx.nd.array(rng.normal(0, 0.02, p.shape).astype(np.float32)))


def mxnet_side(name: str, folder: str, repeat: int):
    import gluonnlp as nlp
    import mxnet as mx
    import numpy as np

    rng = np.random.default_rng(1)
    vocab = nlp.Vocab(nlp.data.count_tokens([f"w{i}" for i in range(996)]))
    V = len(vocab)
    if "lstm" in name:
        net, _ = nlp.model.get_model(name, dataset_name=None, vocab=vocab, pretrained=False, dropout=0.0,
                                     **({"drop_h": 0.0, "drop_i": 0.0, "drop_e": 0.0, "weight_drop": 0.0}
                                        if name.startswith("awd") else {}))
        shapes = [(35, 8)]

        def feed(t, b):
            st = net.begin_state(batch_size=b, func=mx.nd.zeros)
            flat = [x for s in st for x in (s if isinstance(s, (list, tuple)) else [s])]
            vals = [rng.integers(0, V, (t, b)).astype(np.float32)] + \
                   [rng.normal(0, 0.5, x.shape).astype(np.float32) for x in flat]
            nested, k = [], 0
            for s in st:
                n = len(s) if isinstance(s, (list, tuple)) else 1
                arrs = [mx.nd.array(v) for v in vals[1 + k:1 + k + n]]
                nested.append(arrs if isinstance(s, (list, tuple)) else arrs[0])
                k += n
            return vals, (mx.nd.array(vals[0]), nested)
    else:
        kw = dict(use_pooler=True, use_decoder=False, use_classifier=False) if name.startswith("bert") else \
            dict(use_decoder=False) if name.startswith("roberta") else {}
        net, _ = nlp.model.get_model(name, dataset_name=None, vocab=vocab, pretrained=False, dropout=0.0, **kw)
        shapes = [(1, 128), (8, 128)]

        def feed(b, t):
            tok = rng.integers(0, V, (b, t)).astype(np.float32)
            vl = np.full((b,), t, np.float32)
            vl[::2] = max(1, t - 37)
            vals = [tok, rng.integers(0, 2, (b, t)).astype(np.float32), vl] if name.startswith("bert") else [tok, vl]
            return vals, tuple(mx.nd.array(v) for v in vals)
    first_vals, first_args = feed(*shapes[0])
    _init(net, mx, np, lambda: net(*first_args))
    net.hybridize(static_alloc=True, static_shape=True)
    net(*first_args)
    prefix = os.path.join(folder, name)
    net.export(prefix)
    sym = mx.sym.load(prefix + "-symbol.json")
    saved = mx.nd.load(prefix + "-0000.params")
    params = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    data_names = [n for n in sym.list_inputs() if n not in params and n not in aux]
    spec = {"name": name, "runs": []}
    mx_times = []
    for k, shp in enumerate(shapes):
        vals, _ = feed(*shp)
        args = {**dict(zip(data_names, [mx.nd.array(v) for v in vals])), **params}
        exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
        outs = [o.asnumpy() for o in exe.forward(is_train=False)]
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            for o in exe.forward(is_train=False):
                o.wait_to_read()
            ts.append(time.perf_counter() - t)
        mx_times.append(_median(ts))
        f = f"run{k}.npz"
        np.savez(os.path.join(folder, f), **{f"in:{n}": v for n, v in zip(data_names, vals)},
                 **{f"out:{i}": o for i, o in enumerate(outs)})
        spec["runs"].append({"file": f, "shape": list(shp)})
    json.dump(spec, open(os.path.join(folder, "spec.json"), "w"))
    return spec, mx_times, sym.list_outputs()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch-side", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.torch_side:
        torch_side(a.torch_side, a.repeat, a.threads)
        return 0
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    # a shared, oversubscribed machine: spinning OpenMP workers cost both runtimes dearly; same setting for both
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")
    worst = 0.0
    for name in MODELS:
        if a.only not in name:
            continue
        folder = tempfile.mkdtemp(prefix="zoo_nlp_")
        try:
            spec, mx_times, out_names = mxnet_side(name, folder, a.repeat)
            env = {**os.environ, "OMP_NUM_THREADS": str(a.threads)}
            res = subprocess.run([PROJECT_PY, os.path.abspath(__file__), "--torch-side", folder,
                                  "--repeat", str(a.repeat), "--threads", str(a.threads)],
                                 capture_output=True, text=True, env=env)
            if res.returncode != 0:
                print(f"{name}: mxtorch FAILED: {res.stderr.strip().splitlines()[-1:]}")
                worst = float("inf")
                continue
            rep = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"{name}: outputs {out_names}; mxtorch load {rep['load_s']:.2f}s")
            for run, r, mt in zip(spec["runs"], rep["runs"], mx_times):
                worst = max(worst, *r["errors"])
                print(f"  shape {run['shape']}: rel err per head " + " ".join(f"{e:.1e}" for e in r["errors"])
                      + f"; forward MXNet {mt * 1e3:.1f} ms, mxtorch {r['seconds'] * 1e3:.1f} ms, "
                        f"ratio {r['seconds'] / mt:.2f}x")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"worst relative error {worst:.1e} ({'OK' if worst <= 1e-5 else 'ABOVE 1e-5'})")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
