"""``xai design``: search recipes that reach property targets, each with its evidence.

Writes a folder with ``designs.csv`` (long format, like formulations.csv, so it can be fed to
``xai predict``), ``design.json`` (targets; for every design and every property the model
predicts, the prediction, conformal interval and applicability flags exactly as ``xai predict``
gives them for designs.csv, and whether each target is met by the prediction and by the whole
interval; distances, nearest training recipes, change attribution and, on synthetic data, truth
scores; the comparison of search methods; settings) and ``design.html`` (the same, as one
self-contained page), all at once or not at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.outputs import check_output
from xai.commands.errors import UsageError

BASELINES = ("random", "tpe")


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("design", parents=[common],
                              help="search recipes that reach property targets")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--data", type=Path, required=True, help="the model's training dataset folder")
    p.add_argument("--target", action="append", required=True, metavar="PROP=LO..HI",
                   help="a target in original units: PROP=LO..HI or PROP=V+-TOL (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="folder to write")
    p.add_argument("--start", metavar="ID",
                   help="counterfactual mode: change this formulation as little as possible")
    p.add_argument("--max-changes", type=int, metavar="K",
                   help="with --start: at most K ingredients differ from the start recipe "
                   "(the balance ingredient counts when its amount moves)")
    p.add_argument("--allowed", type=Path, metavar="FILE",
                   help="only these ingredients (one per line)")
    p.add_argument("--forbidden", type=Path, metavar="FILE",
                   help="never these ingredients (one per line)")
    p.add_argument("--fixed", action="append", default=[], metavar="ING=AMOUNT",
                   help="hold an ingredient at an amount (repeatable; 0 keeps it out)")
    p.add_argument("--balance", metavar="INGREDIENT",
                   help="balance ingredient (default: from truth.json if any)")
    p.add_argument("--n", type=int, default=10, help="designs to return (default 10)")
    p.add_argument("--budget", type=int, default=2000, metavar="N",
                   help="candidate recipes scored by the model per method (default 2000)")
    p.add_argument("--pop-size", type=int, default=100, metavar="N",
                   help="NSGA-II population (default 100)")
    p.add_argument("--baselines", default="random", metavar="LIST",
                   help="comma-separated baselines run at the same budget: random, tpe, or "
                   "none (default random; tpe costs minutes at budgets in the thousands)")
    p.add_argument("--margin", type=float, default=0.35,
                   help="share of each target range the search keeps free at both ends "
                   "(default 0.35)")
    p.add_argument("--range-slack", type=float, default=0.0, metavar="F",
                   help="widen every ingredient's training range by this fraction (default 0)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from models.checkpoint import load_model
    from models.data import load_dataset
    from models.io import atomic_folder, safe_for_spreadsheets
    from xai.cli import draw_design_page
    from xai.inverse import DesignConfig, DesignError, design, strict_json

    baselines = _baselines(args.baselines)
    config = DesignConfig(
        n=args.n, budget=args.budget, seed=args.seed, start=args.start,
        max_changes=args.max_changes,
        allowed=None if args.allowed is None else tuple(_names(args.allowed)),
        forbidden=() if args.forbidden is None else tuple(_names(args.forbidden)),
        fixed=tuple(_fixed(text) for text in args.fixed), balance=args.balance,
        methods=("nsga2", *baselines), pop_size=args.pop_size, margin=args.margin,
        range_slack=args.range_slack,
    )
    check_output(args.out, "design", inputs=[args.data, args.model])
    model = load_model(args.model)
    dataset = load_dataset(args.data)
    try:
        result = design(model, dataset, args.target, config)
    except DesignError as err:
        raise UsageError(str(err)) from None
    with atomic_folder(args.out, kind="design") as tmp:
        safe_for_spreadsheets(result.frame()).to_csv(tmp / "designs.csv", index=False)
        summary = result.to_dict()
        summary["settings"].update(model=str(args.model), data=str(args.data))
        text = strict_json(summary)
        (tmp / "design.json").write_text(text + "\n")
        page = draw_design_page(json.loads(text))
        (tmp / "design.html").write_text(page, encoding="utf-8")
    print(format_summary(result))
    if not args.quiet:
        print(f"wrote designs.csv, design.json and design.html to {args.out}")
    return 0


def format_summary(result) -> str:
    """A few lines: targets, how many designs meet them, spread, and every method's score."""
    met = sum(d.meets for d in result.designs)
    lines = [f"targets: {', '.join(str(t) for t in result.targets)}",
             f"{len(result.designs)} designs, {met} meet every target under the model"]
    trust = result.trust
    if trust.coverage is not None:
        inside = sum(bool(d.intervals_inside) for d in result.designs)
        lines.append(f"{inside} with every targeted {trust.coverage:.0%} interval "
                     f"({trust.interval_method}) wholly inside its target")
    else:
        lines.append(f"no intervals: {trust.interval_reason}")
    flagged = sum(bool(d.flags) for d in result.designs)
    lines.append(f"{flagged} with applicability flags"
                 + ("" if trust.flags_source == "model" else
                    " (against the design space's training recipes: the model carries no "
                    "domain)"))
    if not result.feasible:
        best = min((sum(d.target_distance.values()) for d in result.designs), default=float("nan"))
        lines.append(f"no design meets every target: the nearest is {best:.3g} standardised "
                     "units away")
    truth = [d.truth_meets for d in result.designs if d.truth_meets is not None]
    if truth:
        lines.append(f"{sum(truth)} of {len(truth)} meet every target under the truth")
    div = result.diversity
    lines.append(f"diversity: {div.distinct_ingredient_sets} distinct ingredient sets, mean "
                 f"pairwise distance {div.mean_pairwise_distance:.3g}")
    for m in result.methods:
        t = "" if m.share_meeting_truth is None else f", truth {m.share_meeting_truth:.0%}"
        lines.append(f"  {m.method:6s} {m.evaluations} candidates in {m.seconds:.1f} s: "
                     f"{m.share_meeting_model:.0%} of its {m.n_designs} designs meet the "
                     f"targets (model{t})")
    return "\n".join(lines + design_table(result))


def design_table(result) -> list[str]:
    """One line per design: each target's prediction and interval, whether the prediction and
    the whole interval meet the targets, and the applicability flags."""
    rows = [["design", *(f"{t.property} [interval]" for t in result.targets), "met",
             "interval inside", "flags"]]
    for d in result.designs:
        inside = "-" if d.intervals_inside is None else ("yes" if d.intervals_inside else "no")
        rows.append([d.design_id, *(f"{p.value:.4g} [{p.lower:.4g} - {p.upper:.4g}]"
                                    if p.has_interval else f"{p.value:.4g}"
                                    for p in d.targeted),
                     "yes" if d.meets else "no", inside, "; ".join(d.flags) or "-"])
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]) - 1)]
    return ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]])
            for r in rows]


def _baselines(text: str) -> tuple[str, ...]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["none"]:
        return ()
    bad = [n for n in names if n not in BASELINES]
    if bad:
        raise UsageError(f"--baselines: unknown {bad}; choose from {list(BASELINES)} or none")
    return tuple(dict.fromkeys(names))


def _names(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read ingredient list {path}: {err.strerror}") from None
    names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [n for n in names if n]


def _fixed(text: str) -> tuple[str, float]:
    name, sep, amount = text.partition("=")
    try:
        value = float(amount)
    except ValueError:
        value = None
    if not sep or not name.strip() or value is None:
        raise UsageError(f"--fixed {text!r}: write INGREDIENT=AMOUNT")
    return name.strip(), value
