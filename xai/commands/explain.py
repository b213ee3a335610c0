"""``xai explain``: attribute a trained Mixer's predictions and check the attributions.

Writes a folder with ``attributions.csv`` (one row per formulation x property x ingredient x
method) and ``explain.json`` (attention summary, quality checks, global views, ground-truth
scores, settings), all at once or not at all.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from models.outputs import check_output
from xai.absence import ABSENCES, Absence
from xai.attribution.constants import FIRST_ROUND
from xai.attribution.constants import SAMPLERS as SAMPLER_CHOICES
from xai.commands.arguments import nonnegative_int, positive_float
from xai.commands.errors import UsageError
from xai.commands.partition_options import add_partition_options, model_files, partition_of
from xai.runs.settings import REFERENCE_METHODS, ExplainSettings

if TYPE_CHECKING:
    from models.fingerprint import Scope
    from models.trained import TrainedModel
    from xai.cases import Cases
    from xai.runs.explain import ExplainResult

METHOD_CHOICES = {"ig": ("ig",), "shapley": ("shapley",), "both": ("ig", "shapley"),
                  **{name: (name,) for name in REFERENCE_METHODS}}


class _AbsenceOption(argparse.Action):
    """``--absence``, also spelt ``--baseline`` (its former name, with a note on stderr)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string == "--baseline":
            print("note: --baseline is deprecated, use --absence", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("explain", parents=[common],
                              help="attribute predictions to ingredients and check them")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True, help="folder to write")
    p.add_argument("--method", choices=list(METHOD_CHOICES), default="both",
                   help="Integrated Gradients, Shapley values or both (default); or a "
                        "reference implementation: shap's exact or permutation explainer "
                        "(slow: one explainer per case), captum's Integrated Gradients")
    p.add_argument("--absence", "--baseline", dest="absence", choices=ABSENCES,
                   default="removed", action=_AbsenceOption,
                   help="what an absent ingredient means (default: removed; --baseline is "
                        "its deprecated name)")
    p.add_argument("--balance", metavar="INGREDIENT",
                   help="balance ingredient, e.g. water (default: from truth.json if any)")
    p.add_argument("--formulations", nargs="+", action="extend", metavar="ID",
                   help="formulations to explain (default: see --split)")
    p.add_argument("--property", nargs="+", action="extend", dest="properties", metavar="P",
                   help="properties to explain (default: those measured on each formulation; "
                        "every property of the model where the folder has no measurements)")
    p.add_argument("--split", choices=("auto", "test", "all"), default="auto",
                   help="auto (default): the model's recorded test split when the folder is "
                        "its training data, else every formulation; test: the recorded test "
                        "split; all: every formulation")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed for samples and random orders")
    p.add_argument("--exact-max", type=nonnegative_int, default=ExplainSettings.shapley_exact_max,
                   metavar="N", help="enumerate Shapley values exactly up to N players "
                   "(default %(default)s); sample beyond")
    p.add_argument("--permutations", type=int, default=ExplainSettings.shapley_permutations,
                   metavar="N", help="sampling budget per Shapley case of n players: the "
                   "N x (n - 1) model evaluations of N permutations (default %(default)s); more "
                   "for smaller standard errors")
    p.add_argument("--sampler", choices=SAMPLER_CHOICES, default=ExplainSettings.shapley_sampler,
                   help="how a sampled case spends its budget: kernel (KernelSHAP with paired "
                   "sampling, default) or permutation (antithetic permutations)")
    p.add_argument("--target-se", type=positive_float, metavar="X",
                   help="sample each case until every Shapley standard error is at most X times "
                   f"|f(recipe) - f(nothing)| (e.g. 0.01), from {FIRST_ROUND} permutations, "
                   "doubling up to --permutations")
    add_partition_options(p)
    p.set_defaults(run=run)


def absence_of(args: argparse.Namespace) -> Absence:
    """``--absence`` (with ``--balance`` for the balance absence) as an Absence, built once."""
    if args.absence == "balance":
        return Absence.balance(args.balance)
    return Absence(args.absence)


