"""The other sections of docs/results.md: path similarity, theory, ReLU maximum, InceptionV1, visualization
throughput, Fashion-MNIST training and the sweep."""

from __future__ import annotations

from typing import Any

from results_page._format import (
    NO_PROVENANCE,
    Page,
    commit_text,
    fs,
    fx,
    interval,
    num,
    pct,
    provenance_text,
    rel,
    sci,
    seeds_text,
)


def _signed2(v: float) -> str:
    return fs(v, 2)


def _ci(b: dict[str, Any]) -> str:
    """A mean and its bootstrap interval, signed, two decimals."""
    return f"{fs(b['mean'], 2)} {interval(b['ci'], _signed2)}"


def section_paths(page: Page) -> None:
    names = sorted(n for n in page.results if n.startswith("paths_imagenet_"))
    if not names:
        return
    page.add(
        "## Are visualizations processed like natural images? (path similarity)",
        "",
        "Normalised similarity of class-logit visualizations to photos of their class at every layer (zero: like "
        "photos of other classes, one: like photos of the class), averaged over the first and the last layers. The "
        "per-layer tables and the method are in [paths.md](paths.md). No parameter is fitted: the photos are "
        "dealt into reference, held-out and control roles and all three are reported.",
        "",
    )
    for n in names:
        r = page.get(n)
        assert r is not None
        prov = r.get("provenance") or {}
        nat, vis = r["natural_images"], r["visualizations"]
        w = prov.get("weights_sha256") or {}
        page.add(
            f"### {r['model']}",
            "",
            f"Source {rel(n)}: {commit_text(prov)}; visualization seeds {seeds_text(vis.get('seeds'))} "
            f"({vis.get('steps')} steps); data `{(prov.get('data') or {}).get('source')}` "
            f"({num(nat.get('n_classes'))} classes, {num(sum(nat['used_per_role'].values()))} photos used); weights "
            f"sha256 {', '.join(f'`{v[:16]}`' for v in w.values()) or 'none recorded'}; "
            f"{num(r['settings'].get('bootstrap'))} bootstrap replicates; {fx(prov.get('wall_s'), 0)} s wall.",
            "",
            "| metric | first layers | last layers | last - first | same-class control | other-class control |",
            "|---|---|---|---|---|---|",
        )
        for m, block in r["metrics"].items():
            c = block["paper_comparison"]
            page.add(
                f"| {m} | {_ci(c['early'])} | {_ci(c['late'])} | {_ci(c['late_minus_early'])} | "
                f"{_ci(c['control_same_class_mean'])} | {_ci(c['control_other_class_mean'])} |"
            )
        page.add("")


def section_paths_memory(page: Page) -> None:
    r = page.get("paths.json")
    if r is None:
        return
    full = r.get("full_fashion_cnn") or {}
    page.add(
        "### Streaming memory and the Fashion-MNIST CNN",
        "",
        f"Source {rel('paths.json')} (`benchmarks/bench_paths.py`). {provenance_text(r)}",
        "",
        "| images | used | pooling | seconds | peak RSS growth (MB) | all activations at once (MB) | "
        "running sums (MB) |",
        "|---|---|---|---|---|---|---|",
    )
    for m in r.get("memory", []):
        page.add(
            f"| {num(m['n_images'])} | {num(m['images_used'])} | {m['pooling']} | {fx(m['seconds'], 1)} | "
            f"{fx(m['rss_peak_growth_mb'], 1)} | {fx(m['all_at_once_activations_mb'], 1)} | "
            f"{fx(m['running_sums_mb'], 2)} |"
        )
    if full:
        unrecorded = "" if r.get("provenance") else "; split and seeds not recorded"
        page.add(
            "",
            f"Fashion-MNIST CNN ({full.get('fv_per_class')} visualizations of {full.get('fv_steps')} steps per "
            f"class, {num(full.get('images_per_class'))} test images per class{unrecorded}), "
            "score per layer: "
            + ", ".join(f"{k} {fx(v)}" for k, v in (full.get("score") or {}).items())
            + f"; {fx(full.get('total_seconds'), 0)} s.",
        )
    page.add("")


def section_theory(page: Page) -> None:
    r = page.get("theory.json")
    if r is None:
        return
    prov = r.get("provenance") or {}
    cfg = prov.get("config") or {}
    ds = cfg.get("d") or []
    page.add(
        "## Theory: cost of the certified answers",
        "",
        f"Source {rel('theory.json')} (`benchmarks/bench_theory.py`): {commit_text(prov)}; seeds: "
        f"{cfg.get('seeds')}; no data. Wall-clock ms of one `check_class` call (the three questions for a class, "
        f"with certificates), median of {cfg.get('repeats')} repeats, per input dimension d.",
        "",
        "| class | " + " | ".join(f"d = {d}" for d in ds) + " |",
        "|---|" + "---|" * len(ds),
    )
    by: dict[str, dict[int, float]] = {}
    for c in r.get("calls", []):
        by.setdefault(c["class"], {})[c["d"]] = c["check_class_ms"]
    for cls, row in by.items():
        page.add(f"| {cls} | " + " | ".join(fx(row.get(d), 2) for d in ds) + " |")
    page.add(
        "",
        f"The whole theory table: {fx(r.get('table_s'), 3)} s, with every certificate verified "
        f"{fx(r.get('table_verified_s'), 2)} s.",
        "",
    )


