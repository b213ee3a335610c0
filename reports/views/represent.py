"""Views of the representation analysis: embedding geometry and agreement, substitution
experiments, hypothesis verdicts and learning dynamics."""

from __future__ import annotations

import csv
import io
import json

from reports.figures import representations as figs
from reports.format import count, fixed, num, pvalue, signed
from reports.palette import Palette, build_palette
from reports.views.common import (
    SMALL_SAMPLE,
    cell,
    download,
    figure,
    heading,
    is_available,
    is_small,
    legend,
    n_cell,
    section,
    table,
    text,
    unavailable,
    verdict_cell,
)

LABEL_LIMIT = 40  # rows above which a distance matrix is shown per group, with a download
KINDS = ("expert", "nearest", "same_group", "random")
ALPHA = 0.05


def representations_section(r: dict, palette: Palette, property_groups: dict[str, str]) -> dict:
    title = "Representations"
    if not is_available(r):
        return unavailable("representations", title, r)
    ing, prop = r["ingredients"], r["properties"]
    ia, pa = ing.get("agreement"), prop.get("agreement")
    reading = "Ingredient vectors: " + _agreement_line(ia) + " Property vectors: " + (
        _agreement_line(pa))
    blocks = [text("Distances in the embedding tables' own units; clustering and layout use the "
                   f"{ing['geometry']['metric']} distance with {ing['geometry']['linkage_method']}"
                   " linkage. Rare ingredients (in fewer than "
                   f"{ing['geometry']['rare_threshold']} training recipes) keep vectors close to "
                   "their initialisation and are left out of the agreement scores.", "note")]
    rows = []
    for label, agreement in (("ingredients", ia), ("properties", pa)):
        if agreement:
            perm = agreement["permanova"]
            rows.append((label, count(agreement["n_items"]), count(agreement["n_groups"]),
                         fixed(agreement["ari"]), fixed(agreement["nmi"]),
                         f"{fixed(agreement['knn_purity'])} ({fixed(agreement['knn_chance'])})",
                         fixed(perm["ratio"]), pvalue(perm["p_value"])))
        else:
            rows.append((label, "\u2013", "\u2013", "\u2013", "\u2013", "\u2013", "\u2013",
                         "no expert groups to compare with"))
    blocks.append(table(["table", "items", "groups", "ARI", "NMI", "kNN purity (chance)",
                         "within / between", "PERMANOVA p"], rows,
                        caption="Agreement of the embeddings with expert groups",
                        numeric=(1, 2, 3, 4, 5, 6, 7)))
    truth = r.get("truth") or {}
    if truth:
        rows = []
        for label, key in (("ingredient families", "family_recovery"),
                           ("property groups", "property_group_recovery")):
            t = truth.get(key) or {}
            rows.append((label, count(t.get("n")), count(t.get("k")), count(t.get("n_true")),
                         fixed(t.get("ari")), fixed(t.get("ari_at_true_k"))))
        blocks.append(table(["true labels", "items", "clusters found", "true groups", "ARI",
                             "ARI at true k"], rows,
                            caption="Recovery of the synthetic ground truth",
                            numeric=(1, 2, 3, 4, 5)))

    g = ing["geometry"]
    groups = {n: palette.group_of(n) for n in g["names"]}
    blocks.append(heading("Ingredient vectors"))
    blocks.append(legend(palette, g["names"]))
    full = _matrix_csv(ing["distances"], [palette.label(n) for n in g["names"]])
    if len(g["names"]) > LABEL_LIMIT:
        blocks.append(figure(
            figs.group_heatmap(ing["distances"], g["names"], groups,
                               {x: palette.group_colour(x) for x in set(groups.values())},
                               metric=g["metric"],
                               title="mean distance between ingredient groups"),
            "Heatmap of mean distances between and within expert groups of ingredients",
            f"{len(g['names'])} ingredients are too many to label one by one: each cell is "
            "the mean distance between the members of two groups (count in brackets); a "
            "diagonal cell lighter than its row means the group's vectors sit together.",
            download=download(full, "ingredient_distances.csv",
                              f"Download the full {len(g['names'])} \u00d7 {len(g['names'])} "
                              "distance matrix (CSV)")))
    blocks.append(figure(
        figs.distance_heatmap(ing["distances"], [palette.label(n) for n in g["names"]],
                              g["linkage"], g["leaf_order"],
                              {palette.label(n): palette.colour(n) for n in g["names"]},
                              metric=g["metric"], label_limit=LABEL_LIMIT,
                              legend=palette.legend(g["names"]),
                              title="ingredient distances, ordered by the dendrogram"),
        "Heatmap of distances between ingredient vectors with a dendrogram",
        "Left strip: expert group colour. Light blocks along the diagonal are clusters of "
        "similar vectors; a group that forms one block has a shared representation.", png=True,
        download=None if len(g["names"]) > LABEL_LIMIT else
        download(full, "ingredient_distances.csv", "Download the distance matrix (CSV)")))
    if g.get("layout"):
        lay = g["layout"]
        blocks.append(figure(
            figs.layout_scatter(lay["coords"], g["names"], palette, groups=groups,
                                rare=g.get("rare", []), method=lay["method"],
                                labels={n: palette.label(n) for n in g["names"]},
                                title=f"ingredient vectors ({lay['method'].upper()})"),
            "Scatter plot of ingredient vectors in two dimensions coloured by expert group",
            lay.get("note") or "Nearby points have similar vectors; colour = expert group."))

    pg = prop["geometry"]
    prop_palette = build_palette({p: property_groups.get(p, "") or "ungrouped"
                                  for p in pg["names"]})
    blocks.append(heading("Property task vectors"))
    blocks.append(figure(
        figs.distance_heatmap(prop["distances"], pg["names"], pg["linkage"], pg["leaf_order"],
                              {p: prop_palette.colour(p) for p in pg["names"]},
                              metric=pg["metric"], legend=prop_palette.legend(pg["names"]),
                              title="property distances, ordered by the dendrogram"),
        "Heatmap of distances between property task vectors with a dendrogram"))
    if pg.get("layout"):
        lay = pg["layout"]
        blocks.append(figure(
            figs.layout_scatter(lay["coords"], pg["names"], prop_palette,
                                groups={p: prop_palette.group_of(p) for p in pg["names"]},
                                method=lay["method"],
                                title=f"property task vectors ({lay['method'].upper()})"),
            "Scatter plot of property task vectors in two dimensions coloured by group",
            lay.get("note", "")))
    return section("representations", title, reading, blocks)


