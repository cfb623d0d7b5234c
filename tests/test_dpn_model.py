"""dpn_torch models: keys, counts and structure against DPN.md; export, trace, channels_last, train."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import dpn_torch  # noqa: E402
from dpn_torch import DPN, MODEL_CONFIGS  # noqa: E402

# DPN.md §1 (parameters at 1000 classes, without BN running statistics) and §4.1 (key counts).
PARAMS = {"dpn68": 12_611_602, "dpn68b": 12_611_602, "dpn92": 37_668_392, "dpn98": 61_570_728,
          "dpn131": 79_254_504, "dpn107": 86_917_800}
PARAMS_5K = {"dpn68b": 15_765_340, "dpn92": 47_848_946}
KEYS = {"dpn68": (433, 72), "dpn68b": (455, 72), "dpn92": (577, 96), "dpn98": (613, 102),
        "dpn131": (811, 135), "dpn107": (667, 111)}
FINAL_CH = {"dpn68": 832, "dpn68b": 832, "dpn92": 2688, "dpn98": 2688, "dpn131": 2688, "dpn107": 2688}
BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")

TINY = dict(small=True, num_init_features=8, k_r=8, groups=4, k_sec=(1, 2, 2, 1),
            inc_sec=(4, 8, 8, 16), bw_base=16, num_classes=10)


def expected_keys(k_sec: tuple[int, ...], b: bool) -> list[str]:
    """The state_dict keys of rw/timm dpn.py, in order, written out from DPN.md §5.1."""
    keys = ["features.conv1_1.conv.weight", *(f"features.conv1_1.bn.{f}" for f in BN)]
    for s, n in enumerate(k_sec):
        for i in range(1, n + 1):
            p = f"features.conv{s + 2}_{i}."
            units = (["c1x1_w_s1" if s == 0 else "c1x1_w_s2"] if i == 1 else []) + ["c1x1_a", "c3x3_b"]
            for u in units:
                keys += [*(f"{p}{u}.bn.{f}" for f in BN), f"{p}{u}.conv.weight"]
            if b:
                keys += [*(f"{p}c1x1_c.bn.{f}" for f in BN), f"{p}c1x1_c1.weight", f"{p}c1x1_c2.weight"]
            else:
                keys += [*(f"{p}c1x1_c.bn.{f}" for f in BN), f"{p}c1x1_c.conv.weight"]
    keys += [*(f"features.conv5_bn_ac.bn.{f}" for f in BN), "classifier.weight", "classifier.bias"]
    return keys


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module", params=list(PARAMS))
def full_model(request: pytest.FixtureRequest) -> tuple[str, DPN]:
    with torch.device("meta"):  # shapes only: no 80M-parameter initialisation
        return request.param, getattr(dpn_torch, request.param)()


def test_keys_order_and_counts(full_model: tuple[str, DPN]) -> None:
    name, model = full_model
    sd = model.state_dict()
    cfg = MODEL_CONFIGS[name]
    assert list(sd) == expected_keys(cfg.k_sec, cfg.b)
    n_keys, n_tracked = KEYS[name]
    assert len(sd) == n_keys
    assert sum(k.endswith("num_batches_tracked") for k in sd) == n_tracked


def test_parameter_counts(full_model: tuple[str, DPN]) -> None:
    name, model = full_model
    assert n_params(model) == PARAMS[name]
    assert model.num_features == FINAL_CH[name] == model.config.num_features
    assert model.classifier.weight.shape == (1000, FINAL_CH[name], 1, 1)


@pytest.mark.parametrize("name", list(PARAMS_5K))
def test_5k_heads(name: str) -> None:
    with torch.device("meta"):
        model = getattr(dpn_torch, name)(num_classes=4786)
    assert n_params(model) == PARAMS_5K[name]


def test_stage_widths_dpn92() -> None:
    """DPN.md §2 table, dpn92: proj out and stage out per stage."""
    with torch.device("meta"):
        m = dpn_torch.dpn92()
    f = m.features
    assert f.conv2_1.c1x1_w_s1.conv.weight.shape == (288, 64, 1, 1)
    assert f.conv3_1.c1x1_w_s2.conv.weight.shape == (576, 336, 1, 1)
    assert f.conv4_1.c1x1_w_s2.conv.weight.shape == (1072, 704, 1, 1)
    assert f.conv5_1.c1x1_w_s2.conv.weight.shape == (2304, 1552, 1, 1)
    assert f.conv4_1.c3x3_b.conv.weight.shape == (384, 12, 3, 3)
    assert f.conv4_1.c3x3_b.conv.stride == (2, 2) and f.conv4_1.c1x1_a.conv.stride == (1, 1)
    assert f.conv2_1.c3x3_b.conv.stride == (1, 1)
    assert f.conv1_1.conv.kernel_size == (7, 7) and f.conv1_1.conv.padding == (3, 3)


def test_bn_eps_relu_and_b_structure() -> None:
    with torch.device("meta"):
        m = dpn_torch.dpn68b()
    bns = [x for x in m.modules() if isinstance(x, nn.BatchNorm2d)]
    assert len(bns) == 72 and all(x.eps == 1e-3 for x in bns)
    acts = [x for x in m.modules() if isinstance(x, (nn.ELU, nn.SELU, nn.SiLU, nn.GELU))]
    assert not acts
    assert isinstance(m.features.conv5_bn_ac.act, nn.ReLU)
    blk = m.features.conv3_2
    assert not hasattr(blk.c1x1_c, "conv")
    assert blk.c1x1_c1.weight.shape == (128, 256, 1, 1) and blk.c1x1_c2.weight.shape == (32, 256, 1, 1)
    assert m.features.conv1_1.conv.kernel_size == (3, 3)
    # one ReLU instance per unit (rw shares one; only matters for hooks)
    relus = [x for x in m.modules() if isinstance(x, nn.ReLU)]
    assert len({id(r) for r in relus}) == len(relus) == 72


def test_classifier_is_conv_with_bias() -> None:
    with torch.device("meta"):
        m = dpn_torch.dpn98(num_classes=7)
    assert isinstance(m.classifier, nn.Conv2d) and m.classifier.bias is not None
    assert m.classifier.weight.shape == (7, 2688, 1, 1)


def test_preprocessing_constants() -> None:
    assert dpn_torch.DPN_MEAN == pytest.approx((124 / 255, 117 / 255, 104 / 255))
    assert dpn_torch.DPN_STD == pytest.approx((0.23482,) * 3, abs=1e-5)
    assert dpn_torch.model.INPUT_SIZE == (3, 224, 224) == dpn_torch.PREPROCESSING.input_size
    p = dpn_torch.PREPROCESSING
    assert p.channel_order == "RGB" and p.pixel_mean == (124, 117, 104) and p.pixel_scale == 0.0167
    with torch.device("meta"):
        assert dpn_torch.dpn68().preprocessing is p


def test_generic_constructor_bw_base() -> None:
    m = DPN(**TINY)
    widths = [s["bw"] for s in m.config.stage_widths()]
    assert widths == [16, 32, 64, 128]
    assert [s["r"] for s in m.config.stage_widths()] == [8, 16, 32, 64]
    assert m.num_features == 176
    assert n_params(m) == 68_914  # fixtures/dpn/tiny68.json n_params
    assert list(m.state_dict()) == expected_keys(TINY["k_sec"], False)
    big = DPN(small=False, num_init_features=16, k_r=8, groups=4, k_sec=(1, 1, 2, 1),
              inc_sec=(4, 8, 6, 16), bw_base=4, num_classes=7)
    assert [s["bw"] for s in big.config.stage_widths()] == [16, 32, 64, 128]


def _tiny(b: bool = False, **kw: object) -> DPN:
    torch.manual_seed(0)
    m = DPN(**{**TINY, "b": b, **kw})
    with torch.no_grad():  # non-trivial BN statistics so eval differs from train
        for x in m.modules():
            if isinstance(x, nn.BatchNorm2d):
                x.running_mean.uniform_(-0.2, 0.2)
                x.running_var.uniform_(0.5, 2.0)
    return m


@pytest.mark.parametrize("b", [False, True])
def test_forward_eval_train_channels_last(b: bool) -> None:
    m = _tiny(b).eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        y = m(x)
        y_cl = m.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    assert y.shape == (2, 10)
    torch.testing.assert_close(y_cl, y, rtol=1e-4, atol=1e-5)
    m.train()
    out = m(x)
    out.sum().backward()
    assert out.shape == (2, 10) and m.features.conv1_1.conv.weight.grad is not None
    assert int(m.features.conv1_1.bn.num_batches_tracked) == 1


def test_test_time_pool_head() -> None:
    m = _tiny(test_time_pool=True).eval()
    x = torch.randn(1, 3, 320, 320)
    with torch.no_grad():
        y = m(x)
        feats = m.forward_features(x)
        z = m.classifier(torch.nn.functional.avg_pool2d(feats, 7, 1))
        want = 0.5 * (z.mean((2, 3)) + z.amax((2, 3)))
        torch.testing.assert_close(y, want)
        plain = m.classifier(feats.mean((2, 3), keepdim=True)).flatten(1)
        assert not torch.allclose(y, plain)
        # at 224 the final map is 7x7: mean-max equals the plain head
        x224 = torch.randn(1, 3, 224, 224)
        m.test_time_pool = False
        a = m(x224)
        m.test_time_pool = True
        torch.testing.assert_close(m(x224), a, rtol=1e-5, atol=1e-5)
        # below 224 (6x6 map) it falls back to the plain head instead of crashing
        assert m(torch.randn(1, 3, 192, 192)).shape == (1, 10)
    m.train()
    assert m(torch.randn(2, 3, 320, 320)).shape == (2, 10)  # train mode: plain head


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")
def test_jit_trace_and_torch_export() -> None:
    m = _tiny(b=True).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        want = m(x)
        traced = torch.jit.trace(m, x)
        torch.testing.assert_close(traced(x), want)
    exported = torch.export.export(m, (x,))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), want)


def test_factories_accept_num_classes_and_ttp() -> None:
    with torch.device("meta"):
        for name in PARAMS:
            m = getattr(dpn_torch, name)(num_classes=4786, test_time_pool=True)
            assert m.num_classes == 4786 and m.test_time_pool
            assert m.config == MODEL_CONFIGS[name].with_classes(4786)
