"""Dual Path Networks (Chen et al., NIPS 2017) in PyTorch.

Architecture and hyper-parameters follow the original MXNet release (cypw/DPNs, ``symbol_dpn*.py``);
module and attribute names follow the established PyTorch port (rwightman/pytorch-dpn-pretrained
``dpn.py``, identical in timm), so a ``state_dict`` made here loads there ``strict=True`` and vice versa.
See docs/DPN.md for the reference; the points most often got wrong are:

* BatchNorm ``eps=1e-3`` (MXNet's default; PyTorch's 1e-5 silently costs accuracy);
* ReLU after every BatchNorm, including the final ``conv5_bn_ac`` (old timm used ELU there);
* b networks (the dpn68b variant: the ``dpn68-extra`` / ``dpn68-5k`` checkpoints): ``c1x1_c`` is
  BN + ReLU only, followed by two separate 1x1 convs ``c1x1_c1`` (residual) and ``c1x1_c2`` (dense);
* the classifier is a 1x1 conv (so it can run on a feature map for test-time mean-max pooling).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import MODEL_CONFIGS, DPNConfig

__all__ = [
    "DPN",
    "Preprocessing",
    "PREPROCESSING",
    "DPN_MEAN",
    "DPN_STD",
    "INPUT_SIZE",
    "BN_EPS",
    "dpn68",
    "dpn68b",
    "dpn92",
    "dpn98",
    "dpn107",
    "dpn131",
]

BN_EPS = 1e-3
"""MXNet BatchNorm's default eps, used by every DPN BN (docs/DPN.md §3.1)."""

# Test-time mean-max pooling first averages 7x7 windows with stride 1 (cypw score.py, docs/DPN.md §3.2);
# a final feature map smaller than this cannot be pooled that way.
_TTP_WINDOW = 7


# ---------------------------------------------------------------------------------------------------
# Preprocessing the original MXNet models expect (docs/DPN.md §3.3)
# ---------------------------------------------------------------------------------------------------

# cypw: (pixel - [124, 117, 104]) * 0.0167 on RGB 0..255 pixels. Not the ImageNet mean/std.
_PIXEL_MEAN = (124.0, 117.0, 104.0)
_PIXEL_SCALE = 0.0167

DPN_MEAN: tuple[float, float, float] = tuple(m / 255.0 for m in _PIXEL_MEAN)  # type: ignore[assignment]
"""Per-channel mean for RGB tensors in [0, 1] (= [124, 117, 104] / 255)."""
DPN_STD: tuple[float, float, float] = (1.0 / (_PIXEL_SCALE * 255.0),) * 3  # type: ignore[assignment]
"""Per-channel std for RGB tensors in [0, 1] (= 1 / (0.0167 * 255) ≈ 0.23482)."""
INPUT_SIZE: tuple[int, int, int] = (3, 224, 224)
"""Training and plain evaluation size (C, H, W)."""


@dataclass(frozen=True)
class Preprocessing:
    """How inputs must be prepared for the original MXNet weights (RGB, not BGR)."""

    mean: tuple[float, float, float] = DPN_MEAN  # for [0, 1] RGB tensors
    std: tuple[float, float, float] = DPN_STD
    pixel_mean: tuple[float, float, float] = _PIXEL_MEAN  # for 0..255 RGB pixels
    pixel_scale: float = _PIXEL_SCALE  # (pixel - pixel_mean) * pixel_scale
    input_size: tuple[int, int, int] = INPUT_SIZE
    test_input_size: tuple[int, int, int] = (3, 320, 320)  # cypw's mean-max evaluation size
    interpolation: str = "bicubic"
    crop_pct: float = 1.0  # cypw: shorter side to crop size, then centre crop
    channel_order: str = "RGB"


PREPROCESSING = Preprocessing()
"""The preprocessing of cypw's ``score.py``; every model also carries it as ``model.preprocessing``."""


# ---------------------------------------------------------------------------------------------------
# Building blocks. Attribute names (conv, bn, act, c1x1_*, c3x3_b) are the checkpoint keys of rw/timm.
# ---------------------------------------------------------------------------------------------------


class CatBnAct(nn.Module):
    """Concatenate a (resid, dense) tuple, then BN -> ReLU (cypw ``BN_AC``)."""

    def __init__(self, in_chs: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_chs, eps=BN_EPS)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        if isinstance(x, tuple):
            x = torch.cat(x, dim=1)
        return self.act(self.bn(x))


