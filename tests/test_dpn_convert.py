"""dpn_torch converter: MXNet parity on tiny MXNet-made checkpoints, full-size key sets, strict
errors, and the PyTorch -> MXNet export round trip."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ndparse  # noqa: E402

import dpn_torch  # noqa: E402
from dpn_torch import (  # noqa: E402
    DPN,
    MODEL_CONFIGS,
    DPNConversionError,
    convert_checkpoint,
    convert_from_mxnet,
    export_to_mxnet,
    load_mxnet,
)
from dpn_torch.keys import infer_config, mxnet_key_to_torch, torch_key_to_mxnet  # noqa: E402

from helpers import (  # noqa: E402
    FIXTURES,
    fixture_inputs,
    load_manifest,
    manifest_names,
    random_arrays,
    rel_err,
    tiny_names,
    write_v0,
    write_v2,
)

RTOL = 1e-5  # max|ours - mxnet| <= RTOL * max|mxnet| + ATOL
ATOL = 1e-6
TINY = tiny_names()
TINY_FILES = [(n, v) for n in TINY for v in ("", "_v0") if (FIXTURES / f"{n}{v}-0000.params").exists()]
KEY_COUNTS = {"dpn68": (217, 144), "dpn68b": (239, 144), "dpn92": (289, 192), "dpn98": (307, 204),
              "dpn131": (406, 270), "dpn107": (334, 222)}  # DPN.md §4.1


def tiny_meta(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def config_from_meta(meta: dict) -> dict:
    c = meta["config"]
    return dict(small=c["small"], num_init_features=c["init_ch"], k_r=c["k_r"], groups=c["G"],
                b=meta["b"], k_sec=tuple(c["k_sec"]), inc_sec=tuple(c["inc_sec"]),
                bw_base=c["bw_base"], num_classes=meta["num_classes"])


# --------------------------------------------------------------------------------------------------
# the key table
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mx_key, torch_key, b", [
    ("arg:conv3_x__1_c1x1-w(s/2)__bn__bn_gamma", "features.conv3_1.c1x1_w_s2.bn.weight", False),
    ("aux:conv2_x__1_c1x1-w(s/1)__bn__bn_moving_mean", "features.conv2_1.c1x1_w_s1.bn.running_mean", True),
    ("aux:conv4_x__12_c1x1-c__bn_moving_var", "features.conv4_12.c1x1_c.bn.running_var", True),
    ("aux:conv4_x__12_c1x1-c__bn__bn_moving_var", "features.conv4_12.c1x1_c.bn.running_var", False),
    ("arg:conv2_x__3_c3x3-b__conv_weight", "features.conv2_3.c3x3_b.conv.weight", False),
    ("arg:conv5_x__2_c1x1-c2__conv_weight", "features.conv5_2.c1x1_c2.weight", True),
    ("arg:conv1_x_1__relu-sp__bn_beta", "features.conv1_1.bn.bias", False),
    ("aux:conv5_x_x__relu-sp__bn_moving_var", "features.conv5_bn_ac.bn.running_var", True),
    ("arg:conv1_x_1__conv_weight", "features.conv1_1.conv.weight", True),
])
def test_key_rules_both_ways(mx_key: str, torch_key: str, b: bool) -> None:
    hit = mxnet_key_to_torch(mx_key)
    assert hit is not None and hit[0] == torch_key and hit[1].applies_to(b)
    assert torch_key_to_mxnet(torch_key, b=b) == mx_key


def test_key_rules_classifier_and_rejects() -> None:
    assert mxnet_key_to_torch("arg:fc6-1k_weight")[0] == "classifier.weight"
    assert mxnet_key_to_torch("arg:fc6_bias")[0] == "classifier.bias"
    assert torch_key_to_mxnet("classifier.weight", b=False, classifier="fc6-1k") == "arg:fc6-1k_weight"
    assert torch_key_to_mxnet("features.conv1_1.bn.num_batches_tracked", b=False) is None
    for bad in ["aux:conv1_x_1__relu-sp__bn_gamma", "arg:conv1_x_1__relu-sp__bn_moving_mean",
                "arg:conv6_x__1_c1x1-a__conv_weight", "arg:conv2_x_1_c1x1-a__conv_weight",
                "arg:conv2_x__0_c1x1-a__conv_weight", "arg:fc7_weight", "arg:conv2_x__1_c1x1-d__conv_weight"]:
        assert mxnet_key_to_torch(bad) is None, bad


# --------------------------------------------------------------------------------------------------
# tiny checkpoints made by MXNet 1.9.1: logits parity
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, suffix", TINY_FILES)
def test_tiny_logits_match_mxnet(name: str, suffix: str) -> None:
    meta = tiny_meta(name)
    expected = dict(np.load(FIXTURES / f"{name}.expected.npz"))
    expected.update(fixture_inputs(meta))
    prefix = FIXTURES / f"{name}{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's warning about non-writable numpy arrays
        model = load_mxnet(prefix)
    assert not model.training
    assert model.config == dpn_torch.DPNConfig(**config_from_meta(meta))
    with torch.no_grad():
        y224 = model(torch.from_numpy(expected["input_224"])).numpy()
        model.test_time_pool = True
        y320 = model(torch.from_numpy(expected["input_320"])).numpy()
    for got, want in ((y224, expected["logits_224"]), (y320, expected["logits_320_meanmax"])):
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= RTOL * np.abs(want).max() + ATOL, rel_err(got, want)


@pytest.mark.parametrize("name", TINY)
def test_tiny_v0_and_v2_identical_and_convert_from_mxnet(name: str) -> None:
    meta = tiny_meta(name)
    conv = convert_checkpoint(FIXTURES / name)
    assert conv.classifier == meta["classifier"] and conv.config.b == meta["b"]
    assert conv.record_layout == "legacy container, V2 records"
    assert conv.num_params == meta["n_params"] and conv.num_arrays == meta["n_arg"] + meta["n_aux"]
    torch.manual_seed(1)
    model = DPN(**config_from_meta(meta))
    assert convert_from_mxnet(model, FIXTURES / name) is model
    for k, v in model.state_dict().items():
        assert torch.equal(v, conv.state_dict[k]), k
    v0_copy = f"{name}_v0-0000.params"  # made for some tiny models; their .json lists it
    assert (FIXTURES / v0_copy).exists() == (v0_copy in meta["files"])
    if v0_copy in meta["files"]:
        conv0 = convert_checkpoint(FIXTURES / v0_copy)  # a path works too
        assert conv0.record_layout == "legacy container, V0 records"
        assert list(conv0.state_dict) == list(conv.state_dict)
        for k, v in conv0.state_dict.items():
            assert torch.equal(v, conv.state_dict[k]), k


def test_convert_from_mxnet_into_channels_last_model() -> None:
    name = TINY[0]
    meta = tiny_meta(name)
    model = DPN(**config_from_meta(meta)).to(memory_format=torch.channels_last)
    convert_from_mxnet(model, FIXTURES / name, epoch=0)
    ref = load_mxnet(FIXTURES / name)
    x = torch.from_numpy(fixture_inputs(meta)["input_224"][:1])
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), ref(x), rtol=1e-4, atol=1e-5)


def test_num_batches_tracked_is_int64_zero() -> None:
    sd = convert_checkpoint(FIXTURES / TINY[0]).state_dict
    tracked = [v for k, v in sd.items() if k.endswith("num_batches_tracked")]
    assert tracked and all(v.dtype == torch.int64 and v.ndim == 0 and int(v) == 0 for v in tracked)


# --------------------------------------------------------------------------------------------------
# full-size key sets from the manifests of the released checkpoints (random weights)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", manifest_names())
def test_full_size_conversion(prefix: str, tmp_path: Path) -> None:
    man = load_manifest(prefix)
    arrays = random_arrays(man["keys"], seed=len(prefix))
    path = write_v2(tmp_path / f"{prefix}-0000.params", arrays)
    conv = convert_checkpoint(tmp_path / prefix)
    network = man["network"]
    assert conv.config == MODEL_CONFIGS[network].with_classes(man["num_classes"])
    assert conv.variant == network
    assert conv.classifier == man["classifier"]
    assert conv.num_params == man["n_params"]
    assert (man["n_arg"], man["n_aux"]) == KEY_COUNTS[network]
    assert conv.num_arrays == man["n_arg"] + man["n_aux"]
    with torch.device("meta"):
        ref = getattr(dpn_torch, network)(num_classes=man["num_classes"])
    assert list(conv.state_dict) == list(ref.state_dict())
    b = conv.config.b
    for torch_key, tensor in conv.state_dict.items():
        mx_key = torch_key_to_mxnet(torch_key, b=b, classifier=conv.classifier)
        if mx_key is None:
            assert torch_key.endswith("num_batches_tracked")
            continue
        src = arrays.pop(mx_key)
        assert mxnet_key_to_torch(mx_key)[0] == torch_key
        assert tensor.dtype == torch.float32
        assert np.array_equal(tensor.numpy().reshape(src.shape), src), torch_key
    assert not arrays  # every checkpoint key was used
    del conv
    path.unlink()


@pytest.mark.parametrize("prefix", ["dpn68", "dpn92-extra"])
def test_full_size_v0_file(prefix: str, tmp_path: Path) -> None:
    """V0 records as the originals: the file size equals DPN.md §4.1's and the variant is inferred."""
    man = load_manifest(prefix)
    arrays = random_arrays(man["keys"], seed=7)
    path = write_v0(tmp_path / f"{prefix}-0000.params", arrays)
    assert path.stat().st_size == man["v0_file_bytes"]
    model = load_mxnet(tmp_path / prefix)
    assert model.config == MODEL_CONFIGS[man["network"]].with_classes(man["num_classes"])
    sd = model.state_dict()
    w = arrays["arg:conv1_x_1__conv_weight"]
    assert np.array_equal(sd["features.conv1_1.conv.weight"].numpy(), w)
    fc = arrays[f"arg:{man['classifier']}_weight"]
    assert np.array_equal(sd["classifier.weight"].numpy()[:, :, 0, 0], fc)