def run(args: argparse.Namespace) -> int:
    check_output(args.out, "explain", inputs=[args.data, args.model])
    from models.checkpoint import load_model
    from models.data import load_dataset
    from models.fingerprint import analysis_scope
    from models.io import atomic_folder, safe_for_spreadsheets, write_json
    from xai.commands.predict import accept_unseen
    from xai.runs.explain import explain
    if args.exact_max < 0 or args.permutations < 2:
        raise UsageError("--exact-max must be >= 0 and --permutations >= 2")
    if args.target_se is not None and not args.target_se > 0:
        raise UsageError("--target-se must be positive")
    absence = absence_of(args)
    loaded = load_model(args.model)
    dataset = load_dataset(args.data, require_measurements=False)
    model = accept_unseen(loaded, args.data, dataset.ingredient_names)
    scope = None
    if not args.formulations and args.split == "auto":
        scope = analysis_scope(model, dataset, measured_only=not args.properties)
        if not args.quiet:
            print(scope.note, file=sys.stderr)
    cases = select_cases(model, dataset, args, absence, scope=scope)
    settings = ExplainSettings(methods=METHOD_CHOICES[args.method], absence=absence,
                               seed=args.seed, shapley_exact_max=args.exact_max,
                               shapley_permutations=args.permutations,
                               shapley_sampler=args.sampler,
                               shapley_target_se=args.target_se, progress=not args.quiet)
    from xai.runs.distributed import PartitionedAttributions

    # the same fixed chunks on one process, on --jobs processes or on a cluster: identical results
    partition = partition_of(args)
    attribute = PartitionedAttributions(
        model_files(model, args.model, loaded) if partition.parallel else model, partition)
    result = explain(model, cases, settings, truth=dataset.truth, attribute=attribute)
    with atomic_folder(args.out, kind="explain") as tmp:
        safe_for_spreadsheets(result.frame()).to_csv(tmp / "attributions.csv", index=False)
        summary = result.to_dict()
        summary["settings"].update(model=str(args.model), data=str(args.data),
                                   split=None if args.formulations else args.split,
                                   scope=None if scope is None else scope.to_dict())
        summary["settings"]["partition"] = {**partition.to_dict(),
                                            "note": attribute.note(len(cases))}
        write_json(tmp / "explain.json", summary)
    print(format_summary(result))
    if not args.quiet:
        print(f"wrote {args.out / 'attributions.csv'} and {args.out / 'explain.json'}")
    return 0


def select_cases(model: TrainedModel, dataset, args: argparse.Namespace, absence: Absence, *,
                 scope: Scope | None = None) -> Cases:
    """The (formulation, property) cases the arguments ask for, as :class:`Cases`.

    ``scope`` (from :func:`models.fingerprint.analysis_scope`) gives the formulations when
    neither ``--formulations`` nor an explicit ``--split`` names them.
    """
    from models.pipeline import measured_formulations
    from xai.cases import make_cases

    properties = args.properties
    if not properties and len(dataset.measurements) == 0:
        properties = list(model.properties)  # recipes alone: explain every property
    if args.formulations:
        formulations = list(dict.fromkeys(args.formulations))
        unknown = [f for f in formulations if f not in set(dataset.formulation_ids)]
        if unknown:
            raise UsageError(f"{args.data}: unknown formulations {unknown[:10]}")
    elif scope is not None:
        formulations = list(scope.formulation_ids)
    elif args.split == "test":
        if model.split is None or not model.split.test:
            raise UsageError(f"the model at {args.model} records no test split; use "
                             "--split all or --formulations")
        known = set(dataset.formulation_ids)
        formulations = [f for f in model.split.test if f in known]
        if not formulations:
            raise UsageError(f"none of the model's test formulations are in {args.data}")
    elif len(dataset.measurements) and not args.properties:
        formulations = measured_formulations(dataset)
    else:
        formulations = dataset.formulation_ids
    if args.properties:
        unknown = sorted(set(args.properties) - set(model.properties))
        if unknown:
            raise UsageError(f"the model at {args.model} does not predict {unknown}; "
                             f"it predicts {list(model.properties)}")
    unseen = model.encoder.unknown_ingredients(dataset.ingredient_names)
    if unseen:
        raise UsageError(f"{args.data}: ingredients the model never saw: {unseen[:10]}")
    if args.balance is not None and args.balance not in set(dataset.ingredient_names):
        raise UsageError(f"balance ingredient {args.balance!r} is not in {args.data}")
    cases = make_cases(model, dataset, formulations, properties, absence=absence,
                       balance_ingredient=args.balance)
    if len(cases) == 0:
        raise UsageError("nothing to explain: no measured (formulation, property) pairs among "
                         "the chosen formulations; name properties with --property")
    if absence.kind == "balance" and cases.balance_ingredient is None:
        raise UsageError("--absence balance needs the balance ingredient: name it with "
                         "--balance (e.g. water)")
    return cases


