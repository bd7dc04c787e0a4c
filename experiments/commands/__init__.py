"""Subcommands of later layers; every module here registers itself in ``experiments.cli.EXTRA_COMMANDS``.

A module adds one command: it defines ``register(subparsers)`` and appends it to
``EXTRA_COMMANDS`` at import. Modules are imported in name order.
"""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_info.name}")
