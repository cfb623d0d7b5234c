"""Make the per-op fixtures of mxtorch's region and deformable ops with real MXNet 1.9.1 (never run by tests).

Run by hand from the repository root in the oracle venv:

    /work/main/.oracle19/bin/python tools/make_region_fixtures.py [CASE ...]

Writes fixtures/mxtorch/regions/NAME{-symbol.json,-0000.params,.expected.npz,.json}: ROIPooling,
_contrib_ROIAlign, _contrib_PSROIPooling, _contrib_DeformableConvolution,
_contrib_ModulatedDeformableConvolution and _contrib_DeformablePSROIPooling over every attribute value
(pooled sizes, spatial scales, sample_ratio -1/1/2/3, aligned, position_sensitive, group sizes, deformable
groups, no_bias, no_trans, part sizes, samples per part), with odd map sizes, rois partly or wholly outside
the map, degenerate rois, halves (rounding ties) in roi corners, out-of-batch indices where MXNet defines
them, and offsets that push samples past every border. Values sit on a 1/16 grid (exact in float32).
Deterministic: a re-run rewrites every file identically.
"""

from __future__ import annotations

import json
import os
import sys

import mxnet as mx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "fixtures", "mxtorch", "regions")
MAX_FILE_BYTES = 96 * 1024
CASES: list[tuple[str, object]] = []


def case(name: str):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


