"""``xai represent``: what the embedding tables learned, tested as hypotheses.

Writes ``represent.json`` (geometry, agreement with expert groups, substitution experiments on
the model's test split, learning dynamics, hypothesis verdicts, ground-truth scores) and the
distance matrices as CSV (``ingredient_l2.csv``, ``ingredient_cosine.csv``, ``property_l2.csv``,
``property_cosine.csv``; names as header and index) into one folder, all at once.
"""

from __future__ import annotations

import argparse
import math
import numbers
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from models.outputs import check_output
from xai.commands.arguments import nonnegative_int, positive_int
from xai.runs.settings import RepresentSettings

if TYPE_CHECKING:
    from xai.runs.represent import RepresentResult

DEFAULTS = RepresentSettings()


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("represent", parents=[common],
                              help="analyse the embedding tables and test hypotheses")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--data", type=Path, required=True,
                   help="dataset folder: on the training data the model's test split is "
                        "analysed, on any other folder every measured formulation")
    p.add_argument("--out", type=Path, required=True, help="folder to write")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed for layouts, permutations, bootstraps and random donors")
    p.add_argument("--metric", choices=("cosine", "l2"), default="cosine",
                   help="distance used for clustering, layouts and tests")
    p.add_argument("--layout", choices=("auto", "umap", "pca"), default="auto",
                   help="2-D layout (auto: UMAP, PCA for tables under 20 rows)")
    p.add_argument("--permutations", type=positive_int, default=DEFAULTS.n_permutations,
                   help="permutations per test")
    p.add_argument("--bootstrap", type=positive_int, default=DEFAULTS.n_bootstrap,
                   help="bootstrap resamples")
    p.add_argument("--random-donors", type=positive_int, default=DEFAULTS.n_random,
                   help="random donors per ingredient (the substitution null)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import load_model
    from models.data import load_dataset
    from models.expert_distances import read_expert_distances
    from xai.commands.errors import UsageError
    from xai.commands.predict import accept_unseen
    from xai.runs.represent import represent

    for name in ("permutations", "bootstrap", "random_donors"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    from models.fingerprint import analysis_scope

    check_output(args.out, "represent", inputs=[args.data, args.model])
    model = load_model(args.model)
    dataset = load_dataset(args.data)
    read_expert_distances(dataset.root)  # a bad table stops here, before the analysis
    scope = analysis_scope(model, dataset)
    if not scope.formulation_ids:
        raise UsageError(f"{args.data}: no measured formulations to analyse")
    if not args.quiet:
        print(scope.note, file=sys.stderr)
    recipes = dataset.recipes()
    model = accept_unseen(model, args.data,
                          [c for f in scope.formulation_ids for c in recipes[f][0]])
    settings = RepresentSettings(metric=args.metric, layout=args.layout,
                        n_permutations=args.permutations, n_bootstrap=args.bootstrap,
                        n_random=args.random_donors)
    result = represent(model, dataset, formulation_ids=list(scope.formulation_ids),
                       settings=settings, seed=args.seed, progress=not args.quiet)
    write_outputs(result, args.out, scope=scope.to_dict())
    print(summary(result))
    if not args.quiet:
        print(f"written to {args.out}")
    return 0


def write_outputs(result: RepresentResult, out: Path, *, scope: dict | None = None) -> None:
    """``represent.json`` (with ``scope``: which formulations were analysed and why) and the
    four distance matrices, replacing ``out`` atomically."""
    import pandas as pd

    from models.io import atomic_folder, safe_for_spreadsheets, write_json

    with atomic_folder(out, kind="represent") as tmp:
        write_json(tmp / "represent.json", {**result.to_dict(), "scope": scope})
        for prefix, g in (("ingredient", result.ingredients), ("property", result.properties)):
            for metric in ("l2", "cosine"):
                frame = pd.DataFrame(g.distances(metric), index=list(g.names),
                                     columns=list(g.names))
                safe_for_spreadsheets(frame).to_csv(tmp / f"{prefix}_{metric}.csv",
                                                    float_format="%.6g", lineterminator="\n")


def summary(result: RepresentResult) -> str:
    """Family-recovery ARI and a table of hypothesis verdicts."""
    lines = []
    truth = result.truth
    if truth:
        fam, grp = truth["family_recovery"], truth["property_group_recovery"]
        lines.append(f"family recovery ARI: {_num(fam.get('ari'))} (k = {fam.get('k')} by "
                     f"silhouette, {fam.get('n_true')} true families; frequent ingredients "
                     f"{_num(fam.get('ari_frequent'))}; cut at the true k "
                     f"{_num(fam.get('ari_at_true_k'))})")
        lines.append(f"property-group recovery ARI: {_num(grp.get('ari'))} (cut at the true k "
                     f"{_num(grp.get('ari_at_true_k'))})")
    else:
        lines.append("family recovery ARI: - (the dataset has no truth.json)")
    agreement = result.ingredient_agreement
    if agreement is not None:
        lines.append(f"expert groups vs ingredient clusters: ARI {_num(agreement.ari)}, "
                     f"kNN purity {_num(agreement.knn_purity)} (chance "
                     f"{_num(agreement.knn_chance)})")
    expected = (truth or {}).get("hypotheses", {})
    header = (f"{'hypothesis':<36}{'verdict':<16}{'statistic':>11}{'p':>10}{'adj. p':>10}"
              f"  {'interval':<20}{'truth.json' if expected else ''}")
    lines += ["", header, "-" * len(header)]
    for v in result.verdicts:
        interval = "" if v.interval is None else f"[{_num(v.interval[0])}, {_num(v.interval[1])}]"
        row = (f"{v.name:<36}{v.verdict:<16}{_num(v.statistic):>11}{_p(v.p_value):>10}"
               f"{_p(v.adjusted_p):>10}  {interval:<20}")
        if v.name in expected:
            e = expected[v.name]
            row += "agrees" if e["agrees"] else f"DIFFERS (expected {e['expected']})"
        lines.append(row.rstrip())
        if v.note and v.verdict == "inconclusive":
            lines.append(f"{'':<36}({v.note})")
    if expected:
        differ = [n for n, e in expected.items() if not e["agrees"]]
        lines.append("")
        lines.append(f"verdicts agreeing with truth.json: {len(expected) - len(differ)} of "
                     f"{len(expected)}" + (f"; differ: {', '.join(differ)}" if differ else ""))
    return "\n".join(lines)


def _p(value) -> str:
    if value is not None and value == 0:
        return "<1e-300"  # below floating-point resolution
    return _num(value)


def _num(value) -> str:
    if value is None or (isinstance(value, numbers.Real) and not math.isfinite(value)):
        return "-"
    return f"{float(value):.3g}"