def test_full_size_export_order_matches_mxnet(tmp_path: Path) -> None:
    """The export writes MXNet's own key order (arg: in symbol order, then aux:)."""
    man = load_manifest("dpn68-extra")
    arrays = random_arrays(man["keys"], seed=3)
    write_v2(tmp_path / "in-0000.params", arrays)
    model = load_mxnet(tmp_path / "in")
    out = export_to_mxnet(model, tmp_path / "out-0000.params", classifier="fc6-1k")
    back = ndparse.load(out)
    assert [[k, list(v.shape)] for k, v in back.items()] == man["keys"]
    for k, v in back.items():
        assert np.array_equal(v, arrays[k]), k


# --------------------------------------------------------------------------------------------------
# strict errors
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_arrays() -> dict[str, np.ndarray]:
    return dict(ndparse.load(FIXTURES / f"{TINY[0]}-0000.params", mmap=False))


def _expect_error(path: Path, *needles: str) -> DPNConversionError:
    with pytest.raises(DPNConversionError) as info:
        load_mxnet(path)
    message = str(info.value)
    for needle in needles:
        assert needle in message, (needle, message)
    assert "\n" not in message
    return info.value


def test_error_missing_key(tiny_arrays: dict, tmp_path: Path) -> None:
    key = "aux:conv4_x__2_c3x3-b__bn__bn_moving_var"
    del tiny_arrays[key]
    err = _expect_error(write_v2(tmp_path / "m-0000.params", tiny_arrays),
                        key, "features.conv4_2.c3x3_b.bn.running_var", "1 missing", "assumed: custom DPN(")
    assert err.missing and key in err.missing[0] and not err.unexpected and not err.mismatched


