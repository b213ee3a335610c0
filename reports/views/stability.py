"""Views of how far attributions can be read: their stability across the members of a
cross-fitted ensemble, and where Integrated Gradients and Shapley values disagree in sign.

Both read what :mod:`xai.checks.stability` computed (``results["stability"]`` and
``results["attributions"]["sign_disagreement"]``); the thresholds come from the results'
``settings``, never from a copy here.
"""

from __future__ import annotations

from reports.format import count, fixed, pct
from reports.palette import Palette
from reports.views.common import cell, heading, is_available, n_cell, table, text

SHORT_NAMES = {"shapley": "Shapley", "ig": "IG"}  # table columns, in this order
NO_ENSEMBLE = "\u2013"


def stability_marks(stability) -> dict[tuple[str, str], dict]:
    """(property, ingredient) -> the verdict cell of its Shapley values' stability (stable,
    unstable, too few recipes); empty without an ensemble."""
    if not is_available(stability) or not stability:
        return {}
    s = (stability.get("methods") or {}).get("shapley")
    if not s:
        return {}
    return {(prop, e["ingredient"]): _verdict(e, s["settings"])
            for prop, entries in s["per_property"].items() for e in entries}


def stable_cell(marks: dict[tuple[str, str], dict], prop: str, ingredient: str) -> dict:
    """The mark of one attribution for the attribution tables (an en dash without one)."""
    return marks.get((prop, ingredient)) or cell(NO_ENSEMBLE)


def stability_reading(stability) -> str:
    """A clause for the section's reading: how many Shapley attributions with enough recipes
    are stable ("" without an ensemble)."""
    if not is_available(stability) or not stability:
        return ""
    s = (stability.get("methods") or {}).get("shapley")
    if not s:
        return ""
    judged = _judged(s)
    stable = sum(e["stable"] for _, e in judged)
    return (f"; {count(stable)} of {count(len(judged))} Shapley attributions with enough "
            f"recipes are stable across the {stability['n_members']} ensemble members")


def stability_blocks(stability, order: dict[str, list[str]], palette: Palette) -> list[dict]:
    """A heading, what the check does, and one table per property of its ingredients with
    enough recipes (in ``order``, the property's ingredients by importance, then by name)."""
    blocks = [heading("Stability across ensemble members")]
    if not is_available(stability) or not stability:
        reason = (stability or {}).get("reason") or "not computed for these results"
        return blocks + [text(f"Not available: {reason}.", "note")]
    given = stability.get("methods") or {}
    methods = {m: given[m] for m in sorted(given, key=_method_order) if given[m]}
    if not methods:
        return blocks + [text("No attribution method was compared across members.", "note")]
    settings = next(iter(methods.values()))["settings"]
    blocks.append(text(_definition(stability, settings), "note"))
    names = list(methods)
    columns = ["ingredient", "recipes"]
    for m in names:
        label = SHORT_NAMES.get(m, m)
        columns += [f"{label} rank corr.", f"{label} sign flips", f"{label} verdict"]
    numeric = tuple(i for i, c in enumerate(columns) if c.endswith(("recipes", "corr.",
                                                                     "flips")))
    by_key = {m: {(p, e["ingredient"]): e for p, entries in s["per_property"].items()
                  for e in entries} for m, s in methods.items()}
    first = methods[names[0]]
    for prop in sorted(first["per_property"]):
        entries = {e["ingredient"]: e for e in first["per_property"][prop]}
        shown = [i for i in _ordered(entries, order.get(prop, []))
                 if entries[i]["n"] >= settings["min_recipes"]]
        left_out = len(entries) - len(shown)
        rows = []
        for name in shown:
            row = [palette.label(name), n_cell(entries[name]["n"])]
            for m in names:
                e = by_key[m].get((prop, name))
                row += _method_cells(e, methods[m]["settings"])
            rows.append(row)
        note = (f"{count(left_out)} ingredient(s) held by fewer than {settings['min_recipes']} "
                "explained recipes are left out (no verdict)." if left_out else "")
        if rows:
            blocks.append(table(columns, rows, caption=f"Stability of the attributions of {prop}",
                                note=note, numeric=numeric))
        else:
            blocks.append(text(f"{prop}: no ingredient is held by {settings['min_recipes']} or "
                               "more explained recipes, so no verdict.", "note"))
    return blocks


def sign_blocks(disagreement, absence: str, balance: str | None,
                palette: Palette) -> list[dict]:
    """Where Integrated Gradients and Shapley values have opposite signs in most recipes: a
    warning with the pairs and why the two methods can differ; a line when nowhere.
    ``absence`` is the kind the attributions used, ``balance`` the balance ingredient's label."""
    blocks = [heading("Opposite signs: Integrated Gradients against Shapley")]
    if not is_available(disagreement) or not disagreement:
        reason = (disagreement or {}).get("reason") or "not computed for these results"
        return blocks + [text(f"Not available: {reason}.", "note")]
    s = disagreement["settings"]
    counted = (f"counting the recipes holding the ingredient where either value is at least "
               f"{pct(s['negligible_share'])} of the case's largest |attribution|")
    flagged = disagreement.get("flagged") or []
    if not flagged:
        return blocks + [text(
            f"For no ingredient with at least {s['min_recipes']} counted recipes do the two "
            f"methods have opposite signs in more than {pct(s['threshold'])} of them ("
            f"{counted}).", "note")]
    blocks.append(text(
        f"Integrated Gradients and Shapley values have opposite signs in more than "
        f"{pct(s['threshold'])} of the recipes for {count(len(flagged))} (property, ingredient) "
        f"pair(s) ({counted}, at least {s['min_recipes']} of them). For these ingredients the "
        "sign of an attribution depends on the method: read the explanation below before "
        "reading either.", "warning"))
    blocks.append(table(
        ["property", "ingredient", "counted recipes", "opposite signs"],
        [(f["property"], palette.label(f["ingredient"]), n_cell(f["n_signed"]),
          cell(pct(f["share"]), cls="num bad")) for f in flagged],
        caption="Ingredients whose Integrated Gradients and Shapley values mostly disagree in "
                "sign", numeric=(2, 3)))
    baselines = disagreement.get("baselines") or {}
    blocks.append(text(
        "Why the methods can disagree: they answer different questions. "
        f"{baselines.get('shapley', '')} {baselines.get('ig', '')} "
        + _which_to_read(absence, balance), "note"))
    return blocks