def rand(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    x = np.random.RandomState(seed).randn(*shape) * scale
    return (np.round(x * 16) / 16).astype(np.float32)


def rois_mixed(n_batch: int, scale_img: float) -> np.ndarray:
    """Hand-picked rois in image coordinates for a 7x9 map at ``scale_img`` pixels per cell: inside,
    partly outside, wholly outside, degenerate (x2 < x1, zero size), corners on halves, both batches."""
    s = scale_img
    r = [
        [0, 0, 0, 8 * s, 6 * s],          # the whole map
        [0, 1.5 * s, 2.5 * s, 5.5 * s, 4.5 * s],  # halves (rounding ties)
        [1 % n_batch, -3 * s, -2 * s, 3 * s, 4 * s],  # partly outside (top-left)
        [0, 6 * s, 4 * s, 12 * s, 10 * s],  # partly outside (bottom-right)
        [1 % n_batch, 20 * s, 20 * s, 25 * s, 30 * s],  # wholly outside
        [0, 4 * s, 3 * s, 2 * s, 1 * s],  # degenerate: x2 < x1, y2 < y1
        [1 % n_batch, 3 * s, 3 * s, 3 * s, 3 * s],  # a point
        [0, 0.25 * s, 0.75 * s, 7.3 * s, 2.1 * s],  # fractional
        [1 % n_batch, 2.0625 * s, 1.9375 * s, 6.5 * s, 5.5 * s],
    ]
    return np.array(r, dtype=np.float32)


class Case:
    def __init__(self, sym, inputs, params=None, call="", notes="", seed=None):
        self.sym, self.inputs, self.params = sym, inputs, params or {}
        self.call, self.notes, self.seed = call, notes, seed


V = mx.sym.var

# ---- ROIPooling ------------------------------------------------------------------------------------------
for _ps, _sc in [((2, 2), 1.0), ((3, 2), 0.5), ((1, 1), 0.25), ((4, 5), 1.0), ((7, 7), 0.0625), ((2, 3), 0.3)]:
    def _mk(ps=_ps, sc=_sc):
        def build():
            data = rand(10 + ps[0] * 7 + ps[1], 2, 3, 7, 9)
            rois = rois_mixed(2, 1.0 / sc)
            extra = np.array([[-1, 0, 0, 4 / sc, 4 / sc], [2, 0, 0, 4 / sc, 4 / sc], [-0.5, 1 / sc, 1 / sc, 3 / sc, 5 / sc],
                              [1.75, 0, 0, 2 / sc, 2 / sc]], np.float32)
            rois = np.concatenate([rois, extra])
            sym = mx.sym.ROIPooling(V("data"), V("rois"), pooled_size=ps, spatial_scale=sc, name="pool")
            return Case(sym, {"data": data, "rois": rois},
                        call=f"mx.sym.ROIPooling(data, rois, pooled_size={ps}, spatial_scale={sc})",
                        notes="batch index -1 and 2 (outside the batch of 2) give 0; -0.5 and 1.75 truncate")
        return build
    case(f"roi_pooling_{_ps[0]}x{_ps[1]}_s{str(_sc).replace('.', 'p')}")(_mk())


@case("roi_pooling_negative_values")
def _():
    data = -np.abs(rand(3, 1, 2, 5, 6)) - 1  # all negative: the max must not be clipped at 0
    rois = np.array([[0, 0, 0, 5, 4], [0, 1, 1, 2, 2], [0, 3.5, 2.5, 4.5, 3.5]], np.float32)
    sym = mx.sym.ROIPooling(V("data"), V("rois"), pooled_size=(3, 3), spatial_scale=1.0, name="pool")
    return Case(sym, {"data": data, "rois": rois}, call="mx.sym.ROIPooling(data, rois, pooled_size=(3, 3), spatial_scale=1)")


# ---- ROIAlign ------------------------------------------------------------------------------------------------
for _ratio in (-1, 1, 2, 3):
    for _aligned in (False, True):
        for _ps, _sc in [((2, 2), 1.0), ((3, 4), 0.5)]:
            def _mk(ratio=_ratio, aligned=_aligned, ps=_ps, sc=_sc):
                def build():
                    data = rand(40 + ratio, 2, 3, 7, 9)
                    rois = rois_mixed(2, 1.0 / sc)
                    if aligned:  # MXNet refuses (CHECK) a roi of zero or negative size when aligned
                        rois = rois[[0, 1, 2, 3, 4, 7, 8]]
                    big = np.array([[0, -30 / sc, -20 / sc, 60 / sc, 50 / sc], [1, -2 / sc, -1 / sc, 40 / sc, 7 / sc]],
                                   np.float32)
                    rois = np.concatenate([rois, big])
                    sym = mx.sym.contrib.ROIAlign(V("data"), V("rois"), pooled_size=ps, spatial_scale=sc,
                                                  sample_ratio=ratio, aligned=aligned, name="align")
                    return Case(sym, {"data": data, "rois": rois},
                                call=f"mx.sym.contrib.ROIAlign(data, rois, pooled_size={ps}, spatial_scale={sc}, "
                                     f"sample_ratio={ratio}, aligned={aligned})",
                                notes="rois far larger than the map (adaptive grids of dozens of samples)")
                return build
            case(f"roi_align_r{str(_ratio).replace('-', 'm')}_{'al' if _aligned else 'na'}_{_ps[0]}x{_ps[1]}")(_mk())


@case("roi_align_position_sensitive")
def _():
    data = rand(50, 2, 2 * 2 * 3, 6, 7)
    rois = rois_mixed(2, 1.0)[[0, 1, 2, 3, 7, 8]]
    sym = mx.sym.contrib.ROIAlign(V("data"), V("rois"), pooled_size=(2, 3), spatial_scale=1.0, sample_ratio=2,
                                  position_sensitive=True, name="align")
    return Case(sym, {"data": data, "rois": rois}, call="mx.sym.contrib.ROIAlign(data, rois, pooled_size=(2, 3), "
                "spatial_scale=1, sample_ratio=2, position_sensitive=True)")


@case("roi_align_position_sensitive_adaptive_aligned")
def _():
    data = rand(51, 1, 3 * 3 * 2, 7, 8)
    rois = rois_mixed(1, 2.0)[[0, 1, 2, 3, 7, 8]]
    sym = mx.sym.contrib.ROIAlign(V("data"), V("rois"), pooled_size=(3, 3), spatial_scale=0.5, sample_ratio=-1,
                                  position_sensitive=True, aligned=True, name="align")
    return Case(sym, {"data": data, "rois": rois}, call="mx.sym.contrib.ROIAlign(data, rois, pooled_size=(3, 3), "
                "spatial_scale=0.5, sample_ratio=-1, position_sensitive=True, aligned=True)")


# ---- PSROIPooling ----------------------------------------------------------------------------------------------
for _od, _p, _g, _sc in [(2, 3, 0, 1.0), (2, 3, 2, 0.5), (1, 2, 2, 0.25), (3, 4, 3, 1.0)]:
    def _mk(od=_od, p=_p, g=_g, sc=_sc):
        def build():
            gs = g or p
            data = rand(60 + p + g, 2, od * gs * gs, 7, 9)
            rois = np.concatenate([rois_mixed(2, 1.0 / sc),
                                   np.array([[1, 0.5 / sc, 1.5 / sc, 2.5 / sc, 3.5 / sc]], np.float32)])
            sym = mx.sym.contrib.PSROIPooling(V("data"), V("rois"), spatial_scale=sc, output_dim=od, pooled_size=p,
                                              group_size=g, name="ps")
            return Case(sym, {"data": data, "rois": rois},
                        call=f"mx.sym.contrib.PSROIPooling(data, rois, spatial_scale={sc}, output_dim={od}, "
                             f"pooled_size={p}, group_size={g})",
                        notes="no batch index outside the batch: MXNet reads past its input there")
        return build
    case(f"psroi_pooling_d{_od}_p{_p}_g{_g}")(_mk())


# ---- deformable convolution --------------------------------------------------------------------------------
def _out(n, k, s, p, d):
    return (n + 2 * p - (d * (k - 1) + 1)) // s + 1


DCN = [  # (kernel, stride, pad, dilate, num_group, num_deformable_group, no_bias)
    ((3, 3), (1, 1), (1, 1), (1, 1), 1, 1, False),
    ((3, 3), (2, 2), (1, 1), (1, 1), 2, 2, True),
    ((2, 3), (1, 2), (0, 1), (2, 1), 1, 2, False),
    ((3, 3), (1, 1), (2, 2), (2, 2), 4, 1, False),
    ((1, 1), (1, 1), (0, 0), (1, 1), 1, 4, True),
]
for _i, (_k, _s, _p, _d, _g, _dg, _nb) in enumerate(DCN):
    for _v2 in (False, True):
        def _mk(i=_i, k=_k, s=_s, p=_p, d=_d, g=_g, dg=_dg, nb=_nb, v2=_v2):
            def build():
                n, c, h, w, f = 2, 4, 7, 9, 8
                ho, wo = _out(h, k[0], s[0], p[0], d[0]), _out(w, k[1], s[1], p[1], d[1])
                kk = k[0] * k[1]
                seed = 70 + 10 * i + v2
                inputs = {"data": rand(seed, n, c, h, w), "offset": rand(seed + 1, n, 2 * dg * kk, ho, wo, scale=2.5)}
                if v2:
                    m = 1 / (1 + np.exp(-np.random.RandomState(seed + 2).randn(n, dg * kk, ho, wo)))
                    inputs["mask"] = (np.round(m * 16) / 16).astype(np.float32)
                params = {"dc_weight": rand(seed + 3, f, c // g, *k, scale=0.5)}
                if not nb:
                    params["dc_bias"] = rand(seed + 4, f)
                op = mx.sym.contrib.ModulatedDeformableConvolution if v2 else mx.sym.contrib.DeformableConvolution
                ins = [V("data"), V("offset")] + ([V("mask")] if v2 else [])
                sym = op(*ins, kernel=k, stride=s, pad=p, dilate=d, num_filter=f, num_group=g,
                         num_deformable_group=dg, no_bias=nb, name="dc")
                return Case(sym, inputs, params,
                            call=f"mx.sym.contrib.{op.__name__}(data, offset{', mask' if v2 else ''}, kernel={k}, "
                                 f"stride={s}, pad={p}, dilate={d}, num_filter={f}, num_group={g}, "
                                 f"num_deformable_group={dg}, no_bias={nb})",
                            notes="offsets N(0, 2.5) on a 1/16 grid: samples past every border, some exactly on it",
                            seed=seed)
            return build
        case(f"{'mdcn' if _v2 else 'dcn'}_{_i}")(_mk())


# ---- DeformablePSROIPooling ----------------------------------------------------------------------------------
DPS = [  # (output_dim, group_size, pooled_size, part_size, sample_per_part, trans_std, no_trans, classes, scale)
    (2, 3, 3, 0, 1, 0.0, True, 1, 1.0),
    (4, 3, 3, 0, 2, 0.1, False, 2, 0.5),
    (2, 2, 4, 2, 4, 0.2, False, 1, 1.0),
    (3, 3, 3, 3, 3, 0.5, False, 3, 0.25),
]
for _i, (_od, _gs, _p, _part, _spp, _ts, _nt, _cls, _sc) in enumerate(DPS):
    def _mk(i=_i, od=_od, gs=_gs, p=_p, part=_part, spp=_spp, ts=_ts, nt=_nt, cls=_cls, sc=_sc):
        def build():
            seed = 120 + i
            data = rand(seed, 2, od * gs * gs, 7, 9)
            rois = rois_mixed(2, 1.0 / sc)
            inputs = {"data": data, "rois": rois}
            ins = [V("data"), V("rois")]
            if not nt:
                ps = part or p
                inputs["trans"] = rand(seed + 1, rois.shape[0], 2 * cls, ps, ps)
                ins.append(V("trans"))
            sym = mx.sym.contrib.DeformablePSROIPooling(*ins, spatial_scale=sc, output_dim=od, group_size=gs,
                                                        pooled_size=p, part_size=part, sample_per_part=spp,
                                                        trans_std=ts, no_trans=nt, name="dps")
            return Case(sym, inputs, call=f"mx.sym.contrib.DeformablePSROIPooling(data, rois{', trans' if not nt else ''}, "
                        f"spatial_scale={sc}, output_dim={od}, group_size={gs}, pooled_size={p}, part_size={part}, "
                        f"sample_per_part={spp}, trans_std={ts}, no_trans={nt})", seed=seed)
        return build
    case(f"dpsroi_pooling_{_i}")(_mk())


# ---- writing --------------------------------------------------------------------------------------------------
def run(name: str, c: Case) -> None:
    args = {k: mx.nd.array(v, dtype=v.dtype) for k, v in {**c.inputs, **c.params}.items()}
    missing = set(c.sym.list_arguments()) - set(args)
    assert not missing, (name, missing)
    exe = c.sym.bind(mx.cpu(), args=args, grad_req="null")
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    prefix = os.path.join(OUT_DIR, name)
    with open(prefix + "-symbol.json", "w") as f:
        f.write(c.sym.tojson())
    if c.params:
        mx.nd.save(prefix + "-0000.params", {"arg:" + k: mx.nd.array(v, dtype=v.dtype) for k, v in c.params.items()})
    exp = {f"in:{k}": v for k, v in c.inputs.items()}
    exp.update({f"out:{i}": o for i, o in enumerate(outs)})
    np.savez_compressed(prefix + ".expected.npz", **exp)
    prov = {"call": c.call, "notes": c.notes, "seed": c.seed, "mxnet": mx.__version__,
            "made_by": "tools/make_region_fixtures.py: Symbol.bind(mx.cpu(), grad_req='null').forward(is_train=False)",
            "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in c.inputs.items()},
            "outputs": c.sym.list_outputs(), "output_shapes": [[list(o.shape), str(o.dtype)] for o in outs]}
    with open(prefix + ".json", "w") as f:
        json.dump(prov, f, indent=1, sort_keys=True)
        f.write("\n")
    for ext in ("-symbol.json", "-0000.params", ".expected.npz", ".json"):
        if os.path.exists(prefix + ext):
            assert os.path.getsize(prefix + ext) <= MAX_FILE_BYTES, (name, ext)


def main() -> int:
    os.makedirs(OUT_DIR, exist_ok=True)
    only = set(sys.argv[1:])
    names = [n for n, _ in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    for name, build in CASES:
        if only and name not in only:
            continue
        run(name, build())
    print(f"{len(CASES) if not only else len(only)} cases written to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
