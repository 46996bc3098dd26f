"""`python -m broker`: the same as the `stomp-broker` console script."""

import sys

from broker.cli import main

sys.exit(main())