def _which_to_read(absence: str, balance: str | None) -> str:
    if absence == "balance":
        named = f"the balance ingredient, {balance}" if balance else "the balance ingredient"
        return (f"On recipes whose amounts sum to a fixed total, a Shapley value weighs the "
                f"ingredient against the same amount of {named} (token removed, the whole "
                f"amount swapped), averaged over which other ingredients are present; "
                f"Integrated Gradients keep every token in the recipe (at amount 0 where the "
                f"path starts) and add up the effect of each ingredient's amount, traded "
                f"against the balance ingredient, as all amounts grow together from the whole "
                f"total in the balance ingredient to the recipe. An ingredient whose presence "
                f"raises the prediction while more of it lowers it gets opposite signs. Read "
                f"the Shapley value to decide whether to keep the ingredient or replace it by "
                f"the balance ingredient; read Integrated Gradients for which way its amount, "
                f"taken from the balance ingredient, moved the prediction on the way to this "
                f"recipe.")
    if absence == "zero":
        return ("Both keep every ingredient token; a Shapley value sets this ingredient's amount "
                "to 0 with each subset of the others at their amounts, while Integrated "
                "Gradients move all amounts together from 0, so the two split the interactions "
                "between ingredients differently; and where amounts sum to a fixed total, "
                "setting one to 0 takes the recipe off that total. Read the Shapley value for "
                "the effect of leaving this ingredient's amount out; read Integrated Gradients "
                "for its share of the change as all amounts rise together from 0.")
    return ("A Shapley value measures what the ingredient's presence adds (token in or out, "
            "other amounts unchanged); Integrated Gradients cannot remove a token part way, so "
            "they measure what the amounts add with every token present. An ingredient whose "
            "presence raises the prediction while more of it lowers it gets opposite signs; "
            "where amounts sum to a fixed total, neither keeps that total. Read the Shapley "
            "value to decide whether to include the ingredient; read Integrated Gradients for "
            "the effect of its amount.")


def _definition(stability: dict, settings: dict) -> str:
    return (
        f"Each of the {stability['n_members']} members of the cross-fitted ensemble (each "
        f"trained without one fold of the recipes) explained the same "
        f"{count(stability['n_cases'])} cases with the primary model's settings (absent "
        f"ingredient = '{stability['absence']}'; Shapley values enumerated where the primary's "
        f"are and sampled with one seed for every member). Per property and ingredient, over "
        f"the explained recipes holding it: rank correlation = the mean over member pairs of "
        f"the Spearman correlation of the ingredient's attributions across those recipes (do "
        f"the members agree where it matters more? Not computed below "
        f"{settings['min_rank_recipes']} recipes); sign flips = the share of recipes in which "
        f"a member's value has the opposite sign to the members' mean, counting only values "
        f"of at least {pct(settings['negligible_share'])} of that member's largest "
        f"|attribution| in the recipe (recipes with no such value are left out). Stable: at "
        f"least {settings['min_recipes']} recipes, rank correlation at least "
        f"{fixed(settings['min_rank_correlation'])} and sign flips at most "
        f"{pct(settings['max_sign_flips'])}. Read only the stable attributions as properties "
        f"of the data rather than of one fitted network.")


def _method_cells(e: dict | None, settings: dict) -> list[dict]:
    if e is None:
        return [cell(NO_ENSEMBLE), cell(NO_ENSEMBLE), cell(NO_ENSEMBLE)]
    rho = e["rank_correlation"]
    rank = cell(fixed(rho), cls="num", title=e.get("rank_reason") or None)
    flips = e["sign_flip_share"]
    flip = cell(pct(flips) if flips is not None else NO_ENSEMBLE, cls="num",
                title=None if flips is not None else "no member's value is non-negligible")
    return [rank, flip, _verdict(e, settings)]


def _verdict(e: dict, settings: dict) -> dict:
    if e["n"] < settings["min_recipes"]:
        return cell("too few recipes", cls="badge meh",
                    title=f"held by {e['n']} explained recipe(s), fewer than "
                          f"{settings['min_recipes']}")
    if e["stable"]:
        return cell("stable", cls="badge good")
    return cell("unstable", cls="badge bad")


def _method_order(name: str) -> tuple[int, str]:
    order = list(SHORT_NAMES)
    return (order.index(name) if name in order else len(order), name)


def _judged(s: dict) -> list[tuple[str, dict]]:
    return [(p, e) for p, entries in s["per_property"].items() for e in entries
            if e["n"] >= s["settings"]["min_recipes"]]


def _ordered(entries: dict, order: list[str]) -> list[str]:
    first = [i for i in order if i in entries]
    return first + sorted(i for i in entries if i not in set(first))
