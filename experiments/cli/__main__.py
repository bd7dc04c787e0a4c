"""``python -m experiments.cli``: the same as the ``siyu`` script."""

import sys

from experiments.cli.app import main

sys.exit(main())
