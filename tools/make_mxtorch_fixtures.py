"""Make the mxtorch nn-op and whole-network fixtures with real MXNet 1.9.1 (never run by tests or CI).

Run by hand, from the repository root, in the oracle venv (mxnet 1.9.1, numpy < 1.24):

    .oracle19/bin/python tools/make_mxtorch_fixtures.py            # every case
    .oracle19/bin/python tools/make_mxtorch_fixtures.py -k pool    # cases whose name contains "pool"

Per case NAME it writes, under fixtures/mxtorch/nn/ (one op and its attribute values) or
fixtures/mxtorch/net/ (small whole networks with random weights and non-trivial BatchNorm statistics):

* NAME-symbol.json, NAME-0000.params: `mx.model.save_checkpoint` (`arg:`/`aux:` keys; the params file is
  empty when the graph has none). The 0.8-era network's symbol is a hand-written pre-0.9 JSON instead,
  which MXNet upgrades on load (its outputs are computed from that very file);
* NAME.expected.npz: `in:<input>` (the float32 inputs, seed-generated) and `out:<i>` (MXNet's outputs,
  `list_outputs()` order, from `simple_bind(grad_req='null')` + `forward(is_train=False)`);
* NAME.json: provenance (MXNet version, the call, seed, input shapes, notes).

Loss labels are bound to zeros (unused at inference). Inputs and weights come from a numpy generator
seeded per case (crc32 of the name), so a re-run rewrites identical files. A case with
``float64=True`` runs MXNet in float64 on the float32 values (for ops whose float32 CPU kernel differs
from MXNet's native semantics, e.g. Deconvolution with target_shape, SYMBOL.md §4.1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib

import mxnet as mx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "fixtures", "mxtorch")
MAX_FILE_BYTES = 1024 * 1024  # every fixture file stays well under 2 MiB

S = mx.sym
CASES: list = []


def case(kind, name, sym, shapes, *, notes="", float64=False, json_text=None, positive=False, native=False):
    CASES.append(dict(kind=kind, name=name, sym=sym, shapes=shapes, notes=notes, float64=float64,
                      json_text=json_text, positive=positive, native=native))


def nn(name, sym, shapes, **kw):
    case("nn", name, sym, shapes, **kw)


def net(name, sym, shapes, **kw):
    case("net", name, sym, shapes, **kw)


D = S.Variable("data")
X4 = {"data": (2, 3, 7, 9)}


# ---------------------------------------------------------------------------- nn op cases
def conv_cases():
    nn("conv2d", S.Convolution(D, kernel=(3, 3), num_filter=4, name="c"), X4)
    nn("conv2d_nobias_s2_p1", S.Convolution(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=5,
                                            no_bias=True, name="c"), X4)
    nn("conv2d_dilate_asym", S.Convolution(D, kernel=(3, 2), dilate=(2, 3), pad=(2, 1), stride=(1, 2),
                                           num_filter=4, name="c"), X4)
    nn("conv2d_groups", S.Convolution(D, kernel=(3, 3), num_group=2, num_filter=6, pad=(1, 1), name="c"),
       {"data": (2, 4, 7, 9)})
    nn("conv2d_depthwise", S.Convolution(D, kernel=(3, 3), num_group=6, num_filter=6, stride=(2, 2),
                                         pad=(1, 1), no_bias=True, name="c"), {"data": (2, 6, 9, 7)})
    nn("conv1d", S.Convolution(D, kernel=(5,), stride=(2,), pad=(2,), dilate=(1,), num_filter=4, name="c"),
       {"data": (2, 3, 17)})
    nn("conv3d", S.Convolution(D, kernel=(3, 3, 3), pad=(1, 0, 1), stride=(2, 1, 1), num_filter=3,
                               name="c"), {"data": (1, 2, 5, 6, 7)})
    nn("conv2d_v1", S.Convolution_v1(D, kernel=(3, 3), pad=(1, 1), num_filter=4, name="c"), X4)
    nn("deconv2d", S.Deconvolution(D, kernel=(3, 3), num_filter=4, name="d"), X4,
       notes="no_bias defaults to True")
    nn("deconv2d_bias_s2_adj", S.Deconvolution(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 0),
                                               num_filter=4, no_bias=False, name="d"), X4)
    nn("deconv2d_groups_dilate", S.Deconvolution(D, kernel=(3, 3), dilate=(2, 1), num_group=2,
                                                 num_filter=4, name="d"), {"data": (2, 4, 5, 6)})
    nn("deconv1d", S.Deconvolution(D, kernel=(4,), stride=(2,), pad=(1,), num_filter=3, name="d"),
       {"data": (2, 3, 9)})
    nn("deconv2d_target_shape", S.Deconvolution(D, kernel=(4, 4), stride=(2, 2), target_shape=(15, 18),
                                                num_filter=3, name="d"), X4, float64=True,
       notes="float32 oneDNN ignores target_shape; computed in float64 (native kernel)")
    nn("fc_flatten", S.FullyConnected(D, num_hidden=5, name="fc"), X4)
    nn("fc_noflatten", S.FullyConnected(D, num_hidden=5, flatten=False, name="fc"), {"data": (2, 3, 4)})
    nn("fc_nobias", S.FullyConnected(D, num_hidden=3, no_bias=True, name="fc"), {"data": (4, 6)})


def norm_cases():
    nn("bn_default", S.BatchNorm(D, name="bn"), X4, notes="fix_gamma=True: the stored gamma is ignored")
    nn("bn_nofix_eps", S.BatchNorm(D, fix_gamma=False, eps=1e-5, name="bn"), X4)
    nn("bn_global_stats", S.BatchNorm(D, fix_gamma=False, use_global_stats=True, name="bn"), X4)
    nn("bn_axis_last", S.BatchNorm(D, fix_gamma=False, axis=-1, name="bn"), {"data": (2, 5, 4)})
    nn("bn_2d_input", S.BatchNorm(D, fix_gamma=False, name="bn"), {"data": (3, 6)})
    nn("bn_output_mean_var", S.BatchNorm(D, fix_gamma=False, output_mean_var=True, name="bn"), X4)
    nn("bn_v1", S.BatchNorm_v1(D, fix_gamma=False, name="bn"), X4)
    nn("instancenorm", S.InstanceNorm(D, eps=1e-4, name="in"), X4)
    nn("layernorm", S.LayerNorm(D, name="ln"), {"data": (2, 3, 6)})
    nn("layernorm_axis1_meanvar", S.LayerNorm(D, axis=1, output_mean_var=True, name="ln"), X4)
    for mode in ("instance", "channel", "spatial"):
        nn(f"l2norm_{mode}", S.L2Normalization(D, mode=mode, name="l2"), X4)


def act_cases():
    for act in ("relu", "sigmoid", "tanh", "softrelu", "softsign"):
        nn(f"act_{act}", S.Activation(D, act_type=act, name="a"), X4)
    nn("leaky_default", S.LeakyReLU(D, name="a"), X4)
    nn("leaky_slope", S.LeakyReLU(D, act_type="leaky", slope=0.1, name="a"), X4)
    nn("prelu", S.LeakyReLU(D, act_type="prelu", name="a"), X4)
    nn("prelu_2d", S.LeakyReLU(D, act_type="prelu", name="a"), {"data": (4, 5)})
    nn("elu_default", S.LeakyReLU(D, act_type="elu", name="a"), X4, notes="alpha = slope = 0.25")
    nn("elu_slope1", S.LeakyReLU(D, act_type="elu", slope=1.0, name="a"), X4)
    nn("selu", S.LeakyReLU(D, act_type="selu", name="a"), X4)
    nn("gelu", S.LeakyReLU(D, act_type="gelu", name="a"), X4)
    nn("rrelu", S.LeakyReLU(D, act_type="rrelu", name="a")[0], X4)


def pool_cases():
    P = S.Pooling
    nn("pool_max_valid_p1", P(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), name="p"), X4)
    nn("pool_max_full_p1", P(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pooling_convention="full",
                             name="p"), X4)
    nn("pool_max_full_keeps_window", P(D, kernel=(2, 2), stride=(2, 2), pad=(1, 1),
                                       pooling_convention="full", name="p"), {"data": (1, 2, 5, 5)},
       notes="in=5 k=2 s=2 p=1: MXNet 4 outputs per axis, torch ceil_mode 3")
    nn("pool_avg_full_keeps_window", P(D, kernel=(2, 2), stride=(2, 2), pad=(1, 1), pool_type="avg",
                                       pooling_convention="full", name="p"), {"data": (1, 2, 5, 5)})
    nn("pool_avg_full_nopadcount", P(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                                     pooling_convention="full", count_include_pad=False, name="p"), X4)
    nn("pool_avg_full_p1", P(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                             pooling_convention="full", name="p"), X4)
    nn("pool_avg_valid_pad", P(D, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg", name="p"), X4)
    nn("pool_avg_valid_pad_nocount", P(D, kernel=(3, 2), stride=(2, 1), pad=(1, 1), pool_type="avg",
                                       count_include_pad=False, name="p"), X4)
    nn("pool_avg_bigpad", P(D, kernel=(3, 3), stride=(1, 2), pad=(2, 2), pool_type="avg", name="p"),
       {"data": (1, 2, 4, 5)}, notes="pad > kernel/2: torch refuses it natively")
    nn("pool_max_bigpad_full", P(D, kernel=(3, 3), stride=(3, 3), pad=(2, 2),
                                 pooling_convention="full", name="p"), {"data": (1, 2, 4, 5)},
       notes="windows wholly in padding give -3.4028235e38")
    nn("pool_default_stride", P(D, kernel=(2, 2), name="p"), X4, notes="stride defaults to 1")
    nn("pool_global_max", P(D, kernel=(3, 3), global_pool=True, name="p"), X4)
    nn("pool_global_avg", P(D, kernel=(1, 1), pad=(1, 1), global_pool=True, pool_type="avg", name="p"), X4)
    nn("pool_global_sum", P(D, global_pool=True, pool_type="sum", kernel=(1, 1), name="p"), X4)
    nn("pool_sum", P(D, kernel=(2, 3), stride=(2, 2), pad=(1, 1), pool_type="sum",
                     pooling_convention="full", name="p"), X4)
    for p in (1, 2, 3):
        nn(f"pool_lp{p}", P(D, kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=p, name="p"), X4,
           positive=(p == 2))
    nn("pool1d_max_full", P(D, kernel=(3,), stride=(2,), pad=(1,), pooling_convention="full", name="p"),
       {"data": (2, 3, 10)})
    nn("pool1d_avg", P(D, kernel=(3,), stride=(2,), pad=(1,), pool_type="avg", pooling_convention="full",
                       name="p"), {"data": (2, 3, 10)})
    nn("pool3d_avg_full", P(D, kernel=(2, 2, 2), stride=(2, 2, 2), pad=(1, 0, 1), pool_type="avg",
                            pooling_convention="full", name="p"), {"data": (1, 2, 5, 4, 5)})
    nn("pool3d_max", P(D, kernel=(3, 3, 3), stride=(2, 2, 2), pad=(1, 1, 1), name="p"),
       {"data": (1, 2, 5, 6, 7)})
    nn("pool_v1_max_pad", S.Pooling_v1(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), name="p"), X4,
       notes="Pooling_v1: max sees the zero padding")
    nn("pool_v1_avg_full", S.Pooling_v1(D, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                                        pooling_convention="full", name="p"), X4)


def softmax_cases():
    L = S.Variable("softmax_label")
    nn("softmaxoutput_2d", S.SoftmaxOutput(D, L, name="softmax"), {"data": (3, 7)})
    nn("softmaxoutput_4d_default", S.SoftmaxOutput(D, L, name="softmax"), X4,
       notes="4-D float32 CPU: the last axis (oneDNN)")
    nn("softmaxoutput_3d_default", S.SoftmaxOutput(D, L, name="softmax"), {"data": (2, 3, 5)},
       notes="3-D: all non-batch axes jointly")
    nn("softmaxoutput_multi_output", S.SoftmaxOutput(D, L, multi_output=True, name="softmax"), X4)
    nn("softmaxoutput_preserve_shape", S.SoftmaxOutput(D, L, preserve_shape=True, name="softmax"),
       {"data": (2, 3, 5)})
    nn("softmax_alias", S.Softmax(D, name="sm"), {"data": (3, 7)})
    nn("softmaxactivation_instance", S.SoftmaxActivation(D, name="sa"), X4)
    nn("softmaxactivation_channel", S.SoftmaxActivation(D, mode="channel", name="sa"), X4)
    nn("softmax_axis1", S.softmax(D, axis=1, name="s"), X4)
    nn("softmax_temperature", S.softmax(D, temperature=2.5, name="s"), X4)
    nn("log_softmax_axis0", S.log_softmax(D, axis=0, name="s"), X4)
    nn("softmin_neg_axis", S.softmin(D, axis=-2, name="s"), X4)
    lab = S.Variable("out_label")
    nn("logistic_output", S.LogisticRegressionOutput(D, lab, name="out"), {"data": (3, 4)})
    nn("linear_output", S.LinearRegressionOutput(D, lab, name="out"), {"data": (3, 4)})
    nn("mae_output", S.MAERegressionOutput(D, lab, name="out"), {"data": (3, 4)})
    nn("svm_output", S.SVMOutput(D, lab, name="out"), {"data": (3, 4)})
    nn("dropout_training_mode", S.Dropout(D, p=0.3, name="do"), X4)
    nn("identities", S.MakeLoss(S.make_loss(S.BlockGrad(S.identity(D, name="i"), name="b"), name="m"),
                                name="ml"), X4)


# ---------------------------------------------------------------------------- whole networks
def conv_bn(x, name, nf, k=3, s=1, p=1, act="relu", g=1):
    x = S.Convolution(x, kernel=(k, k), stride=(s, s), pad=(p, p), num_filter=nf, num_group=g, no_bias=True,
                      name=f"{name}_conv")
    x = S.BatchNorm(x, fix_gamma=False, eps=2e-5, name=f"{name}_bn")
    return S.Activation(x, act_type=act, name=f"{name}_relu") if act else x


def head(x, n=5):
    x = S.Pooling(x, global_pool=True, pool_type="avg", kernel=(7, 7), name="pool_final")
    x = S.FullyConnected(S.Flatten(x), num_hidden=n, name="fc")
    return S.SoftmaxOutput(x, name="softmax")


def resnet_v1():
    x = conv_bn(D, "stem", 8, k=7, s=2, p=3)
    x = S.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), name="pool0")
    for i, (nf, s) in enumerate([(8, 1), (16, 2)]):
        y = conv_bn(x, f"u{i}a", nf, s=s)
        y = conv_bn(y, f"u{i}b", nf, act=None)
        sc = x if s == 1 else conv_bn(x, f"u{i}sc", nf, k=1, s=s, p=0, act=None)
        x = S.Activation(y + sc, act_type="relu", name=f"u{i}_out")
    return head(x)


def resnet_v2():
    x = S.BatchNorm(D, fix_gamma=True, eps=2e-5, name="bn_data")
    x = S.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=8, no_bias=True, name="conv0")
    for i, (nf, s) in enumerate([(8, 1), (16, 2)]):
        bn = S.Activation(S.BatchNorm(x, fix_gamma=False, name=f"u{i}_bn1"), act_type="relu", name=f"u{i}_r1")
        y = S.Convolution(bn, kernel=(3, 3), stride=(s, s), pad=(1, 1), num_filter=nf, no_bias=True,
                          name=f"u{i}_conv1")
        y = S.Activation(S.BatchNorm(y, fix_gamma=False, name=f"u{i}_bn2"), act_type="relu", name=f"u{i}_r2")
        y = S.Convolution(y, kernel=(3, 3), pad=(1, 1), num_filter=nf, no_bias=True, name=f"u{i}_conv2")
        sc = x if s == 1 else S.Convolution(bn, kernel=(1, 1), stride=(s, s), num_filter=nf, no_bias=True,
                                            name=f"u{i}_sc")
        x = y + sc
    x = S.Activation(S.BatchNorm(x, fix_gamma=False, name="bn_final"), act_type="relu", name="relu_final")
    return head(x)


def mobilenet():
    x = conv_bn(D, "stem", 8, s=2, act=None)
    x = S.clip(x, 0, 6, name="stem_relu6")
    for i, (nf, s) in enumerate([(12, 1), (16, 2), (16, 1)]):
        c = 8 if i == 0 else [12, 16, 16][i - 1]
        x = S.clip(conv_bn(x, f"dw{i}", c, s=s, g=c, act=None), 0, 6, name=f"dw{i}_relu6")
        x = S.clip(conv_bn(x, f"pw{i}", nf, k=1, p=0, act=None), 0, 6, name=f"pw{i}_relu6")
    return head(x)


def densenet():
    x = conv_bn(D, "stem", 8, s=2)
    for b in range(2):
        for L in range(2):
            y = S.Activation(S.BatchNorm(x, fix_gamma=False, name=f"b{b}l{L}_bn"), act_type="relu",
                             name=f"b{b}l{L}_relu")
            y = S.Convolution(y, kernel=(3, 3), pad=(1, 1), num_filter=4, no_bias=True, name=f"b{b}l{L}_conv")
            x = S.Concat(x, y, dim=1, name=f"b{b}l{L}_concat")
        if b == 0:
            x = S.Convolution(x, kernel=(1, 1), num_filter=8, no_bias=True, name="trans_conv")
            x = S.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="avg", name="trans_pool")
    return head(x)


def inception():
    x = conv_bn(D, "stem", 8, s=2, p=0)
    b1 = conv_bn(x, "b1", 4, k=1, p=0)
    b2 = conv_bn(conv_bn(x, "b2a", 4, k=1, p=0), "b2b", 6)
    b3 = conv_bn(conv_bn(conv_bn(x, "b3a", 3, k=1, p=0), "b3b", 4), "b3c", 4)
    b4 = conv_bn(S.Pooling(x, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg", name="b4_pool"),
                 "b4", 4, k=1, p=0)
    x = S.Concat(b1, b2, b3, b4, dim=1, name="mixed")
    x = S.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", name="reduce_pool")
    return head(x)


def squeezenet():
    x = S.Activation(S.Convolution(D, kernel=(3, 3), stride=(2, 2), num_filter=8, name="conv1"),
                     act_type="relu", name="relu_conv1")
    x = S.Pooling(x, kernel=(3, 3), stride=(2, 2), pooling_convention="full", name="pool1")
    for i, (sq, ex) in enumerate([(4, 6), (4, 8)]):
        s = S.Activation(S.Convolution(x, kernel=(1, 1), num_filter=sq, name=f"fire{i}_squeeze1x1"),
                         act_type="relu", name=f"fire{i}_relu_s")
        e1 = S.Activation(S.Convolution(s, kernel=(1, 1), num_filter=ex, name=f"fire{i}_expand1x1"),
                          act_type="relu", name=f"fire{i}_relu_e1")
        e3 = S.Activation(S.Convolution(s, kernel=(3, 3), pad=(1, 1), num_filter=ex, name=f"fire{i}_expand3x3"),
                          act_type="relu", name=f"fire{i}_relu_e3")
        x = S.Concat(e1, e3, dim=1, name=f"fire{i}_concat")
    x = S.Dropout(x, p=0.5, name="drop9")
    x = S.Activation(S.Convolution(x, kernel=(1, 1), num_filter=5, name="conv10"), act_type="relu",
                     name="relu_conv10")
    x = S.Pooling(x, global_pool=True, pool_type="avg", kernel=(13, 13), name="pool10")
    return S.SoftmaxOutput(S.Flatten(x), name="softmax")


def vgg_bn():
    x = D
    for i, nf in enumerate([8, 12]):
        for j in range(2):
            x = conv_bn(x, f"conv{i}_{j}", nf)
        x = S.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", name=f"pool{i}")
    x = S.Flatten(x, name="flatten")
    x = S.Dropout(S.Activation(S.FullyConnected(x, num_hidden=16, name="fc6"), act_type="relu", name="relu6"),
                  p=0.5, name="drop6")
    x = S.FullyConnected(x, num_hidden=5, name="fc7")
    return S.SoftmaxOutput(x, name="softmax")


def detector():
    """MTCNN-like: PReLU trunk, a per-location class map (SoftmaxActivation channel) and box regression."""
    x = S.Convolution(D, kernel=(3, 3), num_filter=8, name="conv1")
    x = S.LeakyReLU(x, act_type="prelu", name="prelu1")
    x = S.Pooling(x, kernel=(2, 2), stride=(2, 2), pooling_convention="full", name="pool1")
    x = S.LeakyReLU(S.Convolution(x, kernel=(3, 3), num_filter=12, name="conv2"), act_type="prelu",
                    name="prelu2")
    cls = S.SoftmaxActivation(S.Convolution(x, kernel=(1, 1), num_filter=2, name="conv4_1"), mode="channel",
                              name="prob1")
    box = S.Convolution(x, kernel=(1, 1), num_filter=4, name="conv4_2")
    emb = S.L2Normalization(S.FullyConnected(x, num_hidden=6, name="fc_emb"), name="emb_norm")
    return S.Group([cls, box, emb])


NET08_JSON = {
    "nodes": [
        {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "conv1_weight", "inputs": [], "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "conv1_bias", "inputs": [], "backward_source_id": -1},
        {"op": "Convolution", "param": {"kernel": "(3, 3)", "num_filter": "6", "pad": "(1, 1)",
                                        "stride": "(1, 1)", "no_bias": "False", "num_group": "1",
                                        "dilate": "(1, 1)", "workspace": "512"},
         "name": "conv1", "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "bn1_gamma", "inputs": [], "backward_source_id": -1,
         "attr": {"lr_mult": "1"}},
        {"op": "null", "param": {}, "name": "bn1_beta", "inputs": [], "backward_source_id": -1},
        {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "False", "momentum": "0.9",
                                      "use_global_stats": "False"},
         "name": "bn1", "inputs": [[3, 0], [4, 0], [5, 0]], "backward_source_id": -1,
         "attr": {"ctx_group": "dev1"}},
        {"op": "null", "param": {}, "name": "prelu1_gamma", "inputs": [], "backward_source_id": -1},
        {"op": "LeakyReLU", "param": {"act_type": "prelu", "slope": "0.25", "lower_bound": "0.125",
                                      "upper_bound": "0.334"},
         "name": "prelu1", "inputs": [[6, 0], [7, 0]], "backward_source_id": -1},
        {"op": "Pooling", "param": {"kernel": "(3, 3)", "stride": "(2, 2)", "pad": "(1, 1)",
                                    "pool_type": "max", "pooling_convention": "full",
                                    "global_pool": "False"},
         "name": "pool1", "inputs": [[8, 0]], "backward_source_id": -1},
        {"op": "SliceChannel", "param": {"num_outputs": "2", "axis": "1", "squeeze_axis": "False"},
         "name": "split", "inputs": [[9, 0]], "backward_source_id": -1},
        {"op": "_MulScalar", "param": {"scalar": "0.5"}, "name": "half", "inputs": [[10, 1]],
         "backward_source_id": -1},
        {"op": "Concat", "param": {"num_args": "2", "dim": "1"}, "name": "concat",
         "inputs": [[10, 0], [11, 0]], "backward_source_id": -1},
        {"op": "SoftmaxActivation", "param": {"mode": "instance"}, "name": "prob",
         "inputs": [[12, 0]], "backward_source_id": -1},
    ],
    "arg_nodes": [0, 1, 2, 4, 5, 7],
    "heads": [[13, 0]],
}


def net_cases():
    shape = {"data": (2, 3, 29, 31)}
    net("resnet_v1", resnet_v1(), shape)
    net("resnet_v2", resnet_v2(), shape, native=True,
        notes="run with MXNET_MKLDNN_ENABLED=0: the oneDNN build adds relu(bn(conv0)) instead of conv0 "
              "in the first unit's shortcut (conv0 feeds both u0_bn1 and the sum; 2.7e-3 off the native result)")
    net("mobilenet_relu6", mobilenet(), shape, notes="relu6 = clip(0, 6)")
    net("densenet", densenet(), shape)
    net("inception", inception(), shape)
    net("squeezenet_fire", squeezenet(), {"data": (2, 3, 33, 35)}, notes="pool1 full convention")
    net("vgg_bn", vgg_bn(), {"data": (2, 3, 17, 19)})
    net("detector_multihead", detector(), {"data": (2, 3, 23, 25)},
        notes="three heads: SoftmaxActivation(channel) class map, box regression, L2-normalised embedding")
    text = json.dumps(NET08_JSON, indent=1)
    net("era08_graph", None, {"data": (2, 3, 11, 13)}, json_text=text,
        notes="hand-written 0.8-era JSON (param/attr, 2-element entries, no aux nodes, _MulScalar); "
              "MXNet upgrades it on load")


# ---------------------------------------------------------------------------- writer
def _init_param(rng, name, shape):
    if name.endswith("moving_var"):
        return rng.uniform(0.5, 2.0, shape)
    if name.endswith("moving_mean"):
        return rng.normal(0, 0.5, shape)
    if name.endswith("gamma"):
        if "prelu" in name or name.startswith("a_"):
            return rng.uniform(0.05, 0.5, shape)
        return rng.uniform(0.5, 2.0, shape)
    if name.endswith("beta") or name.endswith("bias"):
        return rng.normal(0, 0.2, shape)
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return rng.normal(0, 1.0 / np.sqrt(max(fan_in, 1)), shape)


def make(c):
    out_dir = os.path.join(OUT, c["kind"])
    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.join(out_dir, c["name"])
    seed = zlib.crc32(c["name"].encode())
    rng = np.random.default_rng(seed)
    if c["json_text"] is not None:
        with open(prefix + "-symbol.json", "w") as f:
            f.write(c["json_text"])
        sym = mx.sym.load(prefix + "-symbol.json")
    else:
        sym = c["sym"]
    shapes = c["shapes"]
    arg_shapes, _, aux_shapes = sym.infer_shape(**shapes)
    args = dict(zip(sym.list_arguments(), arg_shapes))
    aux = dict(zip(sym.list_auxiliary_states(), aux_shapes))
    labels = [n for n in args if n.endswith("_label")]
    inputs = {}
    for n, s in shapes.items():
        x = rng.normal(0, 1, s)
        inputs[n] = (np.abs(x) + 0.1 if c["positive"] else x).astype(np.float32)
    arg_params = {n: _init_param(rng, n, s).astype(np.float32) for n, s in args.items()
                  if n not in shapes and n not in labels}
    aux_params = {n: _init_param(rng, n, s).astype(np.float32) for n, s in aux.items()}
    dtype = np.float64 if c["float64"] else np.float32
    exe = sym.simple_bind(mx.cpu(), grad_req="null", type_dict={n: dtype for n in args},
                          **{n: s for n, s in shapes.items()})
    for n, v in {**inputs, **arg_params}.items():
        exe.arg_dict[n][:] = v.astype(dtype)
    for n in labels:
        exe.arg_dict[n][:] = 0
    for n, v in aux_params.items():
        exe.aux_dict[n][:] = v.astype(dtype)
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    if c["json_text"] is None:
        mx.model.save_checkpoint(prefix, 0, sym, {k: mx.nd.array(v) for k, v in arg_params.items()},
                                 {k: mx.nd.array(v) for k, v in aux_params.items()})
    else:  # keep the hand-written symbol file; params only
        mx.nd.save(prefix + "-0000.params", {**{f"arg:{k}": mx.nd.array(v) for k, v in arg_params.items()},
                                              **{f"aux:{k}": mx.nd.array(v) for k, v in aux_params.items()}})
    np.savez_compressed(prefix + ".expected.npz",
                        **{f"in:{k}": v for k, v in inputs.items()},
                        **{f"out:{i}": o.astype(np.float32) for i, o in enumerate(outs)})
    prov = {
        "name": c["name"], "mxnet": mx.__version__, "seed": seed,
        "call": f"sym.simple_bind(mx.cpu(), grad_req='null'{', float64' if c['float64'] else ''}); "
                "forward(is_train=False)",
        "env": {"MXNET_MKLDNN_ENABLED": "0"} if c["native"] else {},
        "inputs": {k: list(v) for k, v in shapes.items()}, "labels_bound_to_zero": labels,
        "outputs": sym.list_outputs(), "output_shapes": [list(o.shape) for o in outs],
        "ops": sorted({n["op"] for n in json.loads(sym.tojson())["nodes"] if n["op"] != "null"}),
        "notes": c["notes"],
    }
    with open(prefix + ".json", "w") as f:
        json.dump(prov, f, indent=1)
        f.write("\n")
    for suffix in ("-symbol.json", "-0000.params", ".expected.npz", ".json"):
        size = os.path.getsize(prefix + suffix)
        assert size < MAX_FILE_BYTES, (prefix + suffix, size)
    return prov


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--exact", default=None, help=argparse.SUPPRESS)  # the child of a native case
    a = ap.parse_args(argv)
    for f in (conv_cases, norm_cases, act_cases, pool_cases, softmax_cases, net_cases):
        f()
    native_env = os.environ.get("MXNET_MKLDNN_ENABLED") == "0"
    for c in CASES:
        if a.exact is not None:
            if c["name"] == a.exact:
                make(c)
            continue
        if c["native"] and not native_env and a.k in c["name"]:
            import subprocess

            subprocess.run([sys.executable, os.path.abspath(__file__), "--exact", c["name"]], check=True,
                           env={**os.environ, "MXNET_MKLDNN_ENABLED": "0"})
            print(c["kind"], c["name"], "(native kernels)")
            continue
        if a.k in c["name"]:
            try:
                prov = make(c)
            except mx.base.MXNetError as e:
                print(f"FAILED {c['name']}: {str(e).splitlines()[0]}", file=sys.stderr)
                raise
            print(c["kind"], c["name"], prov["output_shapes"])


if __name__ == "__main__":
    main()