def substitution_section(s: dict, units: dict[str, str] | None = None) -> dict:
    def unit_of(prop: str) -> str:
        return (units or {}).get(prop, "")

    title = "Substitution experiments"
    if not is_available(s) or not is_available(s.get("ingredients")):
        return unavailable("substitution", title, s.get("ingredients") if is_available(s) else s)
    ing = s["ingredients"]
    head = ing["headline"]
    versus = head.get("versus_random", {})
    parts = [f"{k.replace('_', ' ')}: {v['verdict']}" for k, v in versus.items()]
    reading = ("Swapping an ingredient's vector, compared with random donors \u2013 "
               + ("; ".join(parts) if parts else "no informed donors to compare") + ".")
    kinds = [k for k in KINDS if k in head.get("kinds", {})]
    rows = []
    for kind in kinds:
        k = head["kinds"][kind]
        v = versus.get(kind, {})
        rows.append((kind.replace("_", " "), count(k["n_ingredients"]), count(k["n_swaps"]),
                     num(k["mean_abs_change"]), num(k["median_abs_change"]),
                     signed(k["mean_error_change"]), pvalue(v.get("p_value")),
                     v.get("verdict", "null" if kind == "random" else "\u2013")))
    st = ing.get("settings", {})
    blocks = [
        text(_sentence(head.get("question", "")), "note"),
        text(f"Run on {count(st.get('n_formulations'))} test formulations (a seeded sample), "
             f"for every property, swapping the {st.get('n_frequent')} most frequent ingredients "
             f"there and every ingredient with an expert substitute; "
             f"{st.get('n_random')} random donors per ingredient form the null "
             f"(pool: {st.get('random_pool')}).", "note"),
        table(["donor", "ingredients", "swaps", "mean |change|", "median |change|",
               "error change", "p vs random", "verdict"], rows,
              caption="Prediction changes when an ingredient gets another's vector",
              note=head.get("units", ""), numeric=(1, 2, 3, 4, 5, 6)),
        figure(figs.donor_strip(ing["per_ingredient"], kinds),
               "Strip plot of prediction change per ingredient for each donor kind"),
    ]
    skipped = ing.get("skipped", [])
    if skipped:
        blocks.append(table(["ingredient", "donor", "kind", "reason"],
                            [(x["ingredient"], x["donor"], x["donor_kind"], x["reason"])
                             for x in skipped[:20]],
                            caption=f"Swaps not run ({len(skipped)})"))
    props = s.get("properties")
    if is_available(props) and props:
        h = props.get("headline", {})
        blocks.append(heading("Property task-vector substitution"))
        blocks.append(text(_sentence(h.get("question", "")), "note"))
        rows = []
        for p, e in sorted(h.get("properties", {}).items()):
            rows.append((p, count(e.get("train_count")), n_cell(e.get("n_cases")),
                         _with_unit(num(e.get("own_mae")), unit_of(p)),
                         e.get("recommended_donor") or "\u2013",
                         _change(e.get("recommended_mae_change"), unit_of(p)),
                         e.get("best_donor") or "\u2013",
                         _change(e.get("best_mae_change"), unit_of(p))))
        if rows:
            blocks.append(table(["low-data property", "training", "test cases", "own MAE",
                                 "recommended donor", "MAE change", "best donor",
                                 "best MAE change"], rows,
                                caption="Giving a low-data property another property's vector",
                                note="MAE in each property's unit; a change with its 95% "
                                     "interval in brackets; negative change = the donor's "
                                     "vector predicts better.", numeric=(1, 2, 3, 5, 7)))
    return section("substitution", title, reading, blocks)


