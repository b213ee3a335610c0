"""BENCHMARKS.md from the raw results of a run: machine, targets, one table per benchmark,
profiles of the missed targets, and the GPU figures (labelled) where a GPU run was recorded.

``python -m bench.markdown`` re-renders BENCHMARKS.md from ``bench/results-cpu.json`` and
``bench/results-gpu.json`` without measuring anything (e.g. after adding a GPU run).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.design_markdown import stored_section
from bench.number_format import gb as _gb
from bench.number_format import num as _num
from bench.number_format import pct as _pct
from bench.profile_markdown import profiles
from bench.shapley_markdown import shapley_section
from bench.targets import Verdict, check_targets

HERE = Path(__file__).resolve().parent
CPU_RESULTS = HERE / "results-cpu.json"
GPU_RESULTS = HERE / "results-gpu.json"
SCALE_RESULTS = HERE / "results-scale.json"  # make bench-scale: the report at 500,000 recipes
OUTPUT = HERE.parent / "BENCHMARKS.md"


def render(results: dict, gpu: dict | None = None, large: dict | None = None) -> str:
    """The whole page as Markdown; every figure is read from ``results`` / ``gpu`` and, for
    the sizes ``results`` did not run, from ``large`` (``make bench-scale``'s results)."""
    verdicts = check_targets(with_large_sizes(results, large))
    parts = [_header(results), _targets(verdicts)]
    if "shapley" in results:
        parts.append(shapley_section(results["shapley"]))
    if "ig" in results:
        parts.append(_ig(results["ig"], "## 2. Integrated Gradients"))
    if "training" in results:
        parts.append(_training(results["training"], "## 3. Training"))
    if "scale" in results:
        parts.append(_scale(results["scale"]))
    if large and "scale" in large:
        parts.append(_scale(large["scale"], "### 4b. Scale, `make bench-scale` (written by "
                                            f"`{large.get('command', '')}`)"))
    parts.append(_gpu(gpu))
    if "startup" in results:
        parts.append(_startup(results["startup"]))
    parts.append(_real_data())
    if "contention" in results:
        parts.append(_contention(results["contention"]))
    if "partitioned" in results:
        parts.append(_partitioned(results["partitioned"]))
    parts.append(profiles(results, verdicts))
    parts.append(stored_section())  # python -m bench.design's section, kept across rewrites
    return "\n\n".join(p.rstrip() for p in parts if p) + "\n"


def _header(r: dict) -> str:
    m, load = r["machine"], r.get("load", {})
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{r['command']}` ({r['mode']} mode) on {m['date']}. Every figure below "
        f"comes from that run (raw numbers: `{r.get('raw', '-')}`); timings are medians over "
        "the repeats stated beside them, and each comparison is a ratio of figures measured in "
        "the same run. Attributions and their errors are in the property's standardised model "
        "units.",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} (torch threads: {m['torch_threads']}) |",
        f"| BLAS | {_blas(m, r)} |",
        f"| memory | {m['memory_gb']} GiB |",
        f"| system | {m['platform']}, Python {m['python']} |",
        f"| libraries | {versions} |",
        f"| 1-minute load average | {_num(load.get('load_at_start'))} at the start, "
        f"{_num(r.get('load_at_end'))} at the end"
        f"{'' if load.get('quiet', True) else ' (the machine was busy: figures are noisy)'} |",
        f"| 1-minute load average after each benchmark | {_loads(r)} |",
        f"| wall time of the run | {_num(r.get('elapsed_s'), 4)} s |",
    ]
    return "\n".join(lines)


def _loads(r: dict) -> str:
    loads = dict(r.get("load_by_benchmark", {}))
    sizes = r.get("shapley", {}).get("sizes", {})
    if sizes:
        loads["shapley"] = ", ".join(f"{_num(v.get('load_after'))} ({n} ingredients)"
                                     for n, v in sizes.items()) + \
            f", {_num(loads.get('shapley'))} (batch)"
    return "; ".join(f"{k}: {v if isinstance(v, str) else _num(v)}" for k, v in loads.items()) \
        or "-"


def _blas(m: dict, r: dict) -> str:
    libraries = ", ".join(f"{b['library']} ({b['threads']} threads by default)"
                          for b in m.get("blas", [])) or "-"
    if r.get("blas_limit") is None:
        return libraries
    return (f"{libraries}; limited to {r['blas_limit']} thread in the benchmark process (the "
            "commands run in subprocesses keep the default; see section 2)")


def _targets(verdicts: list[Verdict]) -> str:
    rows = ["## Targets", "", "| target | measured | outcome |", "|---|---|---|"]
    for v in verdicts:
        rows.append(f"| {v.target} | {v.figure} | **{v.outcome}**: {v.margin} |")
    return "\n".join(rows)


def _ig(ig: dict, title: str) -> str:
    c = ig["config"]
    out = [title, "", f"Device `{ig['device']}`, {ig['n_recipes']} recipes, property "
           f"`{c['property']}`, zero-amount baseline. Converged: |delta| <= "
           f"max({c['tolerance']:g} x |f(x) - f(0)|, {c['absolute_floor']:g}). This project's "
           f"IG: one batched call, nested Clenshaw-Curtis rules doubling from 8 intervals up to "
           f"{c['max_steps']} for the cases not yet converged (n intervals: n + 1 gradients, "
           "each level reusing the last one's); "
           "captum: `IntegratedGradients` on the plain Mixer forward, one recipe per call, "
           "defaults otherwise.", ""]
    ours = ig["ours"]
    if "error" in ours:
        out.append(f"This project's IG did not run on `{ig['device']}`: `{ours['error']}`")
        out.append("")
    out += ["| method | steps | recipes/s | converged | median rel. delta | max rel. delta | "
            "runs |", "|---|---|---|---|---|---|---|"]
    if "error" not in ours:
        steps = ", ".join(f"{k}: {v}" for k, v in ours["steps"].items())
        out.append(f"| this project | adaptive ({steps}) | {ours['recipes_per_s']:.1f} | "
                   f"{_pct(ours['converged'])} | {_num(ours['median_rel_delta'])} | "
                   f"{_num(ours['max_rel_delta'])} | {len(ours['runs_s'])} |")
    for level in ig["captum"]:
        out.append(f"| captum per recipe | {level['steps']} | {level['recipes_per_s']:.1f} | "
                   f"{_pct(level.get('converged'))} | {_num(level.get('median_rel_delta'))} | "
                   f"{_num(level.get('max_rel_delta'))} | {len(level['runs_s'])} |")
    if "speedup_default" in ig:
        out += ["", f"Speed-up over captum at its default 50 steps: {ig['speedup_default']:.1f}x"
                + ("" if ig.get("speedup_matched") is None else
                   f"; at the same tolerance ({ig['matched_steps']} steps): "
                   f"{ig['speedup_matched']:.1f}x") + "."]
    b = ig.get("blas_interference")
    if b:
        out += ["", f"BLAS threads: captum's per-recipe loop at {b['steps']} steps on "
                f"{b['n_recipes']} recipes takes {_num(b['one_thread']['median_s'])} s with "
                f"BLAS limited to one thread and {_num(b['per_core']['median_s'])} s with "
                f"{b['per_core']['blas_threads']} BLAS threads ({b['slowdown']:.1f}x; medians "
                "of 3). Above 64 steps captum computes its Gauss-Legendre nodes with numpy's "
                "`eigvalsh`, after which OpenBLAS threads spin and take the cores from torch's. "
                "Every other figure here is measured with BLAS limited to one thread, so that "
                "captum's higher step counts are not penalised by it."]
    p = ig.get("pairs", {})
    if "error" in p:
        out += ["", f"{p['n_pairs']} (recipe, property) pairs: did not run: `{p['error']}`"]
    elif p:
        out += ["", f"{p['n_pairs']} (recipe, property) pairs ({p['n_recipes']} recipes x "
                f"{len(p['properties'])} properties) in one call: {_num(p['median_s'])} s "
                f"(median of {len(p['runs_s'])}), {p['pairs_per_s']:.0f} pairs/s, "
                f"{_pct(p['converged'])} converged, {p['mean_steps']:.1f} steps on average."]
    return "\n".join(out)


def _training(t: dict, title: str) -> str:
    out = [title, ""]
    e = t.get("early_stop", {})
    if "error" in e:
        out.append(f"Time to early stop: {e['error']}.")
    elif e:
        capped = t["config"]["epochs"]
        out += [f"`fit_model` on the default synthetic data (2,000 recipes) with the default "
                f"`TrainConfig`{'' if capped is None else f', capped at {capped} epochs'}, "
                "one run: encoding, training with validation passes, and the final evaluation.",
                "", "| figure | value |", "|---|---|",
                f"| wall time of the fit{' (to early stop)' if capped is None else ''} | "
                f"{_num(e['fit_s'])} s |",
                f"| epochs run (best epoch) | {e['epochs_run']} ({e['best_epoch']}) |",
                f"| stop reason | {e['stop_reason']} |",
                f"| training samples | {e['train_samples']} |",
                f"| samples/s over the whole fit | {e['samples_per_s_overall']:.0f} |",
                f"| median test R^2 (properties with >= 200 measurements) | "
                f"{_num(e['median_test_r2_200plus'])} |"]
    out += ["", "Training throughput: a fresh Mixer of the same shape on the same samples, no "
            "validation pass, median seconds per epoch (first epoch left out when more than two "
            "ran).", "", "| device | samples | batch | s per epoch | samples/s |",
            "|---|---|---|---|---|"]
    for device, th in t["throughput"].items():
        out.append(f"| {device} | {th['samples']} | {th['batch_size']} | "
                   f"{_num(th['median_epoch_s'])} | {th['samples_per_s']:.0f} |")
    d = t.get("demo")
    if d:
        out += ["", f"`xai demo` end to end (fresh process, one run): {d['wall_s']:.1f} s, "
                f"peak resident memory {d['peak_rss_mb']:.0f} MiB, exit code "
                f"{d['returncode']}" + (f"; it printed: \"{d['summary_line']}\"."
                                        if d.get("summary_line") else ".")]
    return "\n".join(out)


def with_large_sizes(results: dict, large: dict | None) -> dict:
    """``results`` whose scale sizes gain those only ``large`` ran (for the targets)."""
    if not large or "scale" not in large:
        return results
    scale = dict(results.get("scale") or large["scale"])
    scale["sizes"] = {**large["scale"]["sizes"], **(results.get("scale") or {}).get("sizes", {})}
    return {**results, "scale": scale}


def _scale(s: dict, title: str = "## 4. Scale") -> str:
    extra = " ".join(s["config"].get("report_args", ()))
    runner = s["runner"] + (f" with `{extra}`" if extra else "")
    out = [title, "", f"Runner: {runner}. Each size: synthetic data without "
           "two properties (10 left), a model trained for "
           f"{s['config']['train_epochs']} epoch(s) with `xai train`, then the report in a "
           "fresh process (peak RSS from `getrusage`). One run per size.", "",
           "| recipes | measurements | report s | report peak RSS | train s | train peak RSS |",
           "|---|---|---|---|---|---|"]
    for n, e in s["sizes"].items():
        r, t = e["report"], e["train"]
        failed = " (failed)" if r["returncode"] else ""
        out.append(f"| {n} | {e['measurements']} | {r['wall_s']:.1f}{failed} | "
                   f"{_gb(r['peak_rss_mb'])} | {t['wall_s']:.1f} | {_gb(t['peak_rss_mb'])} |")
    g = s.get("growth")
    if g:
        out += ["", f"From the smallest to the largest set ({g['recipes']:.0f}x the recipes) "
                f"the report's time grows {g['time']:.2f}x and its peak memory "
                f"{g['memory']:.2f}x."]
    sections = {n: e["report"].get("sections_s") for n, e in s["sizes"].items()}
    if any(sections.values()):
        names = list(dict.fromkeys(k for v in sections.values() if v for k in v))
        out += ["", "Report time by section (seconds):", "",
                "| section | " + " | ".join(f"{n} recipes" for n in sections) + " |",
                "|---|" + "---|" * len(sections)]
        for name in names:
            out.append(f"| {name} | " + " | ".join(
                _num((v or {}).get(name)) for v in sections.values()) + " |")
    for n, e in s["sizes"].items():
        if e["report"].get("error"):
            out += ["", f"The report on {n} recipes failed:", "", "```",
                    e["report"]["error"].strip(), "```"]
    return "\n".join(out)


