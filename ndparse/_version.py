"""The distribution's one version number, read by pyproject.toml and every package's ``__version__``."""

__version__ = "0.2.0"
