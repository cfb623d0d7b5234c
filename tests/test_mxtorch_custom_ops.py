"""Issue 22.6: users supply converters for ops mxtorch lacks (Custom by op_type, unknown ops), in the
built-in converter form (mxtorch.Lowered, mxtorch.attrs); the docs example runs as written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import mxtorch
import ndparse
from mxtorch import attrs as A

ROOT = Path(__file__).resolve().parent.parent


def _graph() -> str:
    """conv -> Custom(op_type=proposal_like) -> UnknownOp, as a Faster R-CNN export with its Python
    proposal layer would look (tiny)."""
    nodes = [
        {"op": "null", "name": "data", "inputs": []},
        {"op": "null", "name": "c_weight", "inputs": []},
        {"op": "Convolution", "name": "c", "inputs": [[0, 0, 0], [1, 0, 0]],
         "attrs": {"kernel": "(1, 1)", "num_filter": "4", "no_bias": "True"}},
        {"op": "Custom", "name": "rois", "inputs": [[2, 0, 0]],
         "attrs": {"op_type": "proposal_like", "rpn_post_nms_top_n": "3", "threshold": "0.7"}},
        {"op": "UnknownOp", "name": "unk", "inputs": [[3, 0, 0]], "attrs": {"power": "2"}},
    ]
    return json.dumps({"nodes": nodes, "arg_nodes": [0, 1], "heads": [[4, 0, 0], [3, 1, 0]],
                       "attrs": {"mxnet_version": ["int", 10901]}})


def top_scores(x: torch.Tensor, *, k: int, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Two outputs: the k largest channel-means per image, and how many exceed ``threshold``."""
    means = x.mean(dim=(2, 3))
    top = torch.topk(means, k, dim=1).values
    return top, (top > threshold).sum(dim=1, keepdim=True).to(x.dtype)


def power(x: torch.Tensor, *, p: int) -> torch.Tensor:
    return x ** p


def conv_proposal(node: mxtorch.ops._registry.Node) -> mxtorch.Lowered:
    k = A.req_int(node, "rpn_post_nms_top_n")
    if k < 1:
        raise A.unsupported(node, f"rpn_post_nms_top_n={k}", ["rpn_post_nms_top_n >= 1"])
    return mxtorch.Lowered(top_scores, {"k": k, "threshold": A.num(node, "threshold")}, num_outputs=2)


def conv_unknown(node: mxtorch.ops._registry.Node) -> mxtorch.Lowered:
    return mxtorch.Lowered(power, {"p": A.req_int(node, "power")})


WEIGHT = np.arange(12, dtype=np.float32).reshape(4, 3, 1, 1) / 10


def _want(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.nn.functional.conv2d(x, torch.from_numpy(WEIGHT))
    top, n = top_scores(y, k=3, threshold=0.7)
    return top ** 2, n


@pytest.fixture
def registered() -> Iterator[None]:
    mxtorch.register_op("Custom", op_type="proposal_like")(conv_proposal)
    mxtorch.register_op("UnknownOp")(conv_unknown)
    yield
    mxtorch.unregister_op("Custom", op_type="proposal_like")
    mxtorch.unregister_op("UnknownOp")


def test_without_converters_both_ops_are_named() -> None:
    with pytest.raises(mxtorch.UnsupportedOpError) as info:
        mxtorch.from_symbol(_graph(), {"c_weight": WEIGHT}, {})
    assert set(info.value.missing) == {"Custom:proposal_like", "UnknownOp"}


def test_register_op_runs_the_graph(registered: None, tmp_path: Path) -> None:
    assert mxtorch.registered_ops() == ("Custom:proposal_like", "UnknownOp")
    (tmp_path / "m-symbol.json").write_text(_graph())
    ndparse.save(tmp_path / "m-0000.params", {"arg:c_weight": WEIGHT})
    model = mxtorch.load(tmp_path / "m")
    x = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    got = model(x)
    for g, w in zip(got, _want(x)):
        torch.testing.assert_close(g, w)
    program = torch.export.export(model, (x,))  # the user's run-time functions trace like built-in ones
    for g, w in zip(program.module()(x), _want(x)):
        torch.testing.assert_close(g, w)


def test_converters_argument_for_one_load() -> None:
    convs = {"Custom:proposal_like": conv_proposal, "UnknownOp": conv_unknown}
    model = mxtorch.from_symbol(_graph(), {"c_weight": WEIGHT}, {}, converters=convs)
    x = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(model(x)[0], _want(x)[0])
    assert mxtorch.registered_ops() == ()  # nothing left behind for other loads


def test_a_user_converter_refuses_with_the_node_named() -> None:
    g = _graph().replace('"rpn_post_nms_top_n": "3"', '"rpn_post_nms_top_n": "0"')
    with pytest.raises(mxtorch.UnsupportedOpError, match=r"node 'rois'.*rpn_post_nms_top_n=0"):
        mxtorch.from_symbol(g, {"c_weight": WEIGHT}, {},
                            converters={"Custom:proposal_like": conv_proposal, "UnknownOp": conv_unknown})


def test_registration_mistakes_are_refused() -> None:
    with pytest.raises(ValueError, match="op_type"):
        mxtorch.register_op("Custom")
    with pytest.raises(ValueError, match="already has a converter"):
        mxtorch.register_op("Pooling")(conv_unknown)
    with pytest.raises(ValueError, match="Custom:<op_type>"):
        mxtorch.from_symbol(_graph(), {"c_weight": WEIGHT}, {}, converters={"Custom": conv_proposal})


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "docs" / "CUSTOM_OPS.md").read_text(encoding="utf-8")
    code = text.split("<!-- example: custom-ops -->\n```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/CUSTOM_OPS.md", "exec"), {"__name__": "custom_ops_example"})
    assert capsys.readouterr().out.strip() == "tensor([[1.6180, 4.2361]])"
    assert mxtorch.registered_ops() == ()
