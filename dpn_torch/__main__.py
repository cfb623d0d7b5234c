"""``python -m dpn_torch``: the ``dpn-convert`` command."""

from .cli import main

raise SystemExit(main())
