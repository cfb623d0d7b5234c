"""``python -m mxtorch``: the same as the ``mxtorch`` command."""

from .cli import main

raise SystemExit(main())