def _gpu(gpu: dict | None) -> str:
    out = ["## 5. GPU (labelled)", ""]
    if not gpu:
        out.append("GPU figures: not measured (no GPU run is recorded in "
                   "`bench/results-gpu.json`; no GPU machine was lent for the performance "
                   "round that added the contention and scale targets, so training, IG and "
                   "exact Shapley values on CUDA are still to be measured). The CPU figures "
                   "above are the reference.")
        return "\n".join(out)
    m = gpu["machine"]
    out.append(f"Measured on {m.get('gpu', m['device'])} ({m.get('gpu_memory_gb', '?')} GiB, "
               f"CUDA {m.get('cuda', '?')}), host CPU {m['cpu']} with {m['cores']} cores, "
               f"torch {m['versions'].get('torch')}, on {m['date']} with `{gpu['command']}`. "
               "These are not the reference figures; the CPU figures above are.")
    if "ig" in gpu:
        out += ["", _ig(gpu["ig"], "### Integrated Gradients on the GPU")]
    if "training" in gpu:
        out += ["", _training(gpu["training"], "### Training on the GPU")]
    return "\n".join(out)


def _startup(s: dict) -> str:
    command = s.get("command", "python -m bench.run")
    load = (f" (1-minute load average {s['load_at_start']:.1f} at the start)"
            if "load_at_start" in s else "")
    out = ["## 6. Start-up", "",
           f"Wall time of each command in a fresh interpreter, median of {s['repeats']} runs "
           f"interleaved with `python -c pass` (median {_num(s['python_pass_median_s'])} s in "
           f"the same run), measured on {s.get('date', '?')} with `{command}`{load}. The "
           "parsers import no torch, pandas, scipy or Optuna; each command "
           "imports its stack when it runs.", "",
           "| command | median s | x `python -c pass` | runs (s) |", "|---|---|---|---|"]
    for name, c in s["commands"].items():
        runs = ", ".join(_num(t, 2) for t in c["runs_s"])
        out.append(f"| `{name}` | {_num(c['median_s'])} | {c['ratio_to_python']:.1f} | "
                   f"{runs} |")
    return "\n".join(out)


