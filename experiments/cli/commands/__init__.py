"""One module per ``siyu`` command, each with ``register(subparsers)``; :mod:`experiments.cli.app` lists them."""