class BnActConv2d(nn.Module):
    """Pre-activation conv: BN -> ReLU -> bias-free Conv2d (cypw ``BN_AC_Conv``)."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int, stride: int,
                 padding: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_chs, eps=BN_EPS)
        self.act = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride, padding, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.act(self.bn(x)))


class InputBlock(nn.Module):
    """Stem: Conv (stride 2) -> BN -> ReLU -> MaxPool 3x3 stride 2 (the only post-activation part)."""

    def __init__(self, num_init_features: int, kernel_size: int, padding: int, in_chans: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, num_init_features, kernel_size=kernel_size, stride=2,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(num_init_features, eps=BN_EPS)
        self.act = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.act(self.bn(self.conv(x))))


class DualPathBlock(nn.Module):
    """One DPN block: a ResNet-style residual path and a DenseNet-style dense path.

    ``block_type`` is ``"proj"`` (conv2_1: projection, stride 1), ``"down"`` (conv3_1..conv5_1:
    projection and grouped 3x3 with stride 2) or ``"normal"`` (no projection). Returns (resid, dense).
    """

    def __init__(self, in_chs: int, num_1x1_a: int, num_3x3_b: int, num_1x1_c: int, inc: int,
                 groups: int, block_type: str = "normal", b: bool = False) -> None:
        super().__init__()
        if block_type not in ("proj", "down", "normal"):
            raise ValueError(f"block_type must be 'proj', 'down' or 'normal', not {block_type!r}")
        self.num_1x1_c = num_1x1_c
        self.inc = inc
        self.b = b
        self.key_stride = 2 if block_type == "down" else 1
        self.has_proj = block_type != "normal"
        # The projection's attribute name encodes its stride, as in MXNet's c1x1-w(s/1) / c1x1-w(s/2).
        if block_type == "down":
            self.c1x1_w_s2 = BnActConv2d(in_chs, num_1x1_c + 2 * inc, 1, 2)
        elif block_type == "proj":
            self.c1x1_w_s1 = BnActConv2d(in_chs, num_1x1_c + 2 * inc, 1, 1)
        self.c1x1_a = BnActConv2d(in_chs, num_1x1_a, 1, 1)
        self.c3x3_b = BnActConv2d(num_1x1_a, num_3x3_b, 3, self.key_stride, 1, groups)
        if b:
            self.c1x1_c = CatBnAct(num_3x3_b)
            self.c1x1_c1 = nn.Conv2d(num_3x3_b, num_1x1_c, kernel_size=1, bias=False)
            self.c1x1_c2 = nn.Conv2d(num_3x3_b, inc, kernel_size=1, bias=False)
        else:
            self.c1x1_c = BnActConv2d(num_3x3_b, num_1x1_c + inc, 1, 1)

    def forward(
        self, x: torch.Tensor | tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x_in = torch.cat(x, dim=1) if isinstance(x, tuple) else x
        if self.has_proj:
            proj = self.c1x1_w_s2 if self.key_stride == 2 else self.c1x1_w_s1
            x_s = proj(x_in)
            x_s1 = x_s[:, : self.num_1x1_c]
            x_s2 = x_s[:, self.num_1x1_c :]
        else:
            assert isinstance(x, tuple), "a block without projection needs a (resid, dense) input"
            x_s1, x_s2 = x
        x_in = self.c3x3_b(self.c1x1_a(x_in))
        x_in = self.c1x1_c(x_in)
        if self.b:
            out1 = self.c1x1_c1(x_in)
            out2 = self.c1x1_c2(x_in)
        else:
            out1 = x_in[:, : self.num_1x1_c]
            out2 = x_in[:, self.num_1x1_c :]
        resid = x_s1 + out1
        dense = torch.cat([x_s2, out2], dim=1)  # old dense channels first, the new inc last
        return resid, dense


# ---------------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------------


class DPN(nn.Module):
    """A Dual Path Network; keys and layout of rw/timm ``DPN`` (``features`` + 1x1-conv ``classifier``).

    The shape parameters are those of :class:`~dpn_torch.config.DPNConfig` (kept as ``.config``).
    With ``test_time_pool=True`` and in eval mode the head is cypw's mean-max pooling (avg 7x7 stride 1
    -> classifier -> 0.5 * (global avg + global max)); when the final map is smaller than 7x7 (inputs
    below ~224) it falls back to the plain head, which it equals at exactly 7x7.
    Raises ValueError for ``k_sec``/``inc_sec`` without 4 entries or a stage without blocks.
    """

    def __init__(
        self,
        small: bool = False,
        num_init_features: int = 64,
        k_r: int = 96,
        groups: int = 32,
        b: bool = False,
        k_sec: tuple[int, ...] = (3, 4, 20, 3),
        inc_sec: tuple[int, ...] = (16, 32, 24, 128),
        num_classes: int = 1000,
        test_time_pool: bool = False,
        bw_base: int = 64,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        if len(k_sec) != 4 or len(inc_sec) != 4:
            raise ValueError(f"k_sec and inc_sec need 4 entries (conv2..conv5), got {k_sec}, {inc_sec}")
        if min(k_sec) < 1:
            raise ValueError(f"every stage needs at least one block, got k_sec={k_sec}")
        self.config = DPNConfig(small=bool(small), num_init_features=num_init_features, k_r=k_r,
                                groups=groups, b=bool(b), k_sec=tuple(k_sec), inc_sec=tuple(inc_sec),
                                num_classes=num_classes, bw_base=bw_base, in_chans=in_chans)
        self.test_time_pool = test_time_pool
        self.b = bool(b)
        self.num_classes = num_classes
        self.preprocessing = PREPROCESSING

        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        if small:
            blocks["conv1_1"] = InputBlock(num_init_features, kernel_size=3, padding=1, in_chans=in_chans)
        else:
            blocks["conv1_1"] = InputBlock(num_init_features, kernel_size=7, padding=3, in_chans=in_chans)
        in_chs = num_init_features
        for s, width in enumerate(self.config.stage_widths()):
            bw, inc, r = width["bw"], width["inc"], width["r"]
            stage = s + 2
            block_type = "proj" if stage == 2 else "down"
            blocks[f"conv{stage}_1"] = DualPathBlock(in_chs, r, r, bw, inc, groups, block_type, b)
            in_chs = bw + 3 * inc
            for i in range(2, k_sec[s] + 1):
                blocks[f"conv{stage}_{i}"] = DualPathBlock(in_chs, r, r, bw, inc, groups, "normal", b)
                in_chs += inc
        blocks["conv5_bn_ac"] = CatBnAct(in_chs)
        self.num_features = in_chs
        self.features = nn.Sequential(blocks)
        # A 1x1 conv, not a Linear: MXNet's FullyConnected fc6 weights (C, F) reshaped to (C, F, 1, 1),
        # so the classifier can slide over a feature map for test-time pooling.
        self.classifier = nn.Conv2d(in_chs, num_classes, kernel_size=1, bias=True)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The final BN-ReLU'd feature map (N, num_features, H/32, W/32)."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, num_classes) from the feature map; mean-max pooling if enabled and in eval mode."""
        if (not self.training and self.test_time_pool
                and x.shape[-2] >= _TTP_WINDOW and x.shape[-1] >= _TTP_WINDOW):
            x = F.avg_pool2d(x, kernel_size=_TTP_WINDOW, stride=1)
            x = self.classifier(x)
            x = 0.5 * (F.adaptive_avg_pool2d(x, 1) + F.adaptive_max_pool2d(x, 1))
        else:
            x = F.adaptive_avg_pool2d(x, 1)
            x = self.classifier(x)
        return x.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