def _with_unit(text: str, unit: str) -> str:
    return text if not unit or text == "\u2013" else f"{text} {unit}"


def _change(value, unit: str = "") -> str:
    """A change as one number or as ``[estimate, low, high]`` (an interval), with its unit."""
    if isinstance(value, list | tuple):
        estimate = value[0] if value else None
        interval = ""
        if len(value) == 3 and value[1] is not None and value[2] is not None:
            interval = f" [{signed(value[1])}, {signed(value[2])}]"
        return _with_unit(signed(estimate) + interval, unit)
    return _with_unit(signed(value), unit)


def _matrix_csv(matrix, names) -> str:
    """A square matrix as CSV text with the names as first column and header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["", *names])
    for name, row in zip(names, matrix, strict=True):
        writer.writerow([name, *("" if v is None else f"{v:.6g}" for v in row)])
    return buffer.getvalue()


def _truth_cell(e: dict | None) -> dict:
    if e is None:
        return cell("\u2013")
    text = "agrees" if e["agrees"] else f"expected {e['expected']}"
    return cell(text, title=e["reason"], cls="good" if e["agrees"] else "bad")


def hypotheses_section(h: dict) -> dict:
    title = "Hypotheses"
    if not is_available(h):
        return unavailable("hypotheses", title, h)
    verdicts = h.get("verdicts", [])
    tally = {v: sum(x["verdict"] == v for x in verdicts)
             for v in ("supported", "not supported", "inconclusive")}
    reading = (f"{tally['supported']} of {len(verdicts)} hypotheses supported, "
               f"{tally['not supported']} not supported, {tally['inconclusive']} inconclusive "
               f"(p-values {h.get('correction', 'holm')}-adjusted across hypotheses).")
    expected = h.get("truth") or {}
    if expected:
        agree = sum(e["agrees"] for e in expected.values())
        reading += f" {agree} of {len(expected)} verdicts agree with the data's ground truth."
    rows = []
    for v in verdicts:
        interval = v.get("interval")
        shown = f"[{num(interval[0])}, {num(interval[1])}]" if interval else "\u2013"
        evidence = v.get("evidence", {})
        rows.append((cell(_sentence(v["statement"]), title=v["name"]), verdict_cell(v["verdict"]),
                     n_cell(_cases(evidence)),
                     num(v.get("statistic")), pvalue(v.get("p_value")),
                     pvalue(v.get("adjusted_p")), shown, signed(v.get("effect_size")),
                     evidence.get("statistic", "") + (f" {v['note']}" if v.get("note") else ""))
                    + ((_truth_cell(expected.get(v["name"])),) if expected else ()))
    blocks = [table(["hypothesis", "verdict", "cases", "statistic", "p", "adjusted p",
                     "interval", "effect", "evidence"]
                    + (["ground truth"] if expected else []), rows,
                    caption="Representation hypotheses", numeric=(2, 3, 4, 5, 7),
                    note=f"Cases marked small: the verdict rests on fewer than {SMALL_SAMPLE} "
                         "cases.")]
    for v in verdicts:
        blocks.extend(_evidence_blocks(v))
    return section("hypotheses", title, reading, blocks)


def _cases(evidence: dict):
    """The number of cases a hypothesis's evidence rests on, where it says."""
    for key in ("n", "n_cases", "n_items", "n_test"):
        if isinstance(evidence.get(key), int):
            return evidence[key]
    return None