def test_error_unexpected_key(tiny_arrays: dict, tmp_path: Path) -> None:
    tiny_arrays["arg:conv9_extra_weight"] = np.zeros(3, np.float32)
    err = _expect_error(write_v2(tmp_path / "u-0000.params", tiny_arrays),
                        "1 unexpected", "arg:conv9_extra_weight")
    assert err.unexpected == ["arg:conv9_extra_weight"] and not err.missing


def test_error_wrong_shape(tiny_arrays: dict, tmp_path: Path) -> None:
    key = "arg:conv4_x__2_c1x1-a__bn__bn_gamma"
    tiny_arrays[key] = np.ones(87, np.float32)
    err = _expect_error(write_v2(tmp_path / "s-0000.params", tiny_arrays),
                        "1 wrong shape", key, "(87,)", "(88,)", "features.conv4_2.c1x1_a.bn.weight")
    assert len(err.mismatched) == 1


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int32])
def test_error_not_float32(tiny_arrays: dict, tmp_path: Path, dtype: type) -> None:
    key = "arg:conv2_x__1_c1x1-a__conv_weight"
    tiny_arrays[key] = tiny_arrays[key].astype(dtype)
    _expect_error(write_v2(tmp_path / "t-0000.params", tiny_arrays), key, np.dtype(dtype).name,
                  "float32")