def format_summary(result: ExplainResult) -> str:
    """Plain-text ground-truth scores and a short summary of the checks."""
    s = result.settings
    lines = [f"explained {s['n_cases']} cases ({s['n_formulations']} formulations, "
             f"{len(s['properties'])} properties), absence '{s['absence']}', "
             f"methods {', '.join(result.attributions)}"]
    if result.truth is not None:
        lines += _truth_table(result)
    lines.append("")
    att = result.attention.to_dict()
    lines.append(f"attention: property token's share on ingredients after rollout "
                 f"{_num(att['rollout']['mean'], 3)}" + ("  ** the model barely reads the "
                                                          "recipe **" if att["flagged"] else ""))
    for method, check in result.completeness.items():
        c = check.to_dict()
        lines.append(f"{method}: completeness max |error| {_num(c['max_abs_error'])}, "
                     f"{_num(100 * c['share_within_tolerance'], 3)}% within tolerance")
    if result.agreement is not None:
        a = result.agreement.to_dict()["overall"]
        pair = " vs ".join(result.agreement.methods)
        lines.append(f"{pair}: mean Spearman {_num(a['spearman_mean'], 3)}, "
                     f"sign agreement {_num(a['sign_agreement_mean'], 3)}")
    for method, sanity in result.sanity.items():
        lines.append(f"{method}: randomisation check similarity "
                     + " -> ".join(_num(v, 2) for v in sanity.spearman)
                     + (" (falls: passed)" if sanity.passed else " (does NOT fall: failed)"))
    for method, curves in result.deletion.items():
        lines.append(f"{method}: deletion order beats random in "
                     f"{_num(100 * curves.beats_random('positive'), 3)}% of cases (most positive "
                     f"first), {_num(100 * curves.beats_random('magnitude'), 3)}% (by |value|)")
    lines.append(f"checks on a sample of {s['check_sample']} cases")
    return "\n".join(lines)


def _truth_table(result: ExplainResult) -> list[str]:
    truth = result.truth.to_dict()
    methods = list(truth["attribution"])
    width = {m: max(12, len(m) + 6) for m in methods}
    header = f"{'property':<26}" + "".join(f"{m + ' rho':>{width[m]}}{'n':>6}" for m in methods)
    lines = ["", "ground truth: mean Spearman with the oracle's Shapley values per case",
             header, "-" * len(header)]
    props = sorted({p for m in methods for p in truth["attribution"][m]["per_property"]})
    for prop in props:
        row = f"{prop:<26}"
        for m in methods:
            entry = truth["attribution"][m]["per_property"].get(prop, {})
            row += f"{_num(entry.get('spearman_mean'), 3):>{width[m]}}{entry.get('n_cases', 0):>6}"
        lines.append(row)
    overall = "".join(f"{_num(truth['attribution'][m]['overall']['spearman_mean'], 3):>{width[m]}}"
                      f"{truth['attribution'][m]['overall']['n_cases']:>6}" for m in methods)
    lines.append(f"{'all':<26}{overall}")
    hits = [h for h in truth["interactions"] if h["n_cases"]]
    if hits:
        lines.append("")
        lines.append("known interactions among the top pairs (hit rate vs chance):")
        for h in hits:
            lines.append(f"  {h['property']:<24} {'+'.join(h['families']):<34} "
                         f"{_num(h['hit_rate'], 2):>5} vs {_num(h['chance_rate'], 2):<5} "
                         f"(n={h['n_cases']})")
    return lines


def _num(value, digits: int | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}" if digits is not None else f"{value:.3g}"