def section_smooth_members(page: Page) -> None:
    for name in sorted(n for n in page.results if n.startswith("smooth_members")):
        _smooth_members(page, name, page.get(name) or {})


def _smooth_members(page: Page, name: str, r: dict[str, Any]) -> None:
    prov = r.get("provenance") or {}
    cfg = prov.get("config") or {}
    d = cfg.get("d", 2)
    page.add(
        f"## Theory: how often the L-smooth engine decides (d = {d})",
        "",
        f"Source {rel(name)} (`benchmarks/bench_smooth_members.py`): {commit_text(prov)}; seed "
        f"{cfg.get('seed')}; no data. {cfg.get('visualizations')} random feature visualizations on [0,1]^{d} "
        f"(L = {cfg.get('L')}), {cfg.get('points_per_visualization')} random points x each, instance answers of "
        f"`check_class` (eps = {cfg.get('eps')}). Consistency: "
        + ", ".join(f"{k} {v}" for k, v in (r.get("visualizations") or {}).items())
        + f". Answers on the {r.get('instances')} instances:",
        "",
        "| question | yes | no | open |",
        "|---|---|---|---|",
    )
    for q, counts in (r.get("verdicts") or {}).items():
        page.add(f"| {q} | " + " | ".join(str(counts.get(v, 0)) for v in ("yes", "no", "open")) + " |")
    pair = r.get("paired")
    if pair:
        base = str(pair.get("baseline_commit") or "")[:12]
        page.add(
            "",
            f"Paired with the same sample run at the baseline `{base}`: consistency "
            + ", ".join(f"{k}: {v}" for k, v in (pair.get("visualizations") or {}).items())
            + f". On the {pair.get('instances_in_both')} instances consistent in both runs:",
            "",
            "| question | before: yes / no / open | after: yes / no / open | changes |",
            "|---|---|---|---|",
        )
        for q, dq in (pair.get("questions") or {}).items():
            b, a = dq.get("before") or {}, dq.get("after") or {}
            ch = ", ".join(f"{k}: {v}" for k, v in (dq.get("changes") or {}).items()) or "none"
            page.add(
                f"| {q} | "
                + " / ".join(str(b.get(v, 0)) for v in ("yes", "no", "open"))
                + " | "
                + " / ".join(str(a.get(v, 0)) for v in ("yes", "no", "open"))
                + f" | {ch} |"
            )
    fine = r.get("fine_grid")
    if fine:
        dec, still = fine.get("decided") or {}, fine.get("still_open") or {}
        page.add(
            "",
            f"Where the gap lies (a diagnostic: float LP optima, no certificates; {fx(fine.get('wall_s'), 0)} s): the "
            f"two-point LP on a grid of {fine.get('n')} points per axis (plus the points near x), solved at every open "
            "instance on its open sides. The LP bound decreases to the exact end of the range as nested grids are "
            "refined (docs/theory.md); an instance this grid still leaves open points to members that fall short "
            "rather than to the engine's grid.",
            "",
            "| question | open | decided on this grid | still open |",
            "|---|---|---|---|",
        )
        for q in sorted(set(dec) | set(still)):
            page.add(f"| {q} | {dec.get(q, 0) + still.get(q, 0)} | {dec.get(q, 0)} | {still.get(q, 0)} |")
    page.add("")