def test_error_not_a_dpn(tmp_path: Path) -> None:
    path = write_v2(tmp_path / "mlp-0000.params",
                    {"arg:dense0_weight": np.zeros((4, 3), np.float32),
                     "arg:dense0_bias": np.zeros(4, np.float32)})
    err = _expect_error(path, "not a DPN checkpoint", "none of its 2 names", "arg:conv1_x_1__conv_weight",
                        "arg:dense0_weight, arg:dense0_bias")
    assert err.unexpected == ["arg:dense0_weight", "arg:dense0_bias"]
    ndparse.save(tmp_path / "list-0000.params", [np.zeros(3, np.float32)])
    _expect_error(tmp_path / "list-0000.params", "no array names")


def test_error_not_a_dpn_quotes_names_as_stored(tmp_path: Path) -> None:
    """Issue 12 item 7: names stored without arg:/aux: are quoted without them."""
    path = write_v2(tmp_path / "bare-0000.params",
                    {"dense0_weight": np.zeros((4, 3), np.float32), "dense0_bias": np.zeros(4, np.float32)})
    message = str(_expect_error(path, "its names start dense0_weight, dense0_bias"))
    assert "arg:dense0" not in message


def test_error_wrong_model_names_variant(tmp_path: Path) -> None:
    with torch.device("meta"):
        model = dpn_torch.dpn68()
    with pytest.raises(DPNConversionError) as info:
        convert_from_mxnet(model, FIXTURES / TINY[0])
    assert "(assumed: dpn68, 1000 classes)" in str(info.value) and info.value.mismatched
    assert info.value.variant == "dpn68"
    b_name = next(n for n in TINY if tiny_meta(n)["b"])
    plain = DPN(**{**config_from_meta(tiny_meta(b_name)), "b": False})
    with pytest.raises(DPNConversionError) as info:
        convert_from_mxnet(plain, FIXTURES / b_name)
    err = info.value
    assert "arg:conv2_x__1_c1x1-c__conv_weight" in err.missing
    assert "arg:conv2_x__1_c1x1-c1__conv_weight" in err.unexpected and err.variant is None
    assert "missing arg:conv2_x__1_c1x1-c__bn__bn_gamma (for features.conv2_1.c1x1_c.bn.weight)" in str(err)


def _full_size(prefix: str, tmp_path: Path, drop: str | None = None) -> Path:
    arrays = random_arrays(load_manifest(prefix)["keys"], seed=5)
    arrays.pop(drop, None)
    return write_v2(tmp_path / f"{prefix}-0000.params", arrays)


def test_error_arch_mismatch_is_summarised(tmp_path: Path) -> None:
    """Issue 12 item 8: --arch dpn92 on a dpn68 file gave a 1,500-character line."""
    path = _full_size("dpn68", tmp_path)
    with pytest.raises(DPNConversionError) as info:
        convert_checkpoint(path, arch="dpn92")
    err, message = info.value, str(info.value)
    assert (err.variant, err.path) == ("dpn92", str(path))
    assert err.missing and err.mismatched and not err.unexpected  # same names, other widths and depth
    counts = f"{len(err.missing)} missing, {len(err.mismatched)} wrong shape"
    assert f"checkpoint does not fit the model: {counts}; first: missing " in message
    assert message.count("; ") == 4  # counts; three differences; the hint
    assert message.endswith("; the file looks like dpn68, 1000 classes, classifier fc6 "
                            "(assumed: dpn92, 1000 classes, classifier fc6)")
    assert len(message) < len(str(path)) + 500, message