# The factories: a variant's DPN, randomly initialised, in train mode. ``num_classes`` and
# ``test_time_pool`` as in DPN; other keyword arguments (e.g. ``in_chans``) override the variant's.


def _build(name: str, num_classes: int, test_time_pool: bool, **kwargs: Any) -> DPN:
    cfg = asdict(MODEL_CONFIGS[name])
    cfg.update(num_classes=num_classes, **kwargs)
    return DPN(test_time_pool=test_time_pool, **cfg)


def dpn68(num_classes: int = 1000, test_time_pool: bool = False, **kwargs: Any) -> DPN:
    """DPN-68 (12.6M params at 1000 classes): MXNet checkpoint ``dpn68``."""
    return _build("dpn68", num_classes, test_time_pool, **kwargs)


def dpn68b(num_classes: int = 1000, test_time_pool: bool = False, **kwargs: Any) -> DPN:
    """DPN-68 with b blocks: MXNet ``dpn68-extra`` (1000 classes) and ``dpn68-5k`` (num_classes=4786)."""
    return _build("dpn68b", num_classes, test_time_pool, **kwargs)


def dpn92(num_classes: int = 1000, test_time_pool: bool = False, **kwargs: Any) -> DPN:
    """DPN-92 (37.7M params): MXNet ``dpn92``, ``dpn92-extra`` and ``dpn92-5k`` (num_classes=4786)."""
    return _build("dpn92", num_classes, test_time_pool, **kwargs)


def dpn98(num_classes: int = 1000, test_time_pool: bool = False, **kwargs: Any) -> DPN:
    """DPN-98 (61.6M params): MXNet ``dpn98``."""
    return _build("dpn98", num_classes, test_time_pool, **kwargs)


def dpn107(num_classes: int = 1000, test_time_pool: bool = False, **kwargs: Any) -> DPN:
    """DPN-107 (86.9M params): MXNet ``dpn107-extra``."""
    return _build("dpn107", num_classes, test_time_pool, **kwargs)


def dpn131(num_classes: int = 1000, test_time_pool: bool = False, **kwargs: Any) -> DPN:
    """DPN-131 (79.3M params): MXNet ``dpn131``."""
    return _build("dpn131", num_classes, test_time_pool, **kwargs)
