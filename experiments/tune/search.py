"""The search: Optuna's TPE over a rule's declared ranges, every trial scored on the same training seeds.

Why TPE rather than successive halving over a grid: the rules have 2 to 13 parameters, mixed integer,
continuous and categorical, and a grid coarse enough to afford grows exponentially with them; TPE
samples where good trials were, and under common random numbers a trial's score is already a paired,
low-noise comparison, so evaluating every trial on all training seeds costs less than halving's
extra bookkeeping would save.

Deterministic and resumable: the study is an Optuna journal file (``study.journal``) written as each
trial finishes; trial ``k`` is drawn by a TPE sampler seeded with ``sampler_seed + k`` from the
finished trials before it, so an interrupted search resumed later draws exactly what an uninterrupted
one would. A trial left running by an interrupted process is scored again with its recorded
parameters. Trial 0 is the rule's default parameters, so the search never reports worse than them
on the training seeds.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import optuna

from experiments.running.backends import Backend
from experiments.store.io import atomic_write_text
from experiments.tune.evaluate import Evaluator
from experiments.tune.settings import TuneSettings
from experiments.tune.space import Spec, choices, decode, encode, flat_space
from policies.baselines import BASELINES
from sim.config import ConfigError

STUDY_FILE = "study.journal"
SETTINGS_FILE = "tune.json"
NAMES = {"policy": "POLICY", "scenario": "--scenario", "scenario_content": "--scenario (its content)",
         "customers": "--customers", "days": "--days", "train_seeds": "--train-seeds", "metric": "--metric",
         "sampler_seed": "--sampler-seed", "batch": "--batch",
         "search_space": "the declared search ranges (policies/baselines.py)",
         "code_fingerprint": "the model's code (sim, agents, policies)"}
"""How a setting of the identity is called on the command line, for the refusal to resume."""
ENDED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
"""A trial whose metric was NaN fails; it still counts against the budget."""


@dataclass(frozen=True)
class TrialResult:
    """One finished trial: its Optuna parameters, the policy's parameters and its value per training seed."""

    number: int
    trial_params: dict[str, Any]
    params: dict[str, Any]
    seed_values: list[float]
    value: float
    default: bool


@dataclass(frozen=True)
class SearchResult:
    """Every finished trial of the budget, in order, and the best one (the earliest on a tie)."""

    trials: list[TrialResult]
    best: TrialResult

    @property
    def default(self) -> TrialResult:
        """The trial of the rule's default parameters (trial 0)."""
        return next(t for t in self.trials if t.default)


def distributions(kind: str) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distributions of the declared ranges of ``kind``."""
    return {name: _distribution(spec) for name, spec in flat_space(kind).items()}


def _distribution(spec: Spec) -> optuna.distributions.BaseDistribution:
    if spec["type"] == "int":
        return optuna.distributions.IntDistribution(spec["low"], spec["high"], log=spec["log"])
    if spec["type"] == "float":
        return optuna.distributions.FloatDistribution(spec["low"], spec["high"], log=spec["log"],
                                                      step=spec.get("step"))
    return optuna.distributions.CategoricalDistribution(choices(spec))


def check_resumable(settings: TuneSettings, out: Path) -> bool:
    """Whether ``out`` already holds this search; raise ConfigError if it holds one with other settings."""
    path = out / SETTINGS_FILE
    mine = json.loads(json.dumps(settings.identity()))
    if not path.exists():
        return False
    theirs = json.loads(path.read_text(encoding="utf-8")).get("identity", {})
    if theirs == mine:
        return True
    diff = [f"{NAMES.get(k, k)} {_short(mine.get(k))} (was {_short(theirs.get(k))})"
            for k in NAMES if mine.get(k) != theirs.get(k)]
    raise ConfigError(f"{out} holds a search with other settings: {'; '.join(diff)}; "
                      "rerun with the same arguments to resume, or use another --out")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def open_study(settings: TuneSettings, out: Path) -> optuna.Study:
    """The study in ``out`` (created empty when there is none)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name="tune", storage=_storage(out / STUDY_FILE), load_if_exists=True,
                               direction="maximize" if settings.maximize else "minimize",
                               sampler=_sampler(settings, 0))


def _storage(path: Path) -> optuna.storages.BaseStorage:
    try:
        from optuna.storages.journal import JournalFileBackend as FileBackend
    except ImportError:  # optuna < 4
        from optuna.storages import JournalFileStorage as FileBackend  # type: ignore[no-redef]
    return optuna.storages.JournalStorage(FileBackend(str(path)))


