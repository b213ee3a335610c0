from bench.profile_markdown import profiles
from bench.targets import Verdict


def row(function: str, share: float) -> dict:
    return {"function": function, "calls": 1, "own_s": share, "cumulative_s": share,
            "share": share}


def test_profiles_are_tabled_read_and_marked_when_behind_a_miss():
    top = [row("<built-in method torch.baddbmm>", 0.3), row("<built-in method linear>", 0.5),
           row("xai/attribution/coalitions.py:242(game)", 0.2)]
    results = {"shapley": {"profile": {"batch": {"players": 10, "recipes": 1000, "top": top}}},
               "ig": {"n_recipes": 200, "profile": top}}
    missed = Verdict("t", "f", "missed", "m", "shapley.batch")
    page = profiles(results, [missed])
    assert "### Shapley batch, 10 ingredients, 1000 recipes in one call (behind a missed " \
           "target)" in page
    assert "### This project's IG on 200 recipes\n" in page  # not behind a miss
    assert "| `<built-in method torch.baddbmm>` | 1 | 0.300 | 0.300 | 30% |" in page
    assert ("Reading: 50% dense layers, 30% attention kernels, 20% Python around the kernels."
            in page)
