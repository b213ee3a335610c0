"""The "Where the time goes" section of BENCHMARKS.md: cProfile tables and their readings."""

from __future__ import annotations

from bench.targets import Verdict


def profiles(results: dict, verdicts: list[Verdict]) -> str:
    """The page's last section: each profile as a table and a one-line reading."""
    missed = {v.profile for v in verdicts if v.outcome == "missed" and v.profile}
    out = ["## Where the time goes", "",
           "cProfile of one call each (own time, top functions); shown for every benchmark, "
           "and the ones behind a missed target are marked."]
    shapley = results.get("shapley", {}).get("profile", {})
    for key, p in shapley.items():
        mark = " (behind a missed target)" if f"shapley.{key}" in missed else ""
        what = (f"{p['players']} ingredients" + (f", {p['permutations']} permutations"
                                                  if "permutations" in p else "")
                + (f", {p['recipes']} recipes in one call" if "recipes" in p else ""))
        out += ["", f"### Shapley {key}, {what}{mark}", "", _profile_table(p["top"]), "",
                _profile_reading(p["top"])]
    if results.get("ig", {}).get("profile"):
        mark = " (behind a missed target)" if "ig" in missed else ""
        out += ["", f"### This project's IG on {results['ig']['n_recipes']} recipes{mark}", "",
                _profile_table(results["ig"]["profile"]), "",
                _profile_reading(results["ig"]["profile"])]
    return "\n".join(out)


# What a profiled function's own time is spent on, by a fragment of its name.
_KINDS = (
    ("run_backward", "the autograd backward pass"),
    ("_make_grads", "seeding one gradient per output (captum unbinds the outputs)"),
    ("ones_like", "seeding one gradient per output (captum unbinds the outputs)"),
    ("unbind", "seeding one gradient per output (captum unbinds the outputs)"),
    ("scaled_dot_product_attention", "attention kernels"),
    ("softmax", "attention kernels"),
    ("baddbmm", "attention kernels"),
    ("matmul", "attention kernels"),
    ("reshape", "copying tensors into the layout the kernels need"),
    ("linear", "dense layers"),
    ("gelu", "activations"),
    ("index_select", "gathering coalition tokens"),
    ("nonzero", "gathering coalition tokens"),
)


def _profile_reading(rows: list[dict]) -> str:
    """One sentence: the profile's own time grouped by what it is spent on."""
    shares: dict[str, float] = {}
    for r in rows:
        kind = next((k for frag, k in _KINDS if frag in r["function"]),
                    "Python around the kernels")
        shares[kind] = shares.get(kind, 0.0) + r["share"]
    parts = [f"{share:.0%} {kind}" for kind, share in
             sorted(shares.items(), key=lambda kv: -kv[1]) if share >= 0.01]
    return "Reading: " + ", ".join(parts) + "."


def _profile_table(rows: list[dict]) -> str:
    lines = ["| function | calls | own s | cumulative s | share |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r['function']}` | {r['calls']} | {r['own_s']:.3f} | "
                     f"{r['cumulative_s']:.3f} | {r['share']:.0%} |")
    return "\n".join(lines)
