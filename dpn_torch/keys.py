"""The PyTorch <-> MXNet key table of DPN checkpoints, and what a checkpoint's keys say (no torch).

The whole name translation is ONE table of reversible rules, :data:`KEY_RULES` (docs/DPN.md §5):
each rule is a PyTorch key template and an MXNet key template over the same fields, so it maps in
both directions (:func:`torch_key_to_mxnet`, :func:`mxnet_key_to_torch`). The table also carries
what is not renaming: which keys are MXNet ``aux:`` states (their template says so), which belong
to b or non-b networks only, the classifier name (``fc6`` or ``fc6-1k``, a field of its MXNet
template) and its one value change, FullyConnected (C, F) <-> 1x1 conv (C, F, 1, 1). The ``arg:`` /
``aux:`` prefix is optional on input, as ``mx.nd.save(arg_params)`` writes bare names.

Everything else here is written in terms of that table: a checkpoint's names are translated once
(:func:`translate`), and the configuration is inferred from the translated keys (:func:`infer_config`),
and a checkpoint is matched against a model's keys and shapes (:func:`plan`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .config import (
    CLASSIFIER_NAMES,
    MODEL_CONFIGS,
    DPNConfig,
    DPNConversionError,
    name_list,
    safe_name,
)

__all__ = ["KEY_RULES", "KeyMatch", "KeyRule", "infer_config", "mxnet_key_to_torch", "torch_key_to_mxnet"]

# Field vocabularies: PyTorch token -> MXNet token (bijections). S and I are copied as they are.
_VOCAB: dict[str, dict[str, str]] = {
    "M": {  # BnActConv2d units, same grammar in b and non-b networks
        "c1x1_w_s1": "c1x1-w(s/1)",
        "c1x1_w_s2": "c1x1-w(s/2)",
        "c1x1_a": "c1x1-a",
        "c3x3_b": "c3x3-b",
    },
    "C": {"c1x1_c1": "c1x1-c1", "c1x1_c2": "c1x1-c2"},  # the bare 1x1 convs of b networks
    "BN": {"weight": "gamma", "bias": "beta"},  # learned BatchNorm fields (arg:)
    "STAT": {"running_mean": "moving_mean", "running_var": "moving_var"},  # BN statistics (aux:)
}
_INVERSE = {field: {mx: pt for pt, mx in vocab.items()} for field, vocab in _VOCAB.items()}
_FIELD_RE = {"S": r"[2-5]", "I": r"[1-9][0-9]*", "FC": "|".join(map(re.escape, CLASSIFIER_NAMES))}
_KINDS = ("arg:", "aux:")

NO_SOURCE_SUFFIX = ".num_batches_tracked"
"""PyTorch keys without an MXNet source; a converter sets them to int64 0 (docs/DPN.md §6)."""


@dataclass(frozen=True)
class KeyRule:
    """One reversible naming rule: PyTorch template <-> MXNet template over the same fields.

    Fields: ``{S}`` stage 2..5, ``{I}`` block index, ``{M}`` BnActConv2d unit, ``{C}`` b-network conv,
    ``{BN}`` learned BatchNorm field, ``{STAT}`` BatchNorm statistic, ``{FC}`` classifier name
    (MXNet side only). The MXNet template starts with its kind, ``arg:`` or ``aux:``. ``b`` limits
    the rule to b (True) or non-b (False) networks; ``transform="fc"`` marks the classifier weight,
    (C, F) in MXNet and (C, F, 1, 1) in PyTorch.
    """

    torch: str
    mxnet: str
    b: bool | None = None
    transform: str | None = None

    @property
    def kind(self) -> str:
        """``"arg"`` (learned) or ``"aux"`` (BatchNorm statistics)."""
        return self.mxnet[:3]

    def applies_to(self, b: bool) -> bool:
        """Whether the rule belongs to a b (True) or non-b (False) network."""
        return self.b is None or self.b == b

    def to_mxnet(self, torch_key: str, classifier: str = "fc6") -> str | None:
        """The MXNet key for ``torch_key``, or None if this rule does not match it."""
        m = _compiled(self)[0].match(torch_key)
        if m is None:
            return None
        fields = {k: (_VOCAB[k][v] if k in _VOCAB else v) for k, v in m.groupdict().items()}
        return self.mxnet.format(FC=classifier, **fields)

    def to_torch(self, mxnet_key: str) -> KeyMatch | None:
        """The match of ``mxnet_key`` (prefix ``arg:``/``aux:`` optional), or None if it does not fit."""
        m = _compiled(self)[1].match(mxnet_key)
        if m is None:
            return None
        fields = {k: (_INVERSE[k][v] if k in _INVERSE else v) for k, v in m.groupdict().items()}
        return KeyMatch(self.torch.format(**fields), self, fields)

    def torch_shape(self, mxnet_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The PyTorch shape of an array of this rule stored with ``mxnet_shape``."""
        return (*mxnet_shape, 1, 1) if self.transform == "fc" and len(mxnet_shape) == 2 else mxnet_shape

    def mxnet_shape(self, torch_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The MXNet shape of a tensor of this rule with ``torch_shape``."""
        if self.transform == "fc" and len(torch_shape) == 4 and torch_shape[2:] == (1, 1):
            return torch_shape[:2]
        return torch_shape


class KeyMatch(NamedTuple):
    """An MXNet key translated: the PyTorch key, the rule used and the field values (PyTorch tokens)."""

    torch_key: str
    rule: KeyRule
    fields: dict[str, str]

    @property
    def classifier(self) -> str | None:
        """``fc6`` / ``fc6-1k`` for the classifier's keys, None for every other key."""
        return self.fields.get("FC")


def _regex(template: str, side: str) -> re.Pattern[str]:
    out, pos = [], 0
    if side == "mxnet":  # the kind prefix is optional on input
        out.append(f"(?:{re.escape(template[:4])})?")
        pos = 4
    for m in re.finditer(r"\{([A-Z]+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        name = m.group(1)
        if name in _VOCAB:
            tokens = _VOCAB[name].keys() if side == "torch" else _VOCAB[name].values()
            pattern = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
        else:
            pattern = _FIELD_RE[name]
        out.append(f"(?P<{name}>{pattern})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out) + r"\Z")


_COMPILED: dict[KeyRule, tuple[re.Pattern[str], re.Pattern[str]]] = {}


def _compiled(rule: KeyRule) -> tuple[re.Pattern[str], re.Pattern[str]]:
    if rule not in _COMPILED:
        _COMPILED[rule] = (_regex(rule.torch, "torch"), _regex(rule.mxnet, "mxnet"))
    return _COMPILED[rule]


def _bn(torch_module: str, mxnet_bn: str, b: bool | None = None) -> tuple[KeyRule, KeyRule]:
    """The two rules of one BatchNorm: learned fields (arg:) and statistics (aux:)."""
    return (KeyRule(torch_module + ".{BN}", "arg:" + mxnet_bn + "_{BN}", b),
            KeyRule(torch_module + ".{STAT}", "aux:" + mxnet_bn + "_{STAT}", b))


_P = "features.conv{S}_{I}."
_Q = "conv{S}_x__{I}_"  # MXNet block prefix: two underscores before I, one after
KEY_RULES: tuple[KeyRule, ...] = (
    # stem: Conv -> BN (named "relu-sp" in MXNet, single __bn)
    KeyRule("features.conv1_1.conv.weight", "arg:conv1_x_1__conv_weight"),
    *_bn("features.conv1_1.bn", "conv1_x_1__relu-sp__bn"),
    # BN_AC_Conv units: the BatchNorm is named "<unit>__bn", so its keys read "__bn__bn_"
    *_bn(_P + "{M}.bn", _Q + "{M}__bn__bn"),
    KeyRule(_P + "{M}.conv.weight", "arg:" + _Q + "{M}__conv_weight"),
    # c1x1_c, non-b: one more BN_AC_Conv unit
    *_bn(_P + "c1x1_c.bn", _Q + "c1x1-c__bn__bn", b=False),
    KeyRule(_P + "c1x1_c.conv.weight", "arg:" + _Q + "c1x1-c__conv_weight", b=False),
    # c1x1_c, b: BN_AC only (single "__bn_"), then two bare 1x1 convs
    *_bn(_P + "c1x1_c.bn", _Q + "c1x1-c__bn", b=True),
    KeyRule(_P + "{C}.weight", "arg:" + _Q + "{C}__conv_weight", b=True),
    # final BN-ReLU over cat(resid, dense)
    *_bn("features.conv5_bn_ac.bn", "conv5_x_x__relu-sp__bn"),
    # classifier: FullyConnected fc6 or fc6-1k, (C, F) <-> 1x1 conv (C, F, 1, 1)
    KeyRule("classifier.weight", "arg:{FC}_weight", transform="fc"),
    KeyRule("classifier.bias", "arg:{FC}_bias"),
)
"""The complete PyTorch <-> MXNet key mapping. ``*.num_batches_tracked`` has no source."""


def torch_rule(torch_key: str, b: bool) -> KeyRule | None:
    """The rule of a PyTorch key in a b (``b=True``) or non-b network, or None if no rule has it."""
    for rule in KEY_RULES:
        if rule.applies_to(b) and _compiled(rule)[0].match(torch_key):
            return rule
    return None


def torch_key_to_mxnet(torch_key: str, *, b: bool, classifier: str = "fc6") -> str | None:
    """The MXNet name (with ``arg:``/``aux:``) of a PyTorch DPN key in a b (``b=True``) or non-b
    network, with the classifier named ``classifier``; None for ``num_batches_tracked`` and
    keys no rule knows."""
    rule = torch_rule(torch_key, b)
    return None if rule is None else rule.to_mxnet(torch_key, classifier)


def mxnet_key_to_torch(mxnet_key: str) -> KeyMatch | None:
    """The translation of an MXNet DPN key (``arg:``/``aux:`` optional): a :class:`KeyMatch`, which
    unpacks as (PyTorch key, rule, fields); None if no rule matches."""
    for rule in KEY_RULES:
        hit = rule.to_torch(mxnet_key)
        if hit is not None:
            return hit
    return None


def _vote_b(sides: Iterable[bool | None]) -> bool:
    """b if more keys fit only b rules than only non-b rules (``sides``: ``rule.b`` per key)."""
    votes = {True: 0, False: 0, None: 0}
    for side in sides:
        votes[side] += 1
    return votes[True] > votes[False]


def is_b(torch_keys: Iterable[str]) -> bool:
    """Whether PyTorch keys are those of a b network (more of them fit only b rules than only non-b)."""
    def side(key: str) -> bool | None:
        sides = {rule.b for rule in KEY_RULES if _compiled(rule)[0].match(key)}
        return sides.pop() if len(sides) == 1 else None

    return _vote_b(side(k) for k in torch_keys)


# ---------------------------------------------------------------------------------------------------
# A checkpoint's names, translated once
# ---------------------------------------------------------------------------------------------------


class Entry(NamedTuple):
    """One array of a checkpoint: its name as stored, its shape, and its translation (or None)."""

    stored: str
    shape: tuple[int, ...]
    match: KeyMatch | None


def translate(shapes: Mapping[str, tuple[int, ...]]) -> list[Entry]:
    """Translate every name of a checkpoint (name as stored -> shape), in order.

    Raises :class:`DPNConversionError` if two names stand for the same parameter (``arg:x`` and
    a bare ``x``).
    """
    entries = [Entry(name, tuple(shape), mxnet_key_to_torch(name)) for name, shape in shapes.items()]
    seen: dict[tuple[str, bool | None, str | None], str] = {}
    for e in entries:
        if e.match is None:
            continue
        key = (e.match.torch_key, e.match.rule.b, e.match.classifier)
        if key in seen:
            raise DPNConversionError(
                f"two names for one parameter: {safe_name(seen[key])} and {safe_name(e.stored)}",
                unexpected=[e.stored])
        seen[key] = e.stored
    return entries


def choose_classifier(entries: Iterable[Entry], classifier: str | None) -> str:
    """The classifier to use: ``classifier`` if given (it must be in the file), else the file's one.

    With neither given nor present, ``fc6`` (so that its absence is reported as a missing key).
    Raises :class:`DPNConversionError` for an unknown name, a classifier the file does not have,
    or a file with both when none was chosen.
    """
    present = [n for n in CLASSIFIER_NAMES
               if any(e.match is not None and e.match.classifier == n for e in entries)]
    if classifier is not None:
        if classifier not in CLASSIFIER_NAMES:
            raise DPNConversionError(f"classifier must be one of {', '.join(CLASSIFIER_NAMES)}, "
                                     f"not {safe_name(classifier)}")
        if classifier not in present:
            has = f"only {' and '.join(present)}" if present else "no classifier (fc6 or fc6-1k)"
            raise DPNConversionError(f"the classifier asked for, {classifier}, does not fit this file: "
                                     f"it has {has}", missing=[f"arg:{classifier}_weight"])
        return classifier
    if len(present) > 1:
        raise DPNConversionError(f"the file has two classifiers, {' and '.join(present)}; "
                                 "choose one (classifier=...)")
    return present[0] if present else CLASSIFIER_NAMES[0]


# ---------------------------------------------------------------------------------------------------
# Inferring the configuration
# ---------------------------------------------------------------------------------------------------


def _block(stage: int, index: int, unit: str) -> str:
    """The PyTorch key of a block's conv weight (``unit`` is a BnActConv2d or a b conv)."""
    conv = ".weight" if unit in _VOCAB["C"] else ".conv.weight"
    return f"features.conv{stage}_{index}.{unit}{conv}"


def infer_config(shapes: Mapping[str, tuple[int, ...]],
                 classifier: str | None = None) -> tuple[DPNConfig, str]:
    """The configuration and the classifier name of a checkpoint, from its names and shapes alone.

    ``shapes`` maps MXNet names (as stored; ``arg:``/``aux:`` optional) to shapes; ``classifier``
    (``fc6`` / ``fc6-1k``) picks one when the file has both. Returns (config, classifier).
    Raises :class:`DPNConversionError` when the names and shapes are not those of a DPN.
    """
    return infer_entries(translate(shapes), classifier)


def infer_entries(entries: list[Entry], classifier: str | None) -> tuple[DPNConfig, str]:
    """:func:`infer_config` of translated entries.

    Reads the stem (init channels; kernel 3 = small, 7 = large), per stage the block count, the
    bottleneck width r (k_r = r of conv2; groups = r / in-per-group of the 3x3), bw and inc from the
    projection and c1x1_c widths (bw_base = bw of conv2 / (1 if small else 4)), b from which rules
    the keys fit, and the classes from the classifier. The strict key-by-key match checks the rest.
    """
    if not any(e.match is not None for e in entries):
        raise DPNConversionError(
            f"not a DPN checkpoint: none of its {len(entries):,} names is a DPN parameter name "
            f"(like {KEY_RULES[0].mxnet}); "
            f"its names start {name_list(safe_name(e.stored) for e in entries)}",
            unexpected=[e.stored for e in entries])
    b = _vote_b(e.match.rule.b for e in entries if e.match is not None)
    fc = choose_classifier(entries, classifier)
    usable = [(e.match, e.shape) for e in entries
              if e.match is not None and e.match.rule.applies_to(b) and e.match.classifier in (None, fc)]
    shapes = {m.torch_key: shape for m, shape in usable}
    found: dict[str, Any] = {"b": b}

    def partial() -> str:
        return "DPN(" + ", ".join(f"{k}={v}" for k, v in found.items()) + ", ...)"

    def fail(message: str, **names: list[str]) -> DPNConversionError:
        return DPNConversionError(f"cannot infer the DPN configuration: {message}", assumed=partial(),
                                  **names)

    def mx(torch_key: str) -> str:
        return torch_key_to_mxnet(torch_key, b=b, classifier=fc) or torch_key

    def need(torch_key: str, ndim: int) -> tuple[int, ...]:
        if torch_key not in shapes:
            raise fail(f"missing {mx(torch_key)} (for {torch_key})", missing=[mx(torch_key)])
        shape = shapes[torch_key]
        if len(shape) != ndim:
            raise fail(f"{mx(torch_key)} has shape {shape}, expected {ndim} dimensions",
                       mismatched=[mx(torch_key)])
        return shape

    out_ch, in_chans, kh, kw = need("features.conv1_1.conv.weight", 4)
    if kh != kw or kh not in (3, 7):
        raise fail(f"stem kernel is {kh}x{kw}; DPNs use 3x3 (small) or 7x7")
    small = kh == 3
    found.update(small=small, num_init_features=out_ch)

    blocks: dict[int, set[int]] = {s: set() for s in range(2, 6)}
    for m, _ in usable:
        if "S" in m.fields:
            blocks[int(m.fields["S"])].add(int(m.fields["I"]))
    k_sec, inc_sec, bws, rs, groups = [], [], [], [], []
    for stage in range(2, 6):
        indices = sorted(blocks[stage])
        if not indices:
            first = mx(_block(stage, 1, "c1x1_a"))
            raise fail(f"conv{stage} has no blocks: missing {first}", missing=[first])
        gaps = sorted(set(range(1, indices[-1] + 1)) - set(indices))
        if gaps:
            raise fail(f"conv{stage} blocks {name_list(map(str, gaps))} are missing",
                       missing=[mx(_block(stage, i, "c1x1_a")) for i in gaps])
        k_sec.append(len(indices))
        r = need(_block(stage, 1, "c1x1_a"), 4)[0]
        r3, per_group = need(_block(stage, 1, "c3x3_b"), 4)[:2]
        if per_group <= 0 or r3 % per_group:
            raise fail(f"conv{stage} grouped 3x3 has shape {shapes[_block(stage, 1, 'c3x3_b')]}")
        groups.append(r3 // per_group)
        rs.append(r)
        proj = need(_block(stage, 1, "c1x1_w_s1" if stage == 2 else "c1x1_w_s2"), 4)[0]
        if b:
            bw = need(_block(stage, 1, "c1x1_c1"), 4)[0]
            inc = need(_block(stage, 1, "c1x1_c2"), 4)[0]
        else:
            c = need(_block(stage, 1, "c1x1_c"), 4)[0]
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
    bw_base = bws[0] // (1 if small else 4)
    if bws != [bw_base * 2**s * (1 if small else 4) for s in range(4)] or bw_base <= 0 or min(inc_sec) <= 0:
        raise fail(f"residual widths bw {bws} / dense increments {inc_sec} are not a DPN's")
    num_classes = need("classifier.weight", 2)[0]
    cfg = DPNConfig(small=small, num_init_features=out_ch, k_r=k_r, groups=groups[0], b=b,
                    k_sec=(k_sec[0], k_sec[1], k_sec[2], k_sec[3]),
                    inc_sec=(inc_sec[0], inc_sec[1], inc_sec[2], inc_sec[3]),
                    num_classes=num_classes, bw_base=bw_base, in_chans=in_chans)
    return cfg, fc


def config_of(entries: list[Entry], *, arch: str | None,
              classifier: str | None) -> tuple[DPNConfig, str]:
    """The configuration to build for a checkpoint: inferred, or ``arch``'s variant (``dpn68``, ...)
    with the file's class count. Returns (config, classifier); raises :class:`DPNConversionError`."""
    if arch is None or arch == "auto":
        return infer_entries(entries, classifier)
    if arch not in MODEL_CONFIGS:
        raise DPNConversionError(f"unknown arch {safe_name(arch)}; choose from {', '.join(MODEL_CONFIGS)}")
    fc = choose_classifier(entries, classifier)
    weight = [e for e in entries if e.match is not None and e.match.torch_key == "classifier.weight"
              and e.match.classifier == fc]
    if not weight or len(weight[0].shape) != 2:
        found = f"shape {weight[0].shape}" if weight else "nothing"
        raise DPNConversionError(f"no classifier arg:{fc}_weight (C, F) found ({found})",
                                 variant=arch, assumed=arch, missing=[f"arg:{fc}_weight"])
    return MODEL_CONFIGS[arch].with_classes(weight[0].shape[0]), fc


# ---------------------------------------------------------------------------------------------------
# Matching a checkpoint with a model, key by key
# ---------------------------------------------------------------------------------------------------


def plan(entries: list[Entry], expected: Mapping[str, tuple[int, ...]], *, b: bool,
         classifier: str) -> dict[str, Entry]:
    """The source entry of every PyTorch key of ``expected`` (key -> shape; ``num_batches_tracked``
    keys are skipped), for a b or non-b model and the classifier ``classifier``.

    Strict: raises :class:`DPNConversionError` naming the missing, unexpected and wrongly shaped
    keys (a count of each and the first few).
    """
    found: dict[str, Entry] = {}
    unexpected: list[str] = []
    mismatched: list[str] = []
    wrong: list[str] = []  # for the message: "name (shape) for key (shape)"
    for e in entries:
        m = e.match
        if m is None or not m.rule.applies_to(b) or m.torch_key not in expected:
            unexpected.append(e.stored)
            continue
        if m.classifier not in (None, classifier):
            continue  # the other classifier of a file with two, not chosen
        found[m.torch_key] = e
        want = tuple(expected[m.torch_key])
        if m.rule.torch_shape(e.shape) != want:
            mismatched.append(e.stored)
            wrong.append(f"{safe_name(e.stored)} {e.shape} for {m.torch_key} {want}")
    missing: list[str] = []
    missing_text: list[str] = []
    for key in expected:
        if key.endswith(NO_SOURCE_SUFFIX) or key in found:
            continue
        mx_key = torch_key_to_mxnet(key, b=b, classifier=classifier)
        missing.append(mx_key or key)
        missing_text.append(f"{mx_key} (for {safe_name(key)})" if mx_key else
                            f"{safe_name(key)} (no MXNet name)")
    if missing or unexpected or mismatched:
        groups = [("missing", missing_text), ("unexpected", [safe_name(n) for n in unexpected]),
                  ("wrong shape", wrong)]
        counts = ", ".join(f"{len(items):,} {what}" for what, items in groups if items)
        raise DPNConversionError(
            f"checkpoint does not fit the model: {counts}; first: {_first(groups)}",
            missing=missing, unexpected=unexpected,
            mismatched=mismatched)
    return found


def _first(groups: list[tuple[str, list[str]]], n: int = 3) -> str:
    """The first ``n`` differences, taking one of each kind in turn."""
    shown: list[str] = []
    depth = 0
    while len(shown) < n and any(depth < len(items) for _, items in groups):
        for what, items in groups:
            if depth < len(items) and len(shown) < n:
                shown.append(f"{what} {items[depth]}")
        depth += 1
    return "; ".join(shown)
