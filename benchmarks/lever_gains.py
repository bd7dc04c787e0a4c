"""What a tuned rule gains from the levers a preset turns on.

Issue 16: "a tuned rule that uses the new levers beats the tuned rule that cannot".

On each preset, ``siyu tune``'s search (:func:`experiments.tune.search.search`, the same Optuna study and
training seeds) tunes ``fatigue_capped`` (the rule that cannot pull a lever) and ``journeys`` (over
``fatigue_capped`` at its defaults; it searches its levers: event offer, referral ask, invitations,
``male_offer``, ``fan_every_days``, ``fan_until_tier``). Both tuned rules and variants of the tuned
``journeys`` with one lever switched off then run on fresh seeds 0 .. seeds-1; each line is the paired lead
(seed by seed, same pool) in total value with its 95% Student-t interval and z (mean / standard error).

    python benchmarks/lever_gains.py [--customers 5000] [--days 120] [--trials 16] [--train-seeds 2]
                                     [--seeds 8] [--presets hair_transplant,mother_baby] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from experiments.stats.intervals import interval
from experiments.tune.search import search
from experiments.tune.settings import TuneSettings
from policies.registry import make_policy
from sim.config import apply_overrides, load_scenario
from sim.engine import Simulation

LEVERS_OFF = {"male_offer": "same", "fan_every_days": 0, "invite": "", "ask_after_order_days": 0, "event_offer": ""}
"""``journeys`` with every lever it searches switched off (its welcome sequence stays)."""


def tuned(policy: str, preset: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Best parameters of ``policy`` on ``preset`` after ``args.trials`` trials (trial 0: the defaults)."""
    settings = TuneSettings(policy, preset, load_scenario(preset), args.customers, args.days, args.trials,
                            args.train_seeds, args.seeds)
    found = search(settings, out / f"{preset}-{policy}")
    return dict(found.best.params)


def values(preset: str, kind: str, params: dict[str, Any], args: argparse.Namespace,
           overrides: dict[str, Any] | None = None) -> np.ndarray:
    """Total value of ``kind`` with ``params`` on the fresh seeds (of ``preset`` with ``overrides``)."""
    scenario = apply_overrides(load_scenario(preset), overrides or {})
    return np.array([Simulation(scenario, args.customers, seed).run(make_policy(kind, params), args.days)
                     .summary["total_value"] for seed in range(args.seeds)])


def line(what: str, a: np.ndarray, b: np.ndarray) -> str:
    """``b - a``: mean, 95% interval and z, in thousands of yuan."""
    return diff_line(what, np.asarray(b, np.float64) - np.asarray(a, np.float64))


def diff_line(what: str, diffs: np.ndarray) -> str:
    """Mean of the per-seed ``diffs`` with its 95% interval and z, in thousands of yuan."""
    d = interval(diffs)
    z = d.mean / (d.sd / math.sqrt(d.n)) if d.sd > 0 else math.inf
    return f"| {what} | {d.mean / 1e3:+.1f}k [{d.ci_low / 1e3:+.1f}k, {d.ci_high / 1e3:+.1f}k] | {z:+.1f} |"


def main() -> None:
    """Tune, evaluate on fresh seeds, print one markdown table per preset."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--train-seeds", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=8, help="fresh seeds of the comparison")
    ap.add_argument("--presets", default="hair_transplant,mother_baby")
    ap.add_argument("--out", default=None, help="folder of the searches (default: a temporary one)")
    args = ap.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        for preset in args.presets.split(","):
            fc = tuned("fatigue_capped", preset, args, out)
            jr = tuned("journeys", preset, args, out)
            levers = ("event_offer", "ask_after_order_days", "invite", "invite_within_days", "male_offer",
                      "fan_every_days", "fan_until_tier")
            print(f"\n{preset}: tuned fatigue_capped {fc}\ntuned journeys { {k: jr[k] for k in levers} }")
            base = values(preset, "fatigue_capped", fc, args)
            best = values(preset, "journeys", jr, args)
            print(f"mean total value: tuned fatigue_capped {base.mean() / 1e3:.1f}k, tuned journeys "
                  f"{best.mean() / 1e3:.1f}k")
            print("| lead in total value (yuan) | mean [95% interval] | z |\n|---|---|---|")
            print(line("tuned journeys against tuned fatigue_capped", base, best))
            print(line("its levers (against the same journeys with every lever off)",
                       values(preset, "journeys", {**jr, **LEVERS_OFF}, args), best))
            if jr["male_offer"] != "same":
                same = values(preset, "journeys", {**jr, "male_offer": "same"}, args)
                print(line(f"male_offer {jr['male_offer']} against same (fewer offers, and gender)", same, best))
                sc = load_scenario(preset)
                if sc.contents["coupon"].male_affinity != 1 or sc.contents["flash_sale"].male_affinity != 1:
                    neutral = {"contents.coupon.male_affinity": 1.0, "contents.flash_sale.male_affinity": 1.0}
                    gain_neutral = (values(preset, "journeys", jr, args, neutral)
                                    - values(preset, "journeys", {**jr, "male_offer": "same"}, args, neutral))
                    print(line("the same with men as moved by offers as women (male_affinity 1)", 0 * gain_neutral,
                               gain_neutral))
                    print(diff_line("gender's own part (the difference of the two, seed by seed)",
                                    (best - same) - gain_neutral))
            for male in ("none", "service"):
                if jr["male_offer"] == "same":
                    print(line(f"male_offer {male} added to the tuned journeys", best,
                               values(preset, "journeys", {**jr, "male_offer": male}, args)))
            if jr["fan_every_days"]:
                print(line("fan contact's own part (against fan_every_days 0)",
                           values(preset, "journeys", {**jr, "fan_every_days": 0}, args), best))
            else:
                print(line("fan contact every 7 days to tier 2 added to the tuned journeys", best,
                           values(preset, "journeys", {**jr, "fan_every_days": 7, "fan_until_tier": 2}, args)))
            if jr["invite"] != "wecom" and load_scenario(preset).invitation.enabled:
                print(line("WeCom invitations to buyers of the last 365 days (moving personal-WeChat chats too) "
                           "added", best,
                           values(preset, "journeys", {**jr, "invite": "wecom", "invite_within_days": 365}, args)))
    print(f"\n{time.perf_counter() - started:.0f} s; {args.customers} customers, {args.days} days, {args.trials} "
          f"trials on {args.train_seeds} training seeds, {args.seeds} fresh seeds")


if __name__ == "__main__":
    main()