def test_error_variant_survives_re_raising(tmp_path: Path) -> None:
    """The path is added on the way out; variant and assumed stay what the raiser set."""
    key = "aux:conv4_x__7_c3x3-b__bn__bn_moving_var"
    path = _full_size("dpn68", tmp_path, drop=key)
    with pytest.raises(DPNConversionError) as info:
        load_mxnet(path)  # inferred dpn68, then one key short
    assert (info.value.variant, info.value.path, info.value.missing) == ("dpn68", str(path), [key])
    assert str(info.value).startswith(f"{path}: checkpoint does not fit the model: 1 missing; ")
    arrays = dict(ndparse.load(FIXTURES / f"{TINY[0]}-0000.params"))
    del arrays["arg:fc6_weight"]
    path = write_v2(tmp_path / "no-fc-0000.params", arrays)
    with pytest.raises(DPNConversionError) as info:
        load_mxnet(path, arch="dpn68")  # the class count cannot be read
    err = info.value
    assert (err.variant, err.path, err.missing) == ("dpn68", str(path), ["arg:fc6_weight"])
    with pytest.raises(DPNConversionError) as info:
        infer_config({"arg:conv1_x_1__conv_weight": (10, 3, 3, 3)})  # no path: shapes only
    assert info.value.path is None and info.value.assumed.startswith("DPN(b=False, small=True, ")


def test_error_classifier_not_in_file(tmp_path: Path) -> None:
    """Issue 12 item 8: --classifier fc6-1k on a file with only fc6 said "cannot infer the variant"."""
    name = next(n for n in TINY if tiny_meta(n)["classifier"] == "fc6")
    for arch in (None, "auto"):
        with pytest.raises(DPNConversionError) as info:
            convert_checkpoint(FIXTURES / name, arch=arch, classifier="fc6-1k")
        message = str(info.value)
        assert "the classifier asked for, fc6-1k, does not fit this file: it has only fc6" in message
        assert "cannot infer" not in message and info.value.path is not None
    with pytest.raises(DPNConversionError, match="classifier must be one of fc6, fc6-1k, not fc7"):
        convert_checkpoint(FIXTURES / name, classifier="fc7")


def test_error_names_are_made_safe(tiny_arrays: dict, tmp_path: Path) -> None:
    """Control characters and huge names from a hostile file never reach a terminal raw."""
    hostile = "arg:\x1b]0;pwned\x07\x1b[2J" + "A" * 100_000 + "\n\u202e\U0001f600"
    tiny_arrays[hostile] = np.zeros(3, np.float32)
    err = _expect_error(write_v2(tmp_path / "h-0000.params", tiny_arrays), "1 unexpected",
                        "arg:\\x1b]0;pwned\\x07\\x1b[2J", f"({len(hostile):,} characters)")
    message = str(err)
    assert message.isprintable() and len(message) < 600 and err.unexpected == [hostile]
    del tiny_arrays[hostile]
    tiny_arrays["arg:fc6_bias\r\x00"] = np.zeros(3, np.float64)  # reported by the dtype check
    err = _expect_error(write_v2(tmp_path / "d-0000.params", tiny_arrays), "arg:fc6_bias\\x0d\\x00 (float64)")
    assert str(err).isprintable()
    with pytest.raises(DPNConversionError) as info:
        dpn_torch.export_to_mxnet({"\x1b[31mhead": torch.zeros(1)}, tmp_path / "x.params")
    assert str(info.value).isprintable() and "\\x1b[31mhead" in str(info.value)


