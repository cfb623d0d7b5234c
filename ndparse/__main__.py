"""`python -m ndparse`: the ndparse command line."""

import sys

from .cli import main

sys.exit(main())
