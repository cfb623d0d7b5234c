"""MXNet-free conversion between the original MXNet DPN checkpoints (cypw/DPNs) and PyTorch.

The ``.params`` files are read and written with ``ndparse`` (numpy only; never MXNet). The whole
name translation is ONE table of reversible rules, :data:`KEY_RULES` (DPN.md §5.3): each rule is a
PyTorch key template and an MXNet key template over the same fields, so it maps in both directions
(:func:`torch_key_to_mxnet`, :func:`mxnet_key_to_torch`). Besides renaming, the only transform is the
classifier: MXNet ``fc6``/``fc6-1k`` FullyConnected (C, F) <-> PyTorch 1x1 conv (C, F, 1, 1).

Conversion is strict: every model key needs a source, every checkpoint key must be used, shapes
must agree, every array must be float32; anything else raises :class:`DPNConversionError`, whose
message names the keys and the variant the converter thought it saw. The checkpoint is validated
from ndparse's index (names, dtypes, shapes) before any weight bytes are read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ndparse

from .model import DPN, MODEL_CONFIGS, DPNConfig

__all__ = [
    "DPNConversionError",
    "KeyRule",
    "KEY_RULES",
    "CLASSIFIER_NAMES",
    "Conversion",
    "torch_key_to_mxnet",
    "mxnet_key_to_torch",
    "resolve_params_path",
    "infer_config",
    "describe_config",
    "variant_name",
    "convert_checkpoint",
    "convert_from_mxnet",
    "load_mxnet",
    "export_to_mxnet",
    "mxnet_state_dict",
    "model_from_state_dict",
]

CLASSIFIER_NAMES = ("fc6", "fc6-1k")
"""MXNet classifier names: ``fc6-1k`` in the 5k->1k fine-tuned ``-extra`` files, ``fc6`` otherwise."""

_MAX_NAMES_IN_MESSAGE = 6  # keep error messages on one readable line


class DPNConversionError(ValueError):
    """A checkpoint and a DPN do not fit together; names the keys and the variant assumed."""

    def __init__(self, message: str, *, variant: str | None = None,
                 missing: Iterable[str] = (), unexpected: Iterable[str] = (),
                 mismatched: Iterable[str] = (), path: str | os.PathLike[str] | None = None) -> None:
        self.variant = variant
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.mismatched = list(mismatched)
        self.path = os.fspath(path) if path is not None else None
        head = f"{self.path}: " if self.path else ""
        tail = f" (assumed variant: {variant})" if variant else ""
        super().__init__(f"{head}{message}{tail}")


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMES_IN_MESSAGE])
    more = len(items) - _MAX_NAMES_IN_MESSAGE
    return shown + (f", ... and {more} more" if more > 0 else "")


# ---------------------------------------------------------------------------------------------------
# The key table (DPN.md §5)
# ---------------------------------------------------------------------------------------------------

# Field vocabularies: PyTorch token -> MXNet token (bijections). S and I are copied as they are.
_MODULES = {  # BnActConv2d units, same grammar in b and non-b networks
    "c1x1_w_s1": "c1x1-w(s/1)",
    "c1x1_w_s2": "c1x1-w(s/2)",
    "c1x1_a": "c1x1-a",
    "c3x3_b": "c3x3-b",
}
_B_CONVS = {"c1x1_c1": "c1x1-c1", "c1x1_c2": "c1x1-c2"}  # the b variant's bare 1x1 convs
_BN_FIELDS = {  # nn.BatchNorm2d -> MXNet BatchNorm; gamma/beta are arg:, moving stats aux:
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_var",
}
_VOCAB: dict[str, dict[str, str]] = {"M": _MODULES, "C": _B_CONVS, "BN": _BN_FIELDS}
_FIELD_RE = {"S": r"[2-5]", "I": r"[1-9][0-9]*", "FC": "|".join(map(re.escape, CLASSIFIER_NAMES))}


def _kind(mx_bn_field: str) -> str:
    """``aux`` for BN moving statistics, ``arg`` for everything learned."""
    return "aux" if mx_bn_field.startswith("moving_") else "arg"


@dataclass(frozen=True)
class KeyRule:
    """One reversible naming rule: PyTorch template <-> MXNet template over the same fields.

    Fields: ``{S}`` stage 2..5, ``{I}`` block index, ``{M}`` BnActConv2d unit, ``{C}`` b-variant conv,
    ``{BN}`` BatchNorm field (its MXNet side also fixes ``{KIND}``: arg or aux), ``{FC}`` classifier
    name (MXNet side only). ``variant`` limits a rule to b (``"b"``) or non-b (``"plain"``) networks,
    ``transform`` names a value change (``"fc"``: (C, F) <-> (C, F, 1, 1)).
    """

    torch: str
    mxnet: str
    variant: str | None = None
    transform: str | None = None

    def _regex(self, side: str) -> re.Pattern[str]:
        template = self.torch if side == "torch" else self.mxnet
        out, pos = [], 0
        for m in re.finditer(r"\{([A-Z]+)\}", template):
            out.append(re.escape(template[pos:m.start()]))
            name = m.group(1)
            if name == "KIND":
                pattern = "arg|aux"
            elif name in _VOCAB:
                vocab = _VOCAB[name]
                tokens = vocab.keys() if side == "torch" else vocab.values()
                pattern = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
            else:
                pattern = _FIELD_RE[name]
            out.append(f"(?P<{name}>{pattern})")
            pos = m.end()
        out.append(re.escape(template[pos:]))
        return re.compile("".join(out) + r"\Z")

    def applies_to(self, b: bool) -> bool:
        """Whether the rule belongs to a b (True) or non-b (False) network."""
        return self.variant is None or self.variant == ("b" if b else "plain")

    def to_mxnet(self, torch_key: str, classifier: str = "fc6") -> str | None:
        """The MXNet key for ``torch_key``, or None if this rule does not match it."""
        m = _compiled(self)[0].match(torch_key)
        if m is None:
            return None
        fields = {k: (_VOCAB[k][v] if k in _VOCAB else v) for k, v in m.groupdict().items()}
        if "BN" in fields:
            fields["KIND"] = _kind(fields["BN"])
        fields["FC"] = classifier
        return self.mxnet.format(**fields)

    def to_torch(self, mxnet_key: str) -> str | None:
        """The PyTorch key for ``mxnet_key``, or None if this rule does not match it."""
        m = _compiled(self)[1].match(mxnet_key)
        if m is None:
            return None
        got = m.groupdict()
        if "KIND" in got and got["KIND"] != _kind(got["BN"]):  # e.g. "arg:..._moving_mean"
            return None
        inverse = {k: {v: t for t, v in vocab.items()} for k, vocab in _VOCAB.items()}
        fields = {k: (inverse[k][v] if k in inverse else v) for k, v in got.items()}
        return self.torch.format(**fields)


_COMPILED: dict[KeyRule, tuple[re.Pattern[str], re.Pattern[str]]] = {}


def _compiled(rule: KeyRule) -> tuple[re.Pattern[str], re.Pattern[str]]:
    if rule not in _COMPILED:
        _COMPILED[rule] = (rule._regex("torch"), rule._regex("mxnet"))
    return _COMPILED[rule]


_P = "features.conv{S}_{I}."
_Q = "conv{S}_x__{I}_"  # MXNet block prefix: two underscores before I, one after
KEY_RULES: tuple[KeyRule, ...] = (
    # stem: Conv -> BN (named "relu-sp" in MXNet, single __bn)
    KeyRule("features.conv1_1.conv.weight", "arg:conv1_x_1__conv_weight"),
    KeyRule("features.conv1_1.bn.{BN}", "{KIND}:conv1_x_1__relu-sp__bn_{BN}"),
    # BN_AC_Conv units: the BatchNorm is named "<unit>__bn", so its keys read "__bn__bn_"
    KeyRule(_P + "{M}.bn.{BN}", "{KIND}:" + _Q + "{M}__bn__bn_{BN}"),
    KeyRule(_P + "{M}.conv.weight", "arg:" + _Q + "{M}__conv_weight"),
    # c1x1_c, non-b: one more BN_AC_Conv unit
    KeyRule(_P + "c1x1_c.bn.{BN}", "{KIND}:" + _Q + "c1x1-c__bn__bn_{BN}", variant="plain"),
    KeyRule(_P + "c1x1_c.conv.weight", "arg:" + _Q + "c1x1-c__conv_weight", variant="plain"),
    # c1x1_c, b: BN_AC only (single "__bn_"), then two bare 1x1 convs
    KeyRule(_P + "c1x1_c.bn.{BN}", "{KIND}:" + _Q + "c1x1-c__bn_{BN}", variant="b"),
    KeyRule(_P + "{C}.weight", "arg:" + _Q + "{C}__conv_weight", variant="b"),
    # final BN-ReLU over cat(resid, dense)
    KeyRule("features.conv5_bn_ac.bn.{BN}", "{KIND}:conv5_x_x__relu-sp__bn_{BN}"),
    # classifier: FullyConnected (C, F) <-> 1x1 conv (C, F, 1, 1)
    KeyRule("classifier.weight", "arg:{FC}_weight", transform="fc"),
    KeyRule("classifier.bias", "arg:{FC}_bias"),
)
"""The complete PyTorch <-> MXNet key mapping. ``num_batches_tracked`` has no source (set to 0)."""

_NO_SOURCE_SUFFIX = ".num_batches_tracked"


def torch_key_to_mxnet(torch_key: str, *, b: bool, classifier: str = "fc6") -> str | None:
    """MXNet name of a PyTorch DPN key (None for ``num_batches_tracked`` and unknown keys)."""
    for rule in KEY_RULES:
        if rule.applies_to(b):
            key = rule.to_mxnet(torch_key, classifier)
            if key is not None:
                return key
    return None


def mxnet_key_to_torch(mxnet_key: str) -> tuple[str, KeyRule] | None:
    """PyTorch key of an MXNet DPN key and the rule used, or None if no rule matches."""
    for rule in KEY_RULES:
        key = rule.to_torch(mxnet_key)
        if key is not None:
            return key, rule
    return None


def _to_torch_shape(rule: KeyRule, shape: tuple[int, ...]) -> tuple[int, ...]:
    return (*shape, 1, 1) if rule.transform == "fc" and len(shape) == 2 else shape


# ---------------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------------


def variant_name(cfg: DPNConfig) -> str | None:
    """The published name (``dpn68b``, ...) of a configuration, ignoring the class count."""
    for name, known in MODEL_CONFIGS.items():
        if known.with_classes(cfg.num_classes) == cfg:
            return name
    return None


def describe_config(cfg: DPNConfig, classifier: str | None = None) -> str:
    """A short human-readable description: name or hyper-parameters, classes, classifier name."""
    name = variant_name(cfg)
    if name is None:
        name = (f"custom DPN(small={cfg.small}, b={cfg.b}, num_init_features={cfg.num_init_features}, "
                f"k_r={cfg.k_r}, groups={cfg.groups}, k_sec={tuple(cfg.k_sec)}, "
                f"inc_sec={tuple(cfg.inc_sec)}, bw_base={cfg.bw_base})")
    text = f"{name}, {cfg.num_classes} classes"
    return text + (f", classifier {classifier}" if classifier else "")


def _config_of(model: torch.nn.Module) -> DPNConfig | None:
    cfg = getattr(model, "config", None)
    return cfg if isinstance(cfg, DPNConfig) else None


def _is_b(torch_keys: Iterable[str]) -> bool:
    return any(k.endswith(".c1x1_c1.weight") for k in torch_keys)


def infer_config(shapes: Mapping[str, tuple[int, ...]],
                 classifier: str | None = None) -> tuple[DPNConfig, str]:
    """Infer the network and the classifier name from MXNet key -> shape alone (DPN.md §4).

    Reads the stem (init channels, kernel: 3 = small, 7 = large), per stage the block count, the
    bottleneck width r (k_r = r of conv2, G = r / in-per-group of the 3x3), bw and inc from the
    projection and c1x1-c widths (bw_base = bw of conv2 / (1 if small else 4)), b from the presence
    of ``c1x1-c1``, and the classes from the classifier. Everything else is checked by the strict
    key-by-key conversion.
    """
    found: dict[str, Any] = {}

    def need(key: str, ndim: int) -> tuple[int, ...]:
        if key not in shapes:
            if not found:
                raise DPNConversionError(
                    f"not a DPN checkpoint: no {key!r}; its keys start "
                    f"{_names(sorted(shapes)[:3]) if shapes else '(no arrays)'}")
            raise DPNConversionError(f"cannot infer the DPN variant: missing key {key}",
                                     variant=_partial(found), missing=[key])
        shape = tuple(shapes[key])
        if len(shape) != ndim:
            raise DPNConversionError(
                f"cannot infer the DPN variant: {key} has shape {shape}, expected {ndim} dims",
                variant=_partial(found), mismatched=[key])
        return shape

    def fail(message: str) -> DPNConversionError:
        return DPNConversionError(f"cannot infer the DPN variant: {message}", variant=_partial(found))

    out_ch, in_chans, kh, kw = need("arg:conv1_x_1__conv_weight", 4)
    if kh != kw or kh not in (3, 7):
        raise fail(f"stem kernel is {kh}x{kw}; DPNs use 3x3 (small) or 7x7")
    small = kh == 3
    found.update(small=small, num_init_features=out_ch)
    b = any(k.endswith("_c1x1-c1__conv_weight") for k in shapes)
    found["b"] = b

    k_sec, inc_sec, bws, rs, groups = [], [], [], [], []
    for s, stage in enumerate(range(2, 6)):
        pattern = re.compile(rf"arg:conv{stage}_x__([1-9][0-9]*)_c1x1-a__conv_weight\Z")
        indices = sorted(int(m.group(1)) for k in shapes if (m := pattern.match(k)))
        if not indices:
            need(f"arg:conv{stage}_x__1_c1x1-a__conv_weight", 4)
        if indices != list(range(1, len(indices) + 1)):
            gaps = sorted(set(range(1, indices[-1] + 1)) - set(indices))
            raise DPNConversionError(
                f"cannot infer the DPN variant: conv{stage} blocks {gaps} are missing",
                variant=_partial(found),
                missing=[f"arg:conv{stage}_x__{i}_c1x1-a__conv_weight" for i in gaps])
        k_sec.append(len(indices))
        pre = f"arg:conv{stage}_x__1_"
        r = need(pre + "c1x1-a__conv_weight", 4)[0]
        r3, per_group = need(pre + "c3x3-b__conv_weight", 4)[:2]
        if per_group <= 0 or r3 % per_group:
            raise fail(f"conv{stage} grouped 3x3 has shape {shapes[pre + 'c3x3-b__conv_weight']}")
        groups.append(r3 // per_group)
        rs.append(r)
        proj = need(pre + ("c1x1-w(s/1)" if stage == 2 else "c1x1-w(s/2)") + "__conv_weight", 4)[0]
        if b:
            bw = need(pre + "c1x1-c1__conv_weight", 4)[0]
            inc = need(pre + "c1x1-c2__conv_weight", 4)[0]
        else:
            c = need(pre + "c1x1-c__conv_weight", 4)[0]
            inc = proj - c
            bw = c - inc
        bws.append(bw)
        inc_sec.append(inc)
        found.update(k_sec=tuple(k_sec), inc_sec=tuple(inc_sec), bw=tuple(bws), r=tuple(rs),
                     groups=tuple(groups))

    k_r = rs[0]
    if rs != [k_r * 2**s for s in range(4)]:
        raise fail(f"bottleneck widths r per stage {rs} are not k_r * 2**s")
    if len(set(groups)) != 1:
        raise fail(f"group counts differ between stages: {groups}")
    bw_factor = 1 if small else 4
    bw_base = bws[0] // bw_factor
    if bws != [bw_base * 2**s * bw_factor for s in range(4)] or bw_base <= 0 or min(inc_sec) <= 0:
        raise fail(f"residual widths bw {bws} / dense increments {inc_sec} are not a DPN's")

    names = [n for n in CLASSIFIER_NAMES if f"arg:{n}_weight" in shapes]
    if classifier is not None:
        if classifier not in CLASSIFIER_NAMES:
            raise fail(f"classifier must be one of {CLASSIFIER_NAMES}, not {classifier!r}")
        names = [classifier]
    elif len(names) > 1:
        raise fail("both fc6 and fc6-1k classifiers are present; choose one with classifier=...")
    elif not names:
        need("arg:fc6_weight", 2)
    fc = names[0]
    num_classes = need(f"arg:{fc}_weight", 2)[0]
    cfg = DPNConfig(small=small, num_init_features=out_ch, k_r=k_r, groups=groups[0], b=b,
                    k_sec=(k_sec[0], k_sec[1], k_sec[2], k_sec[3]),
                    inc_sec=(inc_sec[0], inc_sec[1], inc_sec[2], inc_sec[3]),
                    num_classes=num_classes, bw_base=bw_base, in_chans=in_chans)
    return cfg, fc


def _partial(found: Mapping[str, Any]) -> str:
    return "DPN(" + ", ".join(f"{k}={v}" for k, v in found.items()) + ", ...)" if found else "unknown"


# ---------------------------------------------------------------------------------------------------
# Reading and matching
# ---------------------------------------------------------------------------------------------------


def resolve_params_path(prefix_or_path: str | os.PathLike[str], epoch: int = 0) -> Path:
    """``<prefix>-<epoch:04d>.params``, or the argument itself when it names an existing file.

    Raises FileNotFoundError when neither exists (ndparse's rule, re-exported for convenience).
    """
    return Path(ndparse.resolve_params_path(prefix_or_path, epoch))


@dataclass
class _Index:
    path: Path
    shapes: dict[str, tuple[int, ...]]  # normalised MXNet key -> shape
    stored: dict[str, str]  # normalised key -> name as stored
    container: str
    record_versions: tuple[int, ...]
    layout: str


def _normalise(name: str) -> str:
    """Accept bare MXNet names (``mx.nd.save(arg_params)``) by adding the ``arg:``/``aux:`` prefix."""
    if name.startswith(("arg:", "aux:")):
        return name
    return ("aux:" if "_moving_" in name else "arg:") + name


def _read_index(path: Path) -> _Index:
    """Names, shapes and dtypes from ndparse's index; refuses non-dense and non-float32 arrays."""
    with ndparse.open(path) as reader:
        keys = list(reader.keys())
        infos = [reader.info(k) for k in keys]
        container, versions, layout = reader.container, reader.record_versions, reader.layout
    if not keys or not all(isinstance(k, str) for k in keys):
        raise DPNConversionError("not a DPN checkpoint: the file stores no array names", path=path)
    shapes: dict[str, tuple[int, ...]] = {}
    stored: dict[str, str] = {}
    bad_type: list[str] = []
    bad_keys: list[str] = []
    duplicate: list[str] = []
    for key, info in zip(keys, infos):
        norm = _normalise(key)
        if norm in stored:
            duplicate.append(key)
        stored[norm] = key
        dtype = None if info.dtype is None else np.dtype(info.dtype)
        if info.stype != "default" or dtype is None or dtype.kind != "f" or dtype.itemsize != 4:
            kind = info.stype if info.stype != "default" else (dtype.name if dtype is not None else "none")
            bad_type.append(f"{key} ({kind})")
            bad_keys.append(key)
        shapes[norm] = tuple(info.shape or ())
    if duplicate:
        raise DPNConversionError(f"duplicate keys: {_names(duplicate)}", path=path, unexpected=duplicate)
    if bad_type:
        raise DPNConversionError(
            f"only dense float32 arrays can be converted; found {len(bad_type)} other(s): {_names(bad_type)}",
            path=path, mismatched=bad_keys)
    return _Index(path, shapes, stored, container, versions, layout)


def _match(index: _Index, expected: Mapping[str, tuple[int, ...]], *, b: bool,
           classifier: str | None, variant: str) -> dict[str, tuple[str, KeyRule]]:
    """torch key -> (normalised MXNet key, rule) for every expected key; raises on any mismatch."""
    plan: dict[str, tuple[str, KeyRule]] = {}
    unexpected, mismatched = [], []
    for mx_key, shape in index.shapes.items():
        hit = mxnet_key_to_torch(mx_key)
        if hit is None or not hit[1].applies_to(b) or hit[0] not in expected:
            unexpected.append(index.stored[mx_key])
            continue
        torch_key, rule = hit
        if "{FC}" in rule.mxnet:  # classifier: fc6 or fc6-1k
            fc = mx_key[len("arg:"):].rsplit("_", 1)[0]
            if classifier is not None and fc != classifier:
                continue  # the other classifier, explicitly not chosen
            if classifier is None and torch_key in plan:  # fc6 and fc6-1k both present
                unexpected.append(index.stored[mx_key])
                continue
        want = tuple(expected[torch_key])
        got = _to_torch_shape(rule, shape)
        if got != want:
            mismatched.append(f"{index.stored[mx_key]} {tuple(shape)} for {torch_key} {want}")
        plan[torch_key] = (mx_key, rule)
    missing = []
    for torch_key in expected:
        if torch_key.endswith(_NO_SOURCE_SUFFIX) or torch_key in plan:
            continue
        mx_key = torch_key_to_mxnet(torch_key, b=b, classifier=classifier or "fc6")
        missing.append(f"{mx_key} (for {torch_key})" if mx_key else f"(no rule for {torch_key})")
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {_names(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)}: {_names(unexpected)}")
        if mismatched:
            parts.append(f"wrong shape {len(mismatched)}: {_names(mismatched)}")
        raise DPNConversionError("checkpoint does not match the model; " + "; ".join(parts),
                                 variant=variant, missing=missing, unexpected=unexpected,
                                 mismatched=mismatched, path=index.path)
    return plan


def _tensor(array: np.ndarray) -> torch.Tensor:
    """Wrap without copying; copy once only if torch cannot use the memory as it is."""
    if array.dtype != np.float32:  # non-native byte order (hand-made npy)
        array = array.astype(np.float32)
    elif not (array.flags.writeable and array.flags.aligned):
        array = array.copy()
    return torch.from_numpy(array)


def _expected_shapes(cfg: DPNConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = DPN(**asdict(cfg))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@dataclass
class Conversion:
    """A converted checkpoint: the PyTorch state_dict and what was found in the file."""

    state_dict: dict[str, torch.Tensor]
    config: DPNConfig
    classifier: str
    path: Path
    container: str
    record_versions: tuple[int, ...]
    record_layout: str  # e.g. "legacy container, V0 records"
    num_arrays: int
    num_params: int = field(default=0)  # learned parameters (no BN running statistics)

    @property
    def variant(self) -> str:
        """Description of the network, e.g. ``dpn68b, 1000 classes, classifier fc6-1k``."""
        return describe_config(self.config, self.classifier)


def convert_checkpoint(path_or_prefix: str | os.PathLike[str], *, epoch: int = 0,
                       arch: str | None = None, classifier: str | None = None) -> Conversion:
    """Read an MXNet DPN checkpoint into a complete PyTorch state_dict (rw/timm keys and order).

    The variant is inferred from the file unless ``arch`` names one (``dpn68``...; the class count
    still comes from the file). Tensors share memory with the arrays read (no second copy).
    """
    path = resolve_params_path(path_or_prefix, epoch)
    index = _read_index(path)
    if arch is None or arch == "auto":
        try:
            cfg, fc = infer_config(index.shapes, classifier)
        except DPNConversionError as exc:
            raise DPNConversionError(exc.args[0], missing=exc.missing, unexpected=exc.unexpected,
                                     mismatched=exc.mismatched, path=path) from None
    else:
        if arch not in MODEL_CONFIGS:
            raise DPNConversionError(f"unknown arch {arch!r}; choose from {', '.join(MODEL_CONFIGS)}",
                                     path=path)
        present = [n for n in CLASSIFIER_NAMES if f"arg:{n}_weight" in index.shapes]
        fc = classifier or (present[-1] if present else "fc6")
        if f"arg:{fc}_weight" not in index.shapes or len(index.shapes[f"arg:{fc}_weight"]) != 2:
            raise DPNConversionError(f"no classifier arg:{fc}_weight (C, F) found", variant=arch,
                                     path=path, missing=[f"arg:{fc}_weight"])
        cfg = MODEL_CONFIGS[arch].with_classes(index.shapes[f"arg:{fc}_weight"][0])
    try:
        expected = _expected_shapes(cfg)
    except (ValueError, RuntimeError) as exc:  # e.g. widths not divisible by groups
        raise DPNConversionError(f"the inferred network cannot be built: {exc}",
                                 variant=describe_config(cfg, fc), path=path) from exc
    plan = _match(index, expected, b=cfg.b, classifier=classifier,
                  variant=describe_config(cfg, fc))

    arrays = ndparse.load(path, mmap=False)
    if not isinstance(arrays, Mapping):
        raise DPNConversionError("not a DPN checkpoint: the file stores no array names", path=path)
    by_norm = {_normalise(k): k for k in arrays}
    state_dict: dict[str, torch.Tensor] = {}
    for torch_key, shape in expected.items():
        if torch_key.endswith(_NO_SOURCE_SUFFIX):
            state_dict[torch_key] = torch.tensor(0, dtype=torch.int64)
            continue
        mx_key, _rule = plan[torch_key]
        array = arrays[by_norm[mx_key]]
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f" or array.dtype.itemsize != 4:
            raise DPNConversionError(f"{mx_key} is not a dense float32 array", path=path,
                                     mismatched=[mx_key])
        state_dict[torch_key] = _tensor(array).reshape(shape)
    del arrays, by_norm
    num_params = sum(t.numel() for k, t in state_dict.items()
                     if not k.endswith((_NO_SOURCE_SUFFIX, ".running_mean", ".running_var")))
    return Conversion(state_dict, cfg, fc, path, index.container, index.record_versions, index.layout,
                      len(index.shapes), num_params)


def _build_meta(cfg: DPNConfig, test_time_pool: bool) -> DPN:
    with torch.device("meta"):
        return DPN(test_time_pool=test_time_pool, **asdict(cfg))


def model_from_state_dict(state_dict: Mapping[str, torch.Tensor], cfg: DPNConfig,
                          test_time_pool: bool = False) -> DPN:
    """A DPN whose tensors ARE those of ``state_dict`` (assigned, not copied), in eval mode."""
    model = _build_meta(cfg, test_time_pool)
    model.load_state_dict(state_dict, strict=True, assign=True)
    return model.eval()


def load_mxnet(path_or_prefix: str | os.PathLike[str], *, test_time_pool: bool = False,
               epoch: int = 0, arch: str | None = None, classifier: str | None = None) -> DPN:
    """Build the DPN a checkpoint describes (variant inferred from the file), loaded, in eval mode."""
    conv = convert_checkpoint(path_or_prefix, epoch=epoch, arch=arch, classifier=classifier)
    return model_from_state_dict(conv.state_dict, conv.config, test_time_pool)


def convert_from_mxnet(model: torch.nn.Module, checkpoint_prefix: str | os.PathLike[str],
                       epoch: int = 0, *, classifier: str | None = None) -> torch.nn.Module:
    """Fill ``model`` (a DPN with rw/timm keys) from ``<prefix>-<epoch:04d>.params`` and return it.

    Strict: raises :class:`DPNConversionError` on any missing, unexpected or wrongly shaped key.
    Weights are copied straight from the file's memory map into the model's own tensors.
    """
    path = resolve_params_path(checkpoint_prefix, epoch)
    index = _read_index(path)
    target = model.state_dict(keep_vars=True)
    b = _is_b(target)
    cfg = _config_of(model)
    variant = (describe_config(cfg) if cfg is not None else
               f"{type(model).__name__} with {'b' if b else 'non-b'} blocks")
    expected = {k: tuple(v.shape) for k, v in target.items()}
    plan = _match(index, expected, b=b, classifier=classifier, variant=variant)

    if any(t.is_meta for t in target.values()):  # nothing to copy into: adopt the file's arrays
        conv_sd = {}
        arrays = ndparse.load(path, mmap=False)
        by_norm = {_normalise(k): k for k in arrays}
        for key, t in target.items():
            conv_sd[key] = (torch.zeros((), dtype=torch.int64) if key.endswith(_NO_SOURCE_SUFFIX)
                            else _tensor(arrays[by_norm[plan[key][0]]]).reshape(t.shape))
        model.load_state_dict(conv_sd, strict=True, assign=True)
        return model

    arrays = ndparse.load(path, mmap=True)  # read-only views: copied once, into the model
    by_norm = {_normalise(k): k for k in arrays}
    with torch.no_grad():
        for key, t in target.items():
            if key.endswith(_NO_SOURCE_SUFFIX):
                t.zero_()
                continue
            src = np.asarray(arrays[by_norm[plan[key][0]]]).reshape(tuple(t.shape))
            if t.device.type == "cpu" and t.dtype == torch.float32:
                np.copyto(t.detach().numpy(), src)
            else:
                t.copy_(torch.from_numpy(np.array(src, dtype=np.float32)))
    return model


# ---------------------------------------------------------------------------------------------------
# PyTorch -> MXNet
# ---------------------------------------------------------------------------------------------------


def mxnet_state_dict(model_or_state_dict: torch.nn.Module | Mapping[str, torch.Tensor], *,
                     classifier: str = "fc6") -> dict[str, np.ndarray]:
    """The MXNet checkpoint arrays of a PyTorch DPN: ``arg:`` keys then ``aux:`` keys, float32."""
    if classifier not in CLASSIFIER_NAMES:
        raise ValueError(f"classifier must be one of {CLASSIFIER_NAMES}, not {classifier!r}")
    sd = (model_or_state_dict.state_dict() if isinstance(model_or_state_dict, torch.nn.Module)
          else dict(model_or_state_dict))
    b = _is_b(sd)
    args: dict[str, np.ndarray] = {}
    aux: dict[str, np.ndarray] = {}
    unknown, bad_type = [], []
    for key, tensor in sd.items():
        if key.endswith(_NO_SOURCE_SUFFIX):
            continue
        mx_key = torch_key_to_mxnet(key, b=b, classifier=classifier)
        if mx_key is None:
            unknown.append(key)
            continue
        if tensor.dtype != torch.float32:
            bad_type.append(f"{key} ({tensor.dtype})")
            continue
        array = tensor.detach().cpu().contiguous().numpy()
        if mx_key.startswith(f"arg:{classifier}_weight"):
            array = array.reshape(array.shape[0], -1)
        (aux if mx_key.startswith("aux:") else args)[mx_key] = array
    variant = f"{'b' if b else 'non-b'} DPN state_dict"
    if unknown:
        raise DPNConversionError(f"keys without an MXNet name: {_names(unknown)}",
                                 variant=variant, unexpected=unknown)
    if bad_type:
        raise DPNConversionError(f"only float32 tensors can be exported: {_names(bad_type)}",
                                 variant=variant, mismatched=bad_type)
    return {**args, **aux}


def export_to_mxnet(model: torch.nn.Module | Mapping[str, torch.Tensor],
                    path: str | os.PathLike[str], *, classifier: str = "fc6") -> Path:
    """Write a PyTorch DPN as an MXNet ``.params`` checkpoint (ndparse writer, V2 records).

    The classifier is stored as ``fc6`` (C, F) unless ``classifier="fc6-1k"``. Returns the path.
    """
    arrays = mxnet_state_dict(model, classifier=classifier)
    ndparse.save(path, arrays)
    return Path(path)