def test_error_two_names_for_one_parameter(tiny_arrays: dict, tmp_path: Path) -> None:
    tiny_arrays["conv1_x_1__conv_weight"] = tiny_arrays["arg:conv1_x_1__conv_weight"]
    _expect_error(write_v2(tmp_path / "two-0000.params", tiny_arrays),
                  "two names for one parameter: arg:conv1_x_1__conv_weight and conv1_x_1__conv_weight")


def test_both_classifiers(tiny_arrays: dict, tmp_path: Path) -> None:
    tiny_arrays["arg:fc6-1k_weight"] = tiny_arrays["arg:fc6_weight"] * 2
    tiny_arrays["arg:fc6-1k_bias"] = tiny_arrays["arg:fc6_bias"] * 2
    path = write_v2(tmp_path / "two-0000.params", tiny_arrays)
    _expect_error(path, "fc6", "fc6-1k")
    model = load_mxnet(path, classifier="fc6-1k")
    assert torch.equal(model.classifier.bias, torch.from_numpy(tiny_arrays["arg:fc6-1k_bias"]))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_mxnet(tmp_path / "nothing")


def test_bare_names_accepted(tiny_arrays: dict, tmp_path: Path) -> None:
    """mx.nd.save(arg_params) without the arg:/aux: prefixes also converts."""
    bare = {k.split(":", 1)[1]: v for k, v in tiny_arrays.items()}
    model = load_mxnet(write_v2(tmp_path / "bare-0000.params", bare))
    ref = convert_checkpoint(FIXTURES / TINY[0]).state_dict
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref[k]), k


# --------------------------------------------------------------------------------------------------
# PyTorch -> MXNet
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TINY)
def test_export_round_trip_tiny(name: str, tmp_path: Path) -> None:
    meta = tiny_meta(name)
    original = ndparse.load(FIXTURES / f"{name}-0000.params")
    model = load_mxnet(FIXTURES / name)
    out = export_to_mxnet(model, tmp_path / f"{name}-0000.params", classifier=meta["classifier"])
    back = ndparse.load(out)
    assert list(back) == list(original)  # same names, same (MXNet) order
    for k, v in back.items():
        assert v.dtype == np.float32 and np.array_equal(v, original[k]), k
    again = convert_checkpoint(out).state_dict
    for k, v in model.state_dict().items():
        assert torch.equal(again[k], v), k


@pytest.mark.parametrize("b", [False, True])
def test_export_round_trip_random_model(b: bool, tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = DPN(small=False, num_init_features=16, k_r=8, groups=4, b=b, k_sec=(1, 1, 2, 1),
                inc_sec=(4, 8, 6, 16), bw_base=4, num_classes=5)
    out = export_to_mxnet(model, tmp_path / "r-0000.params")
    back = ndparse.load(out)
    assert "arg:fc6_weight" in back and back["arg:fc6_weight"].shape == (5, model.num_features)
    assert all(k.startswith("arg:") or k.startswith("aux:") for k in back)
    converted = load_mxnet(out)
    assert converted.config == model.config
    src = model.state_dict()
    assert list(converted.state_dict()) == list(src)
    for k, v in converted.state_dict().items():
        assert torch.equal(v, src[k] if not k.endswith("num_batches_tracked") else torch.tensor(0)), k


def test_export_refuses_unknown_keys(tmp_path: Path) -> None:
    sd = DPN(small=True, num_init_features=8, k_r=8, groups=4, k_sec=(1, 1, 1, 1),
             inc_sec=(4, 4, 4, 4), bw_base=8, num_classes=3).state_dict()
    sd["head.fc.weight"] = torch.zeros(3)
    with pytest.raises(DPNConversionError, match="head.fc.weight"):
        export_to_mxnet(sd, tmp_path / "x.params")
    assert not (tmp_path / "x.params").exists()


def test_fixture_copy_elsewhere(tmp_path: Path) -> None:
    """A prefix in another folder, and a path given with epoch != 0 naming."""
    shutil.copy(FIXTURES / f"{TINY[0]}-0000.params", tmp_path / "net-0003.params")
    assert load_mxnet(tmp_path / "net", epoch=3).num_classes == tiny_meta(TINY[0])["num_classes"]