def _contention(c: dict) -> str:
    cfg = c["config"]
    threads = (f"`--threads {cfg['threads']}`" if cfg.get("threads") is not None else
               "the default threads (no `--threads`, no thread variables in the environment)")
    out = ["## 8. Threads under contention", "",
           f"N `xai train` runs started together on {c.get('cores', '?')} cores, each "
           f"{cfg['epochs']} epochs on {cfg['n_formulations']} synthetic recipes with {threads}; "
           "each run's wall time (start to its own exit, interpreter start-up included) against "
           "N x the median run alone. Fair sharing gives 1.0; the target is at most "
           f"{c.get('target_ratio', 1.2):g}.", "",
           "| runs at once | wall s of each run | slowest / (N x alone) | load before | "
           "load after |", "|---|---|---|---|---|"]
    for n, r in c["runs"].items():
        ratio = (c.get("ratios") or {}).get(n)
        walls = ", ".join(_num(w) for w in r["wall_s"])
        out.append(f"| {n} | {walls} | {_num(ratio)} | {_num(r['load_before'])} | "
                   f"{_num(r['load_after'])} |")
    return "\n".join(out)


def _partitioned(p: dict) -> str:
    out = ["## 9. Predictions on several processes", "",
           f"{p['n_pairs']} (recipe, property) pairs predicted in one process and through "
           "`xai.runs.distributed.predict_partitioned` on local loky workers (the path "
           "`--jobs` and `--scheduler` share), the workers sharing "
           f"{p['config']['threads']} threads; one run each.", "",
           "| processes | wall s | pairs/s | speed-up | overhead per pair (worker s) | "
           "identical to one process |", "|---|---|---|---|---|---|",
           f"| 1 (in process) | {_num(p['one_process_s'])} | {_num(p['pairs_per_s_one'])} | 1 "
           "| - | - |"]
    for jobs, e in p["jobs"].items():
        out.append(f"| {jobs} | {_num(e['wall_s'])} | {_num(e['pairs_per_s'])} | "
                   f"{_num(e['speedup'])} | {_num(e['overhead_per_pair_s'])} | "
                   f"{'yes' if e['identical'] else 'NO'} |")
    est = p["estimate"]
    out += ["", f"Paper estimate: {est['pairs']:,} pairs on a cluster of {est['workers']} "
            f"workers in about {_num(est['seconds'])} s ({est['how']})."]
    return "\n".join(out)


def _real_data() -> str:
    """The real-data section from ``bench/results-real.json`` (``python -m bench.real_data``)."""
    from bench.real_data import load_results
    from bench.real_data_markdown import render as render_real

    stored = load_results()
    return "" if stored is None else render_real(stored["summary"], stored["meta"])


def main(argv: Sequence[str] | None = None) -> int:
    """Re-render BENCHMARKS.md from the stored raw results."""
    del argv
    if not CPU_RESULTS.exists():
        print(f"no {CPU_RESULTS}: run `python -m bench.run` first", file=sys.stderr)
        return 1
    gpu = json.loads(GPU_RESULTS.read_text()) if GPU_RESULTS.exists() else None
    large = json.loads(SCALE_RESULTS.read_text()) if SCALE_RESULTS.exists() else None
    OUTPUT.write_text(render(json.loads(CPU_RESULTS.read_text()), gpu, large))
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