def section_relu_max(page: Page) -> None:
    r = page.get("relu_max.json")
    if r is None:
        return
    prov = r.get("provenance") or {}
    page.add(
        "## Exact maximum of a ReLU network (verifiers)",
        "",
        f"Source {rel('relu_max.json')} (`benchmarks/bench_relu_max.py`): {commit_text(prov)}; weights: "
        f'"{r.get("weights")}" (the seeds); criterion: "{r.get("criterion")}", budget '
        f"{fx(r.get('budget_s'), 0)} s; no data. Per method and hidden width, the CPU time of the slowest network "
        "as a share of the budget (n/a: some network not finished within the budget; -: not run).",
        "",
    )
    shares = r.get("slowest_share_of_budget") or {}
    widths = sorted({int(w) for m in shares.values() for w in m}, key=int)
    page.add("| method | " + " | ".join(f"width {w}" for w in widths) + " |", "|---|" + "---|" * len(widths))
    for m, row in shares.items():
        page.add(f"| {m} | " + " | ".join(fx(row.get(str(w)), 3) if str(w) in row else "-" for w in widths) + " |")
    lw, lwm = r.get("largest_width") or {}, r.get("largest_width_with_margin") or {}
    page.add(
        "",
        "Largest width within the budget: "
        + ", ".join(f"{m} {lw[m]}" for m in lw)
        + "; with a margin: "
        + ", ".join(f"{m} {lwm[m]}" for m in lwm)
        + f". Median CPU-time ratios ({r.get('ratios')}): z3 / MILP {fx(r.get('median_z3_over_milp'), 2)}, "
        f"MILP / branch and bound {fx(r.get('median_milp_over_bab'), 2)}, z3 / branch and bound "
        f"{fx(r.get('median_z3_over_bab'), 2)}.",
        "",
    )
    s = page.get("relu_max_solvers.json")
    if s is not None:
        page.add(
            "### MILP solvers: HiGHS against Gurobi",
            "",
            f"Source {rel('relu_max_solvers.json')} (`benchmarks/bench_relu_max_solvers.py`). {provenance_text(s)} "
            f"Time limit {fx(s.get('limit_s'), 0)} s; seconds (n/a: no answer within the limit), the solver's "
            "status and the 1-minute load average when the row was measured (the machine has "
            f"{s.get('cpus')} cores; both solvers run one thread). A HiGHS status other than Optimal on a network "
            "Gurobi solves is a solver failure.",
            "",
            "| hidden | sense | binaries | HiGHS (s) | HiGHS status | Gurobi (s) | Gurobi status | load (1 min) |",
            "|---|---|---|---|---|---|---|---|",
        )
        gurobi_codes = {"9": "time limit"}  # Gurobi's status code 9 (TIME_LIMIT), as the benchmark records it
        for row in s.get("rows", []):
            page.add(
                f"| {' x '.join(str(h) for h in row['hidden'])} | {row['sense']} | {row['binaries']} | "
                f"{fx(row['highs_s'], 2)} | {row['highs_status']} | {fx(row['gurobi_s'], 2)} | "
                f"{gurobi_codes.get(str(row['gurobi_status']), row['gurobi_status'])} | "
                f"{fx(row.get('load_average_1min'), 2)} |"
            )
        page.add("")


def section_inception(page: Page) -> None:
    r = page.get("inceptionv1_equivalence.json")
    if r is None:
        return
    prov = r.get("provenance") or {}
    cfg = prov.get("config") or {}
    page.add(
        "## InceptionV1: the same network as Lucent's",
        "",
        f"Source {rel('inceptionv1_equivalence.json')} (`benchmarks/bench_inceptionv1_equivalence.py`): "
        f"{commit_text(prov)}; seeds {seeds_text(prov.get('seeds'))}; random weights (biases "
        f"{cfg.get('bias_init')}), no data; Lucent {r.get('lucent_version')}, torch {prov.get('torch')}. "
        f'Criterion: "{r.get("criterion")}". **Passed: {"yes" if r.get("passed") else "no"}** (largest relative '
        f"difference {sci(r.get('max_rel_diff_overall'))}).",
        "",
        "| seed | input size | layers compared | largest relative difference | logits | softmax |",
        "|---|---|---|---|---|---|",
    )
    for run in r.get("runs", []):
        for size in (k for k in run if k.endswith("px")):
            b = run[size]
            page.add(
                f"| {run['seed']} | {size} | {b['layers_compared']} | {sci(b['max_rel_diff'])} | "
                f"{sci(b['logits_rel_diff'])} | {sci(b['softmax_rel_diff'])} |"
            )
    page.add("")


