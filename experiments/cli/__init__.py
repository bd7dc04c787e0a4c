"""The ``siyu`` command line: :mod:`~experiments.cli.app` builds the parser and runs a command.

Every command is one module of :mod:`experiments.cli.commands` with ``register(subparsers)``;
arguments several commands share live in :mod:`~experiments.cli.options`, and what is printed goes
through :mod:`experiments.console`. Imports point one way: app -> commands -> options, console.
"""