def _sampler(settings: TuneSettings, number: int) -> optuna.samplers.BaseSampler:
    """The sampler that draws trial ``number``: its own seed, so a resumed search draws the same."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=settings.sampler_seed + number, multivariate=True)


def search(settings: TuneSettings, out: Path, on_trial: Callable[[TrialResult, int], None] | None = None,
           evaluate: Evaluator | None = None, backend: Backend | None = None) -> SearchResult:
    """Run (or resume) the search in ``out`` until ``settings.trials`` trials are finished.

    ``on_trial(trial, done)`` is called after each finished trial, also for those found already done.
    A trial's seeds run on ``backend`` (default: ``settings.jobs`` local processes); the study stays here.
    """
    out.mkdir(parents=True, exist_ok=True)
    resumed = check_resumable(settings, out)
    if not resumed:
        (out / STUDY_FILE).unlink(missing_ok=True)  # a journal without its settings file is an aborted start
        atomic_write_text(out / SETTINGS_FILE, json.dumps({"identity": settings.identity()}, indent=1) + "\n")
    study = open_study(settings, out)
    kind = settings.policy
    if not study.trials:
        study.enqueue_trial(encode(kind, BASELINES[kind].Params().model_dump(mode="json")),
                            user_attrs={"default": True})
    dists = distributions(kind)
    own = evaluate is None
    evaluate = evaluate or Evaluator(settings.scenario, settings.customers, settings.days,
                                     settings.train_seed_list, settings.metric, settings.jobs, backend)
    try:
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            # left running by an interrupted process: score it, unless it was cut while its parameters were written
            if set(t.params) == set(dists):
                _score(study, t.number, t.params, kind, evaluate)
            else:
                study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        for t in _finished(study, kind):
            if on_trial is not None and t.number < settings.trials:
                on_trial(t, t.number + 1)
        while (ended := len(study.get_trials(deepcopy=False, states=ENDED))) < settings.trials:
            asked = []
            for _ in range(min(settings.batch, settings.trials - ended)):  # asked in order, before any is scored
                number = len(study.trials) - len(study.get_trials(states=(optuna.trial.TrialState.WAITING,)))
                study.sampler = _sampler(settings, number)
                trial = study.ask(dists)
                asked.append((trial.number, trial.params))
            for done in _score_many(study, asked, kind, evaluate):
                if on_trial is not None:
                    on_trial(done, done.number + 1)
    finally:
        if own:
            evaluate.close()
    trials = [t for t in _finished(study, kind) if t.number < settings.trials]
    if not trials:
        raise ValueError(f"no trial gave a number for {settings.metric} (NaN on every trial); choose another --metric")
    sign = 1.0 if settings.maximize else -1.0
    best = max(trials, key=lambda t: (sign * t.value, -t.number))
    return SearchResult(trials, best)


def _score(study: optuna.Study, number: int, trial_params: dict[str, Any], kind: str,
           evaluate: Evaluator) -> TrialResult:
    """Evaluate one trial on the training seeds and record it (its value per seed too) in the study."""
    return _score_many(study, [(number, trial_params)], kind, evaluate)[0]


def _score_many(study: optuna.Study, trials: list[tuple[int, dict[str, Any]]], kind: str,
                evaluate: Evaluator) -> list[TrialResult]:
    """Evaluate trials together on the training seeds, then record them in the study in order."""
    params = [decode(kind, p) for _, p in trials]
    scored = evaluate.many(kind, [(pp, f"trial{number}") for pp, (number, _) in zip(params, trials)])
    done = []
    for (number, trial_params), pp, values in zip(trials, params, scored):
        value = sum(values) / len(values)
        # by number, not through a Trial object: a trial left running by an interrupted process has none here
        storage = study._storage
        storage.set_trial_user_attr(storage.get_trial_id_from_study_id_trial_number(study._study_id, number),
                                    "seed_values", values)
        study.tell(number, value)
        default = bool(study.trials[number].user_attrs.get("default", False))
        done.append(TrialResult(number, dict(trial_params), pp, values, value, default))
    return done


def _finished(study: optuna.Study, kind: str) -> list[TrialResult]:
    """Completed trials, in order."""
    return [TrialResult(t.number, dict(t.params), decode(kind, t.params), list(t.user_attrs.get("seed_values", [])),
                        float(t.value), bool(t.user_attrs.get("default", False)))
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
