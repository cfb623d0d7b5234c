#!/usr/bin/env python
"""Regenerate fixtures/symbol/ with real MXNet (run by hand, never by tests or CI).

    .oracle20/bin/python tools/make_symbol_fixtures.py export20   # 2.0.0b1 Gluon exports
    .oracle19/bin/python tools/make_symbol_fixtures.py            # everything else + the truth

(the oracle venvs of docs/FIXTURES.md: mxnet 1.9.1 / 2.0.0b1 with numpy<1.24). Writes, per case NAME:
  NAME-symbol.json     the graph (written by MXNet, or hand-made in an older era's spelling)
  NAME.expected.json   what MXNet 1.9.1 returned for it: list_arguments, list_auxiliary_states,
                       list_outputs, list_inputs (or the error it raised), provenance
  NAME.tojson.json     MXNet 1.9.1's `mx.sym.load(NAME-symbol.json).tojson()` (the upgraded graph)
  NAME-0000.params     for a few cases, a checkpoint with seeded random weights (save_checkpoint)
A 2.x export that 1.9.1 cannot load records 2.0.0b1's lists instead (`read_by`, and 1.9.1's
error as `mxnet_1_9_1_error`). Deterministic:
hand-made graphs are literals below, weights come from fixed seeds.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "fixtures", "symbol")


def V(name, **attr):
    """A 0.8-era variable node."""
    node = {"op": "null", "param": {}, "name": name, "inputs": [], "backward_source_id": -1}
    if attr:
        node["attr"] = attr
    return node


def OP08(op, name, inputs, attr=None, **param):
    node = {"op": op, "param": {k: str(v) for k, v in param.items()}, "name": name,
            "inputs": [[i, 0] for i in inputs], "backward_source_id": -1}
    if attr:
        node["attr"] = attr
    return node


def graph08(nodes, heads):
    return {"nodes": nodes, "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"],
            "heads": [[h, 0] for h in heads]}


def inception_bn_08():
    """An 0.8-era Inception-BN-like graph: `param` with every default spelled out, `attr`,
    backward_source_id, 2-element entries, BatchNorm without moving statistics (the upgrade adds
    them), an unnamed op and the legacy `Softmax` alias."""
    n = []

    def add(node):
        n.append(node)
        return len(n) - 1

    conv_p = dict(dilate="(1,1)", no_bias="False", num_group="1", workspace="512", cudnn_tune="off")
    bn_p = dict(eps="0.001", fix_gamma="True", momentum="0.9", use_global_stats="False")

    def conv_bn(x, name, nf, k, s, p):
        w = add(V(f"conv_{name}_weight"))
        b = add(V(f"conv_{name}_bias"))
        c = add(OP08("Convolution", f"conv_{name}", [x, w, b], kernel=k, stride=s, pad=p,
                     num_filter=nf, **conv_p))
        g = add(V(f"bn_{name}_gamma"))
        be = add(V(f"bn_{name}_beta"))
        bn = add(OP08("BatchNorm", f"bn_{name}", [c, g, be], **bn_p))
        return add(OP08("Activation", f"relu_{name}", [bn], act_type="relu"))

    data = add(V("data"))
    c1 = conv_bn(data, "1", 8, "(7,7)", "(2,2)", "(3,3)")
    p1 = add(OP08("Pooling", "pool_1", [c1], kernel="(3,3)", stride="(2,2)", pad="(0,0)",
                  pool_type="max", pooling_convention="full", global_pool="False"))
    a = conv_bn(p1, "3a_1x1", 4, "(1,1)", "(1,1)", "(0,0)")
    b = conv_bn(p1, "3a_3x3_reduce", 4, "(1,1)", "(1,1)", "(0,0)")
    b = conv_bn(b, "3a_3x3", 4, "(3,3)", "(1,1)", "(1,1)")
    pp = add(OP08("Pooling", "avg_pool_3a_pool", [p1], kernel="(3,3)", stride="(1,1)",
                  pad="(1,1)", pool_type="avg", pooling_convention="valid", global_pool="False"))
    pp = conv_bn(pp, "3a_proj", 4, "(1,1)", "(1,1)", "(0,0)")
    cat = add(OP08("Concat", "ch_concat_3a_chconcat", [a, b, pp], num_args="3", dim="1"))
    gp = add(OP08("Pooling", "global_pool", [cat], kernel="(7,7)", stride="(1,1)", pad="(0,0)",
                  pool_type="avg", global_pool="True", pooling_convention="valid"))
    fl = add(OP08("Flatten", "flatten", [gp]))
    fw = add(V("fc1_weight", lr_mult="2"))
    fb = add(V("fc1_bias", wd_mult="0"))
    fc = add(OP08("FullyConnected", "fc1", [fl, fw, fb], attr={"ctx_group": "dev1"},
                  num_hidden="10", no_bias="False"))
    sc = add(OP08("_MulScalar", "", [fc], scalar="0.5"))
    lab = add(V("softmax_label"))
    sm = add(OP08("Softmax", "softmax", [sc, lab], grad_scale="1", multi_output="False",
                  use_ignore="False", ignore_label="-1", normalization="null"))
    return graph08(n, [sm])


def hidden_keys_08():
    """0.8-era hidden-key spellings on ops and variables (where each one lands)."""
    n = [V("data"), V("w", lr_mult="3", foo_wd_mult="1"), V("b"),
         OP08("FullyConnected", "fc", [0, 1, 2], attr={"weight_lr_mult": "0.5", "bias_wd_mult": "0",
                                                         "data_lr_mult": "9", "mirror_stage": "True",
                                                         "__shape__": "(2, 3)"},
              num_hidden="4"),
         OP08("LeakyReLU", "prelu", [3], act_type="prelu", slope="0.25"),
         OP08("Dropout", "drop", [4], p="0.25"),
         OP08("argmax", "am", [5], axis="-1"),
         V("unused_var"),
         OP08("Flatten", "dangling", [7])]
    return graph08(n, [6, 5])


def resnet_attr_era():
    """A 0.9-0.11 `attr`-era ResNet block (mxnet_version 903: BatchNorm moving statistics present,
    `__init__` added by the upgrade; 3-element entries; node_row_ptr)."""
    nodes = []

    def add(op, name, inputs=(), **attr):
        node = {"op": op, "name": name, "inputs": [[i, 0, 0] for i in inputs]}
        if attr:
            node["attr"] = {k: str(v) for k, v in attr.items()}
        nodes.append(node)
        return len(nodes) - 1

    def bn(x, name):
        g, b = add("null", f"{name}_gamma"), add("null", f"{name}_beta")
        m, v = add("null", f"{name}_moving_mean"), add("null", f"{name}_moving_var")
        i = add("BatchNorm", name, (x, g, b, m, v), eps="2e-05", fix_gamma="False",
                momentum="0.9", use_global_stats="False")
        nodes[i]["inputs"][3][2] = 1
        nodes[i]["inputs"][4][2] = 1
        return i

    def conv(x, name, nf, k, s, p):
        w = add("null", f"{name}_weight", lr_mult="1.0")
        return add("Convolution", name, (x, w), kernel=k, stride=s, pad=p, num_filter=nf,
                   no_bias="True", workspace="256")

    data = add("null", "data")
    x = bn(data, "bn_data")
    x = conv(x, "conv0", 8, "(3, 3)", "(1, 1)", "(1, 1)")
    b1 = bn(x, "stage1_unit1_bn1")
    r1 = add("Activation", "stage1_unit1_relu1", (b1,), act_type="relu")
    c1 = conv(r1, "stage1_unit1_conv1", 8, "(3, 3)", "(1, 1)", "(1, 1)")
    b2 = bn(c1, "stage1_unit1_bn2")
    r2 = add("Activation", "stage1_unit1_relu2", (b2,), act_type="relu")
    c2 = conv(r2, "stage1_unit1_conv2", 8, "(3, 3)", "(1, 1)", "(1, 1)")
    plus = add("_Plus", "_plus0", (c2, x))
    pool = add("Pooling", "pool1", (plus,), kernel="(7, 7)", pool_type="avg", global_pool="True")
    fl = add("Flatten", "flatten0", (pool,))
    w = add("null", "fc1_weight")
    bb = add("null", "fc1_bias")
    fc = add("FullyConnected", "fc1", (fl, w, bb), num_hidden="10")
    lab = add("null", "softmax_label")
    sm = add("SoftmaxOutput", "softmax", (fc, lab))
    row, k = [0], 0
    for nd in nodes:
        k += 3 if nd["op"] == "BatchNorm" else 1
        row.append(k)
    return {"nodes": nodes, "arg_nodes": [i for i, nd in enumerate(nodes) if nd["op"] == "null"],
            "node_row_ptr": row, "heads": [[sm, 0, 0]], "attrs": {"mxnet_version": ["int", 903]}}


def attr_vs_attrs():
    """`attr` and `attrs` on one node (the later replaces the earlier), plus `param`."""
    return {"nodes": [
        {"op": "null", "name": "x", "inputs": []},
        {"op": "Activation", "name": "a1", "attrs": {"act_type": "tanh"},
         "attr": {"act_type": "relu"}, "inputs": [[0, 0, 0]]},
        {"op": "Activation", "name": "a2", "attr": {"act_type": "relu"},
         "attrs": {"act_type": "sigmoid"}, "param": {"act_type": "tanh"}, "inputs": [[1, 0, 0]]},
        {"op": "LeakyReLU", "name": "a3", "param": {"act_type": "elu", "slope": "0.3"},
         "attrs": {"slope": "0.1"}, "inputs": [[2, 0, 0]]}],
        "arg_nodes": [0], "heads": [[3, 0, 0]], "attrs": {"mxnet_version": ["int", 1000]}}


def control_deps_graph():
    """Hand-made control_deps (list order counts them after the inputs) and an unreachable node."""
    return {"nodes": [
        {"op": "null", "name": "a", "inputs": []},
        {"op": "null", "name": "c", "inputs": []},
        {"op": "_copy", "name": "side", "inputs": [[1, 0, 0]]},
        {"op": "null", "name": "b", "inputs": []},
        {"op": "elemwise_add", "name": "add", "inputs": [[0, 0, 0], [3, 0, 0]], "control_deps": [2]},
        {"op": "null", "name": "orphan", "inputs": []}],
        "arg_nodes": [0, 1, 3, 5], "heads": [[4, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10901]}}


HAND_MADE = {
    "era08_inception_bn": (inception_bn_08, "hand-made 0.8-era spelling (param, attr, backward_source_id)"),
    "era08_hidden_keys": (hidden_keys_08, "hand-made 0.8-era hidden keys, unreachable nodes, argmax axis=-1"),
    "era09_resnet_block": (resnet_attr_era, "hand-made 0.9-era `attr` spelling, mxnet_version 903"),
    "era10_attr_merge": (attr_vs_attrs, "hand-made attr/attrs/param on one node, mxnet_version 1000"),
    "control_deps": (control_deps_graph, "hand-made control_deps and an unreachable variable"),
}


# ---------------------------------------------------------------------------------------------
# graphs written by MXNet 1.9.1's symbol API and Gluon export


def symbol_api_graphs(mx):
    sym = mx.sym
    out = {}
    data = sym.var("data")
    fc1 = sym.FullyConnected(data, num_hidden=16, name="fc1")
    act = sym.Activation(fc1, act_type="relu", name="relu1")
    fc2 = sym.FullyConnected(act, num_hidden=10, name="fc2")
    out["mlp_softmax"] = (sym.SoftmaxOutput(fc2, name="softmax"), {"data": (2, 8)})

    x = sym.Convolution(data, kernel=(3, 3), num_filter=8, pad=(1, 1), name="conv1")
    x = sym.BatchNorm(x, fix_gamma=False, name="bn1")
    x = sym.LeakyReLU(x, act_type="prelu", name="prelu1")
    x = sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full",
                    name="pool1")
    x = sym.Convolution(x, kernel=(3, 3), num_filter=8, num_group=2, no_bias=True, name="conv2")
    x = sym.BatchNorm(x, name="bn2")
    x = sym.Activation(x, act_type="relu")  # unnamed: activation0
    x = sym.Pooling(x, global_pool=True, kernel=(1, 1), pool_type="avg", name="gpool")
    x = sym.Flatten(x)
    x = sym.FullyConnected(x, num_hidden=10, name="fc")
    out["lenet_bn"] = (sym.SoftmaxOutput(x, name="softmax"), {"data": (2, 3, 11, 11)})

    y = sym.var("y")
    h = sym.FullyConnected(data, num_hidden=4, name="h")
    losses = sym.Group([
        sym.LinearRegressionOutput(h, sym.var("lin_label"), name="lin"),
        sym.LogisticRegressionOutput(h, name="logit"),
        sym.MAERegressionOutput(h, name="mae"),
        sym.SVMOutput(h, name="svm"),
        sym.MakeLoss(sym.sum(sym.square(h - y)), name="l2loss"),
        sym.BlockGrad(h, name="feat"),
    ])
    out["losses"] = (losses, {"data": (2, 8), "y": (2, 4)})

    x = sym.BatchNorm(sym.Convolution(data, kernel=(1, 1), num_filter=4, name="c"),
                      output_mean_var=True, name="bnm")
    parts = sym.SliceChannel(x[0], num_outputs=2, axis=1, name="split")
    rr = sym.LeakyReLU(parts[0], act_type="rrelu", name="rrelu")
    ln = sym.LayerNorm(sym.Flatten(parts[1]), output_mean_var=True, name="ln")
    with mx.AttrScope(ctx_group="dev1", lr_mult="0.1"):
        z = sym.FullyConnected(ln[0], num_hidden=3, name="fc_scoped")
    w = sym.var("fcw_weight", lr_mult=2.0, wd_mult=0.0, shape=(3, 3), init=mx.init.Xavier())
    z2 = sym.FullyConnected(z, weight=w, no_bias=True, num_hidden=3, name="fcw")
    heads = sym.Group([x[1], x[2], parts[1], rr[0], rr[1], ln[0], ln[2], z2, data])
    out["multi_head"] = (heads, {"data": (2, 3, 4, 4)})

    a, b = sym.var("a"), sym.var("b")
    emb = sym.Embedding(sym.var("idx"), input_dim=5, output_dim=4, name="emb")
    cat = sym.concat(a, b, dim=1, name="cat")
    dec = sym.Deconvolution(cat, kernel=(3, 3), stride=(2, 2), adj=(1, 1), num_filter=2, name="dec")
    up = sym.UpSampling(dec, scale=2, sample_type="bilinear", num_filter=2, num_args=1, name="up")
    upn = sym.UpSampling(a, b, scale=1, sample_type="nearest", num_args=2, name="upn")
    crop = sym.Crop(up, a, num_args=2, center_crop=True, name="crop")
    rs = sym.reshape(crop, shape=(0, -1), name="rs")
    sl = sym.slice(rs, begin=(None, 1), end=(None, -1), step=(1, 2), name="sl")
    sa = sym.slice_axis(sl, axis=1, begin=0, end=None, name="sa")
    cl = sym.clip(sa, a_min=-1.0, a_max=1.0, name="cl")
    ew = cl * 2 + 1 - (cl / 3)
    sm = sym.softmax(ew, axis=-1, temperature=2.0, name="smx")
    ls = sym.log_softmax(sm, name="lsm")
    tr = sym.transpose(sym.expand_dims(ls, axis=0), axes=(1, 0, 2), name="tr")
    sq = sym.squeeze(tr, axis=1, name="sq")
    red = sym.sum(sq, axis=1, keepdims=True, name="red")
    l2 = sym.L2Normalization(upn, mode="channel", name="l2n")
    inn = sym.InstanceNorm(l2, name="inorm")
    dr = sym.Dropout(inn, p=0.3, name="drop")
    sact = sym.SoftmaxActivation(dr, mode="channel", name="sact")
    mixed = sym.Group([red, emb, sym.add_n(a, b, a, name="addn"), sact,
                       sym.Cast(a, dtype="float16", name="cast"),
                       sym.broadcast_add(a, sym.mean(b, axis=(2, 3), keepdims=True), name="badd"),
                       sym.argmax(a, axis=1, name="amax")])
    out["ops_mixed"] = (mixed, {})
    return out


def gluon_graphs(mx, prefix_dir):
    from mxnet.gluon import nn
    done = {}
    mx.random.seed(3)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(8, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(2), nn.Conv2D(8, 3, groups=2, use_bias=False), nn.BatchNorm(scale=False),
                nn.LeakyReLU(0.1), nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dropout(0.5), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.ones((1, 3, 9, 9)))
    net.export(os.path.join(prefix_dir, "gluon19_convbn"))
    done["gluon19_convbn"] = "MXNet 1.9.1 Gluon HybridSequential.export (Conv2D, BatchNorm, pools, Dense)"

    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(6, activation="tanh"), nn.Dense(3, flatten=False), nn.ELU(), nn.SELU(),
                nn.GELU(), nn.Swish(), nn.LayerNorm(), nn.Embedding(4, 2))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.ones((2, 5)))
    net.export(os.path.join(prefix_dir, "gluon19_dense"))
    done["gluon19_dense"] = "MXNet 1.9.1 Gluon export without BatchNorm (Dense, ELU, SELU, GELU, Swish, LayerNorm, Embedding)"
    return done


def export20():
    """Run in the 2.0.0b1 venv: Gluon exports in the 2.x spelling (numpy-namespace ops)."""
    import mxnet as mx
    from mxnet.gluon import nn
    mx.npx.set_np()
    os.makedirs(OUT, exist_ok=True)

    class Block(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(4, 3, padding=1)
            self.bn = nn.BatchNorm()
            self.fc = nn.Dense(5)

        def forward(self, x):
            y = mx.npx.relu(self.bn(self.conv(x)))
            y = mx.np.concatenate([y, y * 2 + 1], axis=1)
            y = y.reshape(-2, -1) if False else mx.npx.reshape(y, (-2, -1))
            z = self.fc(y)
            return mx.npx.softmax(z, axis=-1), (z ** 2).mean(), mx.np.transpose(z)

    net = Block()
    net.initialize()
    net.hybridize()
    net(mx.np.ones((2, 3, 5, 5)))
    net.export(os.path.join(OUT, "mx20_block"))
    for f in os.listdir(OUT):
        if f.startswith("mx20_block") and f.endswith((".params", ".npz")):
            os.remove(os.path.join(OUT, f))
    nested = nn.HybridSequential()
    nested.add(nn.Conv2D(4, 3), nn.BatchNorm(), nn.Activation("relu"), nn.GlobalAvgPool2D(),
               nn.Dense(3))
    nested.initialize()
    nested.hybridize()
    nested(mx.np.ones((1, 3, 7, 7)))
    nested.export(os.path.join(OUT, "mx20_sequential"))
    for f in os.listdir(OUT):
        if f.startswith("mx20_sequential") and f.endswith((".params", ".npz")):
            os.remove(os.path.join(OUT, f))
    for name in ("mx20_block", "mx20_sequential"):
        s = mx.sym.load(os.path.join(OUT, name + "-symbol.json"))
        with open(os.path.join(OUT, name + ".mx20.json"), "w", encoding="utf-8") as f:
            json.dump({"read_by": "mxnet %s: mx.sym.load(file)" % mx.__version__,
                       "list_arguments": s.list_arguments(),
                       "list_auxiliary_states": s.list_auxiliary_states(),
                       "list_outputs": s.list_outputs(), "list_inputs": s.list_inputs()}, f)
    print("2.0.0b1 exports written")


# ---------------------------------------------------------------------------------------------


def record(mx, name, path, written_by):
    """Write NAME.expected.json (and NAME.tojson.json) from MXNet 1.9.1 loading `path`."""
    exp = {"case": name, "file": os.path.basename(path), "written_by": written_by,
           "read_by": "mxnet %s: mx.sym.load(file)" % mx.__version__}
    try:
        s = mx.sym.load(path)
        exp.update(list_arguments=s.list_arguments(), list_auxiliary_states=s.list_auxiliary_states(),
                   list_outputs=s.list_outputs(), list_inputs=s.list_inputs())
        with open(os.path.join(OUT, name + ".tojson.json"), "w", encoding="utf-8") as f:
            f.write(s.tojson())
    except mx.base.MXNetError as e:
        msg = str(e).strip().splitlines()[0][:300]
        side = os.path.join(OUT, name + ".mx20.json")
        if os.path.exists(side):  # a 2.x file 1.9.1 cannot load: 2.0.0b1's own reading is the truth
            with open(side, encoding="utf-8") as f:
                exp.update(json.load(f))
            os.remove(side)
            exp["mxnet_1_9_1_error"] = msg
        else:
            exp["error"] = msg
    with open(os.path.join(OUT, name + ".expected.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    if sys.argv[1:] == ["export20"]:
        export20()
        return
    import mxnet as mx
    import numpy as np
    os.makedirs(OUT, exist_ok=True)
    for name, (make, how) in HAND_MADE.items():
        path = os.path.join(OUT, name + "-symbol.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(make(), f, indent=1)
            f.write("\n")
        record(mx, name, path, how)
    rng = np.random.RandomState(0)
    for name, (s, shapes) in symbol_api_graphs(mx).items():
        prefix = os.path.join(OUT, name)
        s.save(prefix + "-symbol.json")
        if shapes:  # a checkpoint with seeded random weights (BatchNorm stats non-trivial)
            arg_shapes, _, aux_shapes = s.infer_shape(**shapes)
            args = {n: mx.nd.array(rng.uniform(-1, 1, shp)) for n, shp in
                    zip(s.list_arguments(), arg_shapes) if n not in shapes and not n.endswith("label")}
            aux = {n: mx.nd.array(rng.uniform(0.5, 2, shp)) for n, shp in
                   zip(s.list_auxiliary_states(), aux_shapes)}
            mx.model.save_checkpoint(prefix, 0, s, args, aux)
        record(mx, name, prefix + "-symbol.json",
               "MXNet %s symbol API: sym.save (and mx.model.save_checkpoint with seeded weights)"
               % mx.__version__)
    for name, how in gluon_graphs(mx, OUT).items():
        record(mx, name, os.path.join(OUT, name + "-symbol.json"), how)
    for name in ("mx20_block", "mx20_sequential"):
        path = os.path.join(OUT, name + "-symbol.json")
        if os.path.exists(path):
            record(mx, name, path, "MXNet 2.0.0b1 Gluon HybridBlock.export under npx.set_np()")
    print("fixtures written to", OUT)


if __name__ == "__main__":
    main()
