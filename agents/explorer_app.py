"""Entry module of ``siyu explore`` for ``solara run``: the explorer page, from the settings in ``SIYU_EXPLORE``."""

from __future__ import annotations

import json
import os

from agents.explorer import explorer_page

SETTINGS = json.loads(os.environ.get("SIYU_EXPLORE", "{}"))
"""scenario, policy, customers, days and seed chosen on the command line (JSON)."""

page = explorer_page(**SETTINGS)