def section_visualize(page: Page) -> None:
    v, lu = page.get("visualize.json"), page.get("lucent.json")
    if v is None and lu is None:
        return
    page.add(
        "## Visualization engine: speed",
        "",
        "Time per optimisation step of the engine against a bare forward and backward pass of the same network, "
        "and against Lucent.",
        "",
    )
    if v is not None:
        page.add(
            f"### Engine overhead ({v.get('model')}, layer {v.get('layer')})",
            "",
            f"Source {rel('visualize.json')} (`benchmarks/bench_visualize.py`). {provenance_text(v)} torch "
            f"{v.get('torch')}, {v.get('threads')} thread(s). Targets: overhead at most "
            + ", ".join(f"{fx(t, 2)} ({k})" for k, t in (v.get("targets") or {}).items())
            + ".",
            "",
            "| batch | step (ms) | overhead vs bare pass, same input | overhead vs bare pass at model size | "
            "unit-steps/s | with crop: step (ms) | with crop: unit-steps/s |",
            "|---|---|---|---|---|---|---|",
        )
        for row in v.get("rows", []):
            page.add(
                f"| {row['batch']} | {fx(row['step_ms'], 1)} | {fx(row['overhead_vs_same_batch'], 2)} | "
                f"{fx(row['overhead_vs_224px'], 2)} | {fx(row['unit_steps_per_s'], 1)} | {fx(row['crop_step_ms'], 1)} "
                f"| {fx(row['crop_unit_steps_per_s'], 1)} |"
            )
        page.add("")
    if lu is not None:
        t = lu.get("throughput_8_units") or {}
        met = lu.get("targets_met") or {}
        page.add(
            "### Against Lucent",
            "",
            f"Source {rel('lucent.json')} (`benchmarks/bench_lucent.py`). {NO_PROVENANCE} Lucent "
            f"{lu.get('lucent')}, torch {lu.get('torch')}, {lu.get('threads')} thread(s); model: "
            f'"{lu.get("model")}"; objective: "{lu.get("objective")}"; {lu.get("repeats")} repeats of '
            f"{lu.get('steps_per_round')} steps.",
            "",
            "| batch | ours (ms/step) | ours with crop | Lucent | Lucent / bare pass | ours / bare pass |",
            "|---|---|---|---|---|---|",
        )
        for row in lu.get("rows", []):
            page.add(
                f"| {row['batch']} | {fx(row['ours_step_ms'], 1)} | {fx(row['ours_crop_step_ms'], 1)} | "
                f"{fx(row['lucent_step_ms'], 1)} | {fx(row['lucent_overhead_vs_224px'], 2)} | "
                f"{fx(row['ours_overhead_vs_224px'], 2)} |"
            )
        page.add(
            "",
            "Throughput (unit-steps per second): ours batched "
            f"{fx(t.get('ours_batched_unit_steps_per_s'), 1)}, ours batched with crop "
            f"{fx(t.get('ours_crop_batched_unit_steps_per_s'), 1)}, Lucent one unit at a time "
            f"{fx(t.get('lucent_one_at_a_time_unit_steps_per_s'), 1)}, Lucent batched "
            f"{fx(t.get('lucent_batched_unit_steps_per_s'), 1)}; ratio ours batched / Lucent one at a time "
            f"{fx(t.get('ratio_ours_batched_vs_lucent_one_at_a_time'), 2)}.",
            "",
            "Targets met: " + ", ".join(f"`{k}` {'yes' if ok else '**no**'}" for k, ok in met.items()) + ".",
            "",
        )


def section_fashion_train(page: Page) -> None:
    r = page.get("fashion_train.json")
    if r is None:
        return
    page.add(
        "## Training the Fashion-MNIST CNN",
        "",
        f"Source {rel('fashion_train.json')} (`benchmarks/bench_fashion_train.py`). {provenance_text(r)} Trained on "
        "the "
        "Fashion-MNIST training split, test accuracy on the test split (nothing tuned on it); torch "
        f"{r.get('torch')}, {r.get('threads')} thread(s).",
        "",
        "| seed | epochs | test accuracy | training (s wall) | training (s CPU) | inference on the test split (s) |",
        "|---|---|---|---|---|---|",
    )
    for run in r.get("runs", []):
        page.add(
            f"| {run['seed']} | {run['epochs']} | {pct(run['test_accuracy'])} | {fx(run['train_seconds'], 0)} | "
            f"{fx(run['train_cpu_seconds'], 0)} | {fx(run['test_inference_seconds'], 1)} |"
        )
    page.add("")


def section_sweep(page: Page) -> None:
    r = page.get("sweep.json")
    if r is None:
        return
    prov = r.get("provenance") or {}
    cfg = r.get("config") or {}
    w = prov.get("weights_sha256") or {}
    page.add(
        "## Rendering many units: `fvtrust sweep` on one and two processes",
        "",
        f"Source {rel('sweep.json')} (`benchmarks/bench_sweep.py`; the cost section of [scale.md](scale.md)): "
        f"{commit_text(prov)}; seeds {seeds_text(prov.get('seeds'))}; model {cfg.get('model')}, layer "
        f"{cfg.get('layer')}, {cfg.get('steps')} steps, batch {cfg.get('batch')}; weights sha256 "
        f"{', '.join(f'`{v[:16]}`' for v in w.values()) or 'none recorded'}; no data for the renders. "
        f'"{r.get("what")}".',
        "",
        "| configuration | processes | threads per process | wall (s) | unit-steps/s (render) | unit-steps/s (wall) |",
        "|---|---|---|---|---|---|",
    )
    for name, row in (r.get("summary") or {}).items():
        page.add(
            f"| {name} | {row.get('processes')} | {row.get('threads_per_process')} | {fx(row.get('wall_s'), 2)} | "
            f"{fx(row.get('unit_steps_per_s_render'), 2)} | {fx(row.get('unit_steps_per_s_wall'), 2)} |"
        )
    page.add("")