def _evidence_blocks(v: dict) -> list[dict]:
    """A hypothesis's evidence as tables (its numbers, then one table per list or mapping of
    records) and a small bar chart of the first numeric column, with the JSON as a download."""
    evidence = v.get("evidence") or {}
    name = v["name"]
    blocks = [heading(f"Evidence: {_sentence(v['statement'])}")]
    if not evidence:
        return blocks + [text("No evidence recorded" + (f": {v['note']}" if v.get("note")
                                                          else "."), "note")]
    scalars, records = [], []
    for key, value in sorted(evidence.items()):
        if isinstance(value, dict) and value and all(isinstance(x, dict)
                                                      for x in value.values()):
            records.append((key, [{"": k, **x} for k, x in value.items()]))
        elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            records.append((key, value))
        elif isinstance(value, dict):
            scalars.extend((f"{key} {k}", _shown(x)) for k, x in sorted(value.items()))
        else:
            scalars.append((key.replace("_", " "), _shown(value)))
    n = _cases(evidence)
    if scalars:
        rows = [(k, n_cell(x) if k == "n" and isinstance(x, int) else x) for k, x in
                ((k, evidence.get("n") if k == "n" else x) for k, x in scalars)]
        blocks.append(table(["quantity", "value"], rows, caption=f"{name}: numbers",
                            numeric=(1,),
                            note=f"Rests on {count(n)} cases: a small sample."
                            if is_small(n) else ""))
    for key, items in records:
        columns = [c for c in dict.fromkeys(k for x in items for k in x)
                   if all(not isinstance(x.get(c), dict) for x in items)]
        rows = [[_shown(x.get(c)) for c in columns] for x in items]
        numeric = [j for j, c in enumerate(columns)
                   if any(isinstance(x.get(c), int | float) and not isinstance(x.get(c), bool)
                          for x in items)]
        blocks.append(table([c.replace("_", " ") or "entry" for c in columns], rows,
                            caption=f"{name}: {key.replace('_', ' ')}", numeric=numeric))
        labels = [str(x.get("") or x.get("series") or x.get("name") or i)
                  for i, x in enumerate(items)]
        value_column = next((columns[j] for j in numeric if columns[j] not in ("n", "")),
                            None)
        values = [x.get(value_column) for x in items] if value_column else []
        if value_column and len(values) >= 2 and all(isinstance(x, int | float)
                                                     for x in values):
            blocks.append(figure(
                figs.evidence_bars(labels, values, xlabel=value_column.replace("_", " ")),
                f"Bar chart of {value_column.replace('_', ' ')} per "
                f"{key.replace('_', ' ')} for {name}"))
    blocks.append({"kind": "download", "name": f"{name}.json",
                   "text": f"Evidence of {name} as JSON",
                   "href": download(json.dumps(evidence, indent=1, sort_keys=True, default=str),
                                    f"{name}.json", "", mime="application/json")["href"]})
    return blocks


def _shown(value) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "\u2013"}[value]
    if isinstance(value, int):
        return count(value)
    if isinstance(value, float):
        return num(value)
    if isinstance(value, list):
        if all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
            return ", ".join(num(x) for x in value[:8]) + (" \u2026" if len(value) > 8 else "")
        return ", ".join(str(x) for x in value[:8]) + (" \u2026" if len(value) > 8 else "")
    return str(value)


def dynamics_section(d: dict) -> dict:
    title = "Learning dynamics"
    if not is_available(d):
        return unavailable("dynamics", title, d)
    blocks = []
    reading = (f"Training stopped: {d.get('stop_reason') or 'unknown'}; best validation loss at "
               f"epoch {d.get('best_epoch')} of {len(d.get('epochs', []))}.")
    if d.get("epochs"):
        blocks.append(figure(figs.loss_curves(d["epochs"], d["train_loss"], d["validation_loss"],
                                              d.get("best_epoch")),
                             "Line chart of training and validation loss per epoch"))
    emb = d.get("embeddings") or {}
    if emb.get("available"):
        series = {}
        for label in ("ingredients", "properties"):
            t = emb.get(label)
            if t and any(v is not None for v in t.get("ratio", [])):
                series[label] = t["ratio"]
        if series:
            blocks.append(figure(figs.separation_curves(emb["epochs"], series,
                                                        ylabel="within / between group distance"),
                                 "Line chart of group separation of the embeddings per epoch",
                                 "Below 1: members of an expert group are closer than members "
                                 "of different groups."))
            separated = {k: (emb.get(k) or {}).get("separated_at") for k in series}
            reading += " Groups separated by epoch " + ", ".join(
                f"{v} ({k})" for k, v in separated.items() if v is not None) + "."
    else:
        blocks.append(text(f"Embedding dynamics not available: "
                           f"{emb.get('reason') or 'no snapshots'}.", "note"))
    return section("dynamics", title, reading, blocks)


def _sentence(value: str) -> str:
    """Capitalise the first letter (analysers phrase statements in lower case)."""
    return value[:1].upper() + value[1:]


def _agreement_line(a: dict | None) -> str:
    if not a:
        return "no expert groups to compare with."
    p = a["permanova"]
    closer = p["ratio"] is not None and p["ratio"] < 1 and (p["p_value"] or 1) < ALPHA
    return (f"same-group items are {'closer' if closer else 'not clearly closer'} than others "
            f"(within/between {fixed(p['ratio'])}, PERMANOVA p {pvalue(p['p_value'])}; "
            f"ARI {fixed(a['ari'])}).")
