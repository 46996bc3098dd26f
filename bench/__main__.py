"""`python -m bench`: the same as `make bench`."""

import sys

from bench.cli import main

sys.exit(main())
