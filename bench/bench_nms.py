"""Speed of mxtorch's non-maximum suppression against MXNet 1.9.1's on the same inputs (issue 18).

    python bench/bench_nms.py                      # every case, 3 rounds
    python bench/bench_nms.py --sizes 100,6000 --rounds 1
    python bench/bench_nms.py --proposal-only

Cases: ``_contrib_box_nms`` on (1, N, 6) rows [id, score, x1, y1, x2, y2] for N in --sizes, each with
and without ``topk`` (400, as SSD heads use), in three settings: one class (``id_index=-1``, RPN-like,
overlap 0.7), 20 classes suppressed per class (``force_suppress=False``, SSD-like, overlap 0.45) and the
same classes with ``force_suppress=True``; plus ``_contrib_Proposal`` / ``_contrib_MultiProposal`` as
Faster R-CNN runs them (38x63 feature map, 9 anchors: 21546 boxes, 6000 before NMS, 300 after) and
``_contrib_MultiBoxDetection`` with SSD-300's 8732 anchors and 21 classes. Boxes are drawn (seeded) around
a few objects plus clutter, so NMS both keeps and removes many.

Each side runs in a process of its own (MXNet in the oracle venv: --mxnet-python, env MXNET_PYTHON, or
.oracle19/bin/python in the checkout), alternating (MXNet, mxtorch, MXNet, ...) for --rounds rounds, with
--threads threads (OMP_NUM_THREADS, torch.set_num_threads; MXNET_CPU_WORKER_NTHREADS=1;
OMP_WAIT_POLICY=PASSIVE). A child warms up once per case and then times calls until --runs calls or
--budget seconds; it reports the median CPU time (user + system of the whole process, all threads) and
wall time per call. The table shows the median over rounds and ratios mxtorch / MXNet (below 1: mxtorch
is faster). mxtorch's outputs are compared with MXNet's (ids/indices identical, max |difference| of the
values). Without MXNet the MXNet columns say so and only mxtorch is timed. Children run outside the
checkout, so ``PYTHONPATH=<an older tree>`` times that tree's mxtorch (a before/after comparison). Not part
of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_DEFAULT_MX = ROOT / ".oracle19" / "bin" / "python"

# ---- cases -----------------------------------------------------------------------------------------------------
SETTINGS = {
    # name: (classes, box_nms keyword arguments)
    "1cls": (1, {"overlap_thresh": 0.7, "valid_thresh": 0.0, "coord_start": 2, "score_index": 1,
                 "id_index": -1, "force_suppress": False}),
    "20cls": (20, {"overlap_thresh": 0.45, "valid_thresh": 0.01, "coord_start": 2, "score_index": 1,
                   "id_index": 0, "force_suppress": False}),
    "20cls-force": (20, {"overlap_thresh": 0.45, "valid_thresh": 0.01, "coord_start": 2, "score_index": 1,
                         "id_index": 0, "force_suppress": True}),
}
PROPOSAL = {"feature_stride": 16, "scales": (8.0, 16.0, 32.0), "ratios": (0.5, 1.0, 2.0),
            "rpn_pre_nms_top_n": 6000, "rpn_post_nms_top_n": 300, "threshold": 0.7, "rpn_min_size": 16}


def make_cases(sizes: list[int], topks: list[int], proposal: bool, box_nms: bool) -> list[dict]:
    cases = []
    if box_nms:
        for n in sizes:
            for setting in SETTINGS:
                for topk in topks:
                    cases.append({"op": "box_nms", "n": n, "setting": setting, "topk": topk,
                                  "name": f"box_nms N={n} {setting} topk={topk}"})
    if proposal:
        cases.append({"op": "Proposal", "name": "Proposal 1x(18,38,63) pre 6000 post 300"})
        cases.append({"op": "MultiProposal", "batch": 2, "name": "MultiProposal 2x(18,38,63) pre 6000 post 300"})
        cases.append({"op": "MultiBoxDetection", "name": "MultiBoxDetection 8732 anchors 21 classes"})
    return cases


def make_inputs(case: dict, folder: Path) -> list[str]:
    """The case's inputs as .npy files (seeded), shared by both sides."""
    import numpy as np

    rng = np.random.default_rng([len(case["name"]), *case["name"].encode()])
    paths = []
    if case["op"] == "box_nms":
        n = case["n"]
        ncls = SETTINGS[case["setting"]][0]
        nobj = max(2, n // 200)
        obj_c = rng.uniform(40, 472, (nobj, 2))
        obj_s = rng.uniform(20, 120, (nobj, 2))
        which = rng.integers(0, nobj, n)
        near = rng.uniform(size=n) < 0.7
        c = np.where(near[:, None], obj_c[which] + rng.normal(0, 8, (n, 2)), rng.uniform(0, 512, (n, 2)))
        s = np.where(near[:, None], obj_s[which] * rng.uniform(0.8, 1.25, (n, 2)), rng.uniform(8, 160, (n, 2)))
        boxes = np.concatenate([c - s / 2, c + s / 2], 1)
        cls = np.where(near, which % ncls, rng.integers(0, ncls, n)).astype(np.float64)
        score = rng.uniform(0, 1, n) ** 2
        arrs = [np.concatenate([cls[:, None], score[:, None], boxes], 1)[None].astype(np.float32)]
    elif case["op"] in ("Proposal", "MultiProposal"):
        b = case.get("batch", 1)
        na, h, w = 9, 38, 63
        cls = rng.uniform(0, 1, (b, 2 * na, h, w)).astype(np.float32)
        bbox = rng.normal(0, 0.2, (b, 4 * na, h, w)).astype(np.float32)
        info = np.tile(np.array([[600.0, 1000.0, 1.6]], np.float32), (b, 1))
        arrs = [cls, bbox, info]
    else:  # MultiBoxDetection, SSD-300's anchor count
        na, ncls = 8732, 21
        logits = rng.normal(0, 2, (1, ncls, na))
        e = np.exp(logits - logits.max(1, keepdims=True))
        prob = (e / e.sum(1, keepdims=True)).astype(np.float32)
        loc = rng.normal(0, 0.5, (1, na * 4)).astype(np.float32)
        ctr = rng.uniform(0, 1, (na, 2))
        sz = rng.uniform(0.05, 0.6, (na, 2))
        anchor = np.concatenate([ctr - sz / 2, ctr + sz / 2], 1)[None].astype(np.float32)
        arrs = [prob, loc, anchor]
    for k, a in enumerate(arrs):
        p = folder / f"{abs(hash(case['name']))}.{k}.npy"
        np.save(p, a)
        paths.append(str(p))
    return paths


# ---- children ----------------------------------------------------------------------------------------------------
_TIMER = r"""
import json, os, statistics, sys, time
import numpy as np

def timed(call, runs, budget):
    call()  # warm-up
    cpu, wall = [], []
    start = time.perf_counter()
    while len(cpu) < runs and (len(cpu) < 2 or time.perf_counter() - start < budget):
        c0, w0 = time.process_time(), time.perf_counter()
        out = call()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu) * 1e3, statistics.median(wall) * 1e3, out
"""

_MX_CHILD = _TIMER + r"""
import mxnet as mx
req = json.loads(sys.argv[1])
res = []
for case in req["cases"]:
    arrs = [mx.nd.array(np.load(p), dtype="float32") for p in case["inputs"]]
    op, kw = case["op"], case["kwargs"]
    if op == "box_nms":
        fn = lambda: mx.nd.contrib.box_nms(arrs[0], **kw).asnumpy()
    elif op == "Proposal":
        fn = lambda: mx.nd.contrib.Proposal(*arrs, **kw).asnumpy()
    elif op == "MultiProposal":
        fn = lambda: mx.nd.contrib.MultiProposal(*arrs, **kw).asnumpy()
    else:
        fn = lambda: mx.nd.contrib.MultiBoxDetection(*arrs, **kw).asnumpy()
    cpu, wall, out = timed(fn, req["runs"], req["budget"])
    if case.get("save"):
        np.save(case["save"], out)
    res.append({"cpu": cpu, "wall": wall})
print(json.dumps(res))
"""

_TORCH_CHILD = _TIMER + r"""
import torch
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
from mxtorch.ops import boxes, proposal
req = json.loads(sys.argv[1])
res = []
with torch.inference_mode():
    for case in req["cases"]:
        arrs = [torch.from_numpy(np.load(p)) for p in case["inputs"]]
        op, kw = case["op"], dict(case["kwargs"])
        if op == "box_nms":
            kw.setdefault("background_id", -1)
            kw["in_center"] = kw["out_center"] = False
            fn = lambda: boxes.box_nms(arrs[0], **kw).numpy()
        elif op in ("Proposal", "MultiProposal"):
            anchors = tuple(tuple(float(v) for v in r)
                            for r in proposal.base_anchors(kw["feature_stride"], kw["scales"], kw["ratios"]))
            pk = {"anchors": anchors, "stride": kw["feature_stride"], "pre_nms": kw["rpn_pre_nms_top_n"],
                  "post_nms": kw["rpn_post_nms_top_n"], "threshold": kw["threshold"],
                  "min_size": float(kw["rpn_min_size"]), "iou_loss": False, "output_score": False}
            f = proposal.proposal if op == "Proposal" else proposal.multi_proposal
            fn = lambda: f(*arrs, **pk).numpy()
        else:
            mk = {"clip": True, "threshold": 0.01, "nms_threshold": 0.45, "force_suppress": False,
                  "variances": (0.1, 0.1, 0.2, 0.2), "nms_topk": 400}
            fn = lambda: proposal.multibox_detection(*arrs, **mk).numpy()
        cpu, wall, out = timed(fn, req["runs"], req["budget"])
        if case.get("save"):
            np.save(case["save"], out)
        res.append({"cpu": cpu, "wall": wall})
print(json.dumps(res))
"""


def _kwargs(case: dict) -> dict:
    import numpy as np

    f32 = lambda v: float(np.float32(v))  # noqa: E731 - both sides get the float32 MXNet stores
    if case["op"] == "box_nms":
        kw = dict(SETTINGS[case["setting"]][1])
        kw["topk"] = case["topk"]
        kw["overlap_thresh"], kw["valid_thresh"] = f32(kw["overlap_thresh"]), f32(kw["valid_thresh"])
        return kw
    if case["op"] in ("Proposal", "MultiProposal"):
        kw = dict(PROPOSAL)
        kw["threshold"] = f32(kw["threshold"])
        return kw
    return {"clip": True, "threshold": 0.01, "nms_threshold": 0.45, "force_suppress": False,
            "variances": (0.1, 0.1, 0.2, 0.2), "nms_topk": 400}


def _env(threads: int) -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    env["MXNET_CPU_WORKER_NTHREADS"] = "1"
    env["MXNET_ENGINE_TYPE"] = env.get("MXNET_ENGINE_TYPE", "ThreadedEnginePerDevice")
    return env


def _run(python: str, code: str, req: dict, env: dict, cwd: Path) -> list[dict]:
    # run outside the checkout: the installed mxtorch (or one on PYTHONPATH, e.g. an older tree) is timed
    out = subprocess.run([python, "-c", code, json.dumps(req)], capture_output=True, text=True, env=env,
                         cwd=str(cwd))
    if out.returncode != 0:
        raise RuntimeError(f"child {python} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(op: str, ours, theirs) -> str:
    """Exactness: ids/indices identical and max |difference| of the other values, as text."""
    import numpy as np

    if ours.shape != theirs.shape:
        return f"shape {ours.shape} vs {theirs.shape}"
    if op == "box_nms":
        same_ids = np.array_equal(ours[..., :2] == -1, theirs[..., :2] == -1) and np.array_equal(
            ours[..., 0], theirs[..., 0])
    elif op in ("Proposal", "MultiProposal"):
        same_ids = np.array_equal(ours[..., 0], theirs[..., 0])
    else:
        same_ids = np.array_equal(ours[..., 0], theirs[..., 0])
    diff = float(np.max(np.abs(ours.astype(np.float64) - theirs))) if ours.size else 0.0
    return f"{'ids same' if same_ids else 'IDS DIFFER'}, max|d| {diff:.3g}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,1000,6000,20000")
    ap.add_argument("--topks", default="-1,400")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=7, help="timed calls per case and child (at most)")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per case and child before it stops early")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mxnet-python", default=os.environ.get("MXNET_PYTHON", str(_DEFAULT_MX)))
    ap.add_argument("--proposal-only", action="store_true")
    ap.add_argument("--no-proposal", action="store_true")
    ap.add_argument("--out", help="also write the table (markdown) to this file")
    args = ap.parse_args(argv)

    have_mx = Path(args.mxnet_python).exists()
    cases = make_cases([int(s) for s in args.sizes.split(",")], [int(t) for t in args.topks.split(",")],
                       not args.no_proposal, not args.proposal_only)
    env = _env(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for c in cases:
            c["inputs"] = make_inputs(c, folder)
            c["kwargs"] = _kwargs(c)
        times: dict[str, list[list[dict]]] = {"mx": [], "pt": []}
        for r in range(args.rounds):
            for side in (("mx", "pt") if r % 2 == 0 else ("pt", "mx")):
                if side == "mx" and not have_mx:
                    continue
                req_cases = [dict(c, save=str(folder / f"{side}{i}.npy") if r == 0 else None)
                             for i, c in enumerate(cases)]
                req = {"cases": req_cases, "runs": args.runs, "budget": args.budget}
                python = args.mxnet_python if side == "mx" else sys.executable
                times[side].append(_run(python, _MX_CHILD if side == "mx" else _TORCH_CHILD, req, env, folder))
                print(f"round {r + 1}/{args.rounds}: {side} done", file=sys.stderr)
        import numpy as np

        med = lambda side, i, key: statistics.median(t[i][key] for t in times[side])  # noqa: E731
        head = ("| case | MXNet CPU ms | mxtorch CPU ms | CPU ratio | MXNet wall ms | mxtorch wall ms | wall ratio "
                "| exactness |")
        lines = [f"threads {args.threads}, medians over {args.rounds} round(s); ratio = mxtorch / MXNet "
                 f"(below 1: mxtorch faster)" + ("" if have_mx else f"; MXNet not installed ({args.mxnet_python})"),
                 "", head, "|" + "---|" * 8]
        for i, c in enumerate(cases):
            pc, pw = med("pt", i, "cpu"), med("pt", i, "wall")
            if have_mx:
                mc, mw = med("mx", i, "cpu"), med("mx", i, "wall")
                ex = compare(c["op"], np.load(folder / f"pt{i}.npy"), np.load(folder / f"mx{i}.npy"))
                lines.append(f"| {c['name']} | {mc:.2f} | {pc:.2f} | {pc / mc:.2f} | {mw:.2f} | {pw:.2f} "
                             f"| {pw / mw:.2f} | {ex} |")
            else:
                lines.append(f"| {c['name']} | n/a | {pc:.2f} | n/a | n/a | {pw:.2f} | n/a | MXNet not installed |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
