"""``siyu explore``: the pool in the browser (Mesa's SolaraViz), with sliders and a policy comparison."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from experiments.cli.options import DEFAULT_SCENARIO, positive_int, seed_int
from experiments.console import console
from sim.config import load_scenario, preset_names

DEFAULT_CUSTOMERS = 5000
"""Pool size of the page when none is given: small enough to play a day in milliseconds."""
DEFAULT_DAYS = 90


def cmd_explore(args: argparse.Namespace) -> int:
    """Check the inputs and the extra, then serve the page until interrupted."""
    from agents import require_explorer
    from policies import load_policy
    require_explorer("siyu explore")
    load_scenario(args.scenario)  # a bad name or file fails here, in one line, before the server starts
    load_policy(args.policy)
    settings = {"scenario": args.scenario, "policy": args.policy, "customers": args.customers,
                "days": args.days, "seed": args.seed}
    env = {**os.environ, "SIYU_EXPLORE": json.dumps(settings)}
    command = [sys.executable, "-m", "solara", "run", "agents.explorer_app", "--host", args.host,
               "--port", str(args.port), "--production", "--no-open" if args.no_open else "--open"]
    console.print(f"siyu explore: serving on http://{args.host}:{args.port} (Ctrl-C stops)")
    return subprocess.call(command, env=env)


def register(sub: Any) -> None:
    """Add ``siyu explore``."""
    p = sub.add_parser("explore", help="watch a pool run in the browser, move sliders, compare policies "
                                       "(needs siyu[mesa])")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|PATH",
                   help=f"preset ({', '.join(preset_names())}) or TOML file (default {DEFAULT_SCENARIO})")
    p.add_argument("--customers", type=positive_int, default=DEFAULT_CUSTOMERS, metavar="N",
                   help=f"pool size (default {DEFAULT_CUSTOMERS:,}: a day in milliseconds)")
    p.add_argument("--days", type=positive_int, default=DEFAULT_DAYS, metavar="D",
                   help=f"horizon in days (default {DEFAULT_DAYS})")
    p.add_argument("--policy", default="fatigue_capped", metavar="NAME|PATH",
                   help="baseline name or policy TOML (default fatigue_capped)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed (default 0)")
    p.add_argument("--host", default="127.0.0.1", metavar="HOST", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=positive_int, default=8765, metavar="PORT", help="port (default 8765)")
    p.add_argument("--no-open", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_explore)
