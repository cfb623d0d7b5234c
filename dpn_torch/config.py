"""The DPN vocabulary, without torch: configurations, variant names, classifier names, the error.

Importing this module needs the standard library only, so command-line front ends (``dpn-convert
--help``) and the fixture tools (``tools/make_dpn_fixtures.py``, run under MXNet) use it without
torch.

Words used throughout ``dpn_torch``:

* a **configuration** (:class:`DPNConfig`) is every hyper-parameter that shapes a DPN, class count
  included;
* a **variant** is one of the published networks, named by its key in :data:`MODEL_CONFIGS`
  (``dpn68``, ``dpn68b``, ``dpn92``, ``dpn98``, ``dpn107``, ``dpn131``): a configuration up to its
  class count. :func:`variant_name` gives the variant of a configuration, or None for a custom one;
* the **classifier** is the MXNet name of the final layer, one of :data:`CLASSIFIER_NAMES`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass

__all__ = ["CLASSIFIER_NAMES", "DPNConfig", "DPNConversionError", "MODEL_CONFIGS", "describe_config",
           "variant_name"]

CLASSIFIER_NAMES = ("fc6", "fc6-1k")
"""MXNet classifier names: ``fc6-1k`` in the 5k->1k fine-tuned ``-extra`` files, ``fc6`` otherwise."""


@dataclass(frozen=True)
class DPNConfig:
    """Every hyper-parameter that shapes a DPN; ``DPN(**asdict(cfg))`` builds it.

    Per stage s = 0..3 (conv2..conv5): residual width ``bw = bw_base * 2**s * (1 if small else 4)``,
    bottleneck width ``r = k_r * 2**s`` (grouped 3x3 with ``groups`` groups), dense growth ``inc_sec[s]``,
    ``k_sec[s]`` blocks. ``small`` also selects the 3x3 stem (else 7x7); ``b`` the split ``c1x1_c``.
    """

    small: bool = False
    num_init_features: int = 64
    k_r: int = 96
    groups: int = 32
    b: bool = False
    k_sec: tuple[int, int, int, int] = (3, 4, 20, 3)
    inc_sec: tuple[int, int, int, int] = (16, 32, 24, 128)
    num_classes: int = 1000
    bw_base: int = 64
    in_chans: int = 3

    def stage_widths(self) -> list[dict[str, int]]:
        """Per stage: bw, inc, r and blocks (docs/DPN.md §2)."""
        bw_factor = 1 if self.small else 4
        return [
            {"bw": self.bw_base * 2**s * bw_factor, "inc": self.inc_sec[s], "r": self.k_r * 2**s,
             "blocks": self.k_sec[s]}
            for s in range(4)
        ]

    @property
    def num_features(self) -> int:
        """Channels entering the classifier: bw of conv5 + all dense channels."""
        last = self.stage_widths()[-1]
        return last["bw"] + (last["blocks"] + 2) * last["inc"]

    def with_classes(self, num_classes: int) -> DPNConfig:
        """The same network with another class count."""
        return DPNConfig(**{**asdict(self), "num_classes": num_classes})


MODEL_CONFIGS: dict[str, DPNConfig] = {
    "dpn68": DPNConfig(small=True, num_init_features=10, k_r=128, groups=32, b=False,
                       k_sec=(3, 4, 12, 3), inc_sec=(16, 32, 32, 64)),
    "dpn68b": DPNConfig(small=True, num_init_features=10, k_r=128, groups=32, b=True,
                        k_sec=(3, 4, 12, 3), inc_sec=(16, 32, 32, 64)),
    "dpn92": DPNConfig(small=False, num_init_features=64, k_r=96, groups=32, b=False,
                       k_sec=(3, 4, 20, 3), inc_sec=(16, 32, 24, 128)),
    "dpn98": DPNConfig(small=False, num_init_features=96, k_r=160, groups=40, b=False,
                       k_sec=(3, 6, 20, 3), inc_sec=(16, 32, 32, 128)),
    "dpn107": DPNConfig(small=False, num_init_features=128, k_r=200, groups=50, b=False,
                        k_sec=(4, 8, 20, 3), inc_sec=(20, 64, 64, 128)),
    "dpn131": DPNConfig(small=False, num_init_features=128, k_r=160, groups=40, b=False,
                        k_sec=(4, 8, 28, 3), inc_sec=(16, 32, 32, 128)),
}
"""The variants (docs/DPN.md §1), at 1000 classes; the 5k checkpoints use 4786."""


def variant_name(cfg: DPNConfig) -> str | None:
    """The variant of ``cfg`` (``"dpn68b"``, ...; the class count is ignored), or None if custom."""
    for name, known in MODEL_CONFIGS.items():
        if known.with_classes(cfg.num_classes) == cfg:
            return name
    return None


def describe_config(cfg: DPNConfig, classifier: str | None = None) -> str:
    """One line for people: variant (or the hyper-parameters of a custom network), classes, classifier.

    E.g. ``"dpn68b, 1000 classes, classifier fc6-1k"``.
    """
    name = variant_name(cfg)
    if name is None:
        name = (f"custom DPN(small={cfg.small}, b={cfg.b}, num_init_features={cfg.num_init_features}, "
                f"k_r={cfg.k_r}, groups={cfg.groups}, k_sec={tuple(cfg.k_sec)}, "
                f"inc_sec={tuple(cfg.inc_sec)}, bw_base={cfg.bw_base})")
    text = f"{name}, {cfg.num_classes} classes"
    return text + (f", classifier {classifier}" if classifier else "")


# ---------------------------------------------------------------------------------------------------
# The error
# ---------------------------------------------------------------------------------------------------

# A name from a file is shown at most this long (DPN names are under 50 characters; a hostile file
# may store megabytes in one name), and at most this many names per list, so messages stay one line.
_MAX_NAME_CHARS = 100
_MAX_EXAMPLES = 3


def safe_name(name: object) -> str:
    """``name`` fit for a terminal: non-printable characters escaped, cut to a readable length."""
    from ndparse.cli_support import safe_name as escaped

    return escaped(name, _MAX_NAME_CHARS)


def name_list(items: Iterable[str]) -> str:
    """The first few ``items`` (already made safe with :func:`safe_name`) and how many more there are."""
    items = list(items)
    shown = ", ".join(items[:_MAX_EXAMPLES])
    more = len(items) - _MAX_EXAMPLES
    return shown + (f" and {more:,} more" if more > 0 else "")


class DPNConversionError(ValueError):
    """A checkpoint and a DPN do not fit together.

    Attributes: ``path`` (the file, or None), ``variant`` (the variant the converter assumed, or None
    when it assumed none or a custom network), ``assumed`` (what it assumed, for people: see
    :func:`describe_config`), ``missing``, ``unexpected`` and ``mismatched`` (the names involved, as
    stored). The message is one line; names from the file in it are made safe for a terminal.
    Setting ``path`` later (when re-raising) keeps every other field.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None,
                 variant: str | None = None, assumed: str | None = None,
                 missing: Iterable[str] = (), unexpected: Iterable[str] = (),
                 mismatched: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.path = os.fspath(path) if path is not None else None
        self.variant = variant
        self.assumed = assumed
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.mismatched = list(mismatched)

    def __str__(self) -> str:
        head = f"{safe_name(self.path)}: " if self.path else ""
        tail = f" (assumed: {self.assumed})" if self.assumed else ""
        return f"{head}{self.args[0]}{tail}"
