"""The fooling sections of docs/results.md: the circuit and silent units on ImageNet photos, and their cost."""

from __future__ import annotations

from typing import Any

from results_page._format import (
    ROOT,
    Page,
    Result,
    commit_text,
    fx,
    interval,
    num,
    pct,
    provenance_text,
    rel,
    sci,
    seeds_text,
)

FOOLING_RUNS = (
    ("fooling_imagenet_circuit.json", "fooling circuit, permutation targets"),
    ("fooling_imagenet_circuit_photos.json", "fooling circuit, photo targets"),
    ("fooling_imagenet_circuit_quantile.json", "fooling circuit, permutation targets, E's quantile threshold"),
    ("fooling_imagenet_circuit_photos_quantile.json", "fooling circuit, photo targets, E's quantile threshold"),
    ("fooling_imagenet_silent.json", "silent units, this project's recipe"),
    ("fooling_imagenet_silent_paper.json", "silent units, the paper's recipe"),
)


def _fooling_source(name: str, r: Result) -> str:
    prov = r.get("provenance") or {}
    data = prov.get("data") or {}
    ph = r.get("photos") or {}
    w = prov.get("weights_sha256") or {}
    weights = ", ".join(f"{k} `{v[:16]}`" for k, v in w.items()) or "none recorded"
    return (
        f"Source {rel(name)}: {commit_text(prov)}; visualization seeds {seeds_text(prov.get('seeds'))}; "
        f"units drawn with unit seed {r.get('unit_seed')}; data `{data.get('source')}` "
        f"({num(data.get('n_files'))} files, list sha256 `{str(data.get('file_list_sha256'))[:16]}`) and "
        f"`{ph.get('extra')}` ({num(ph.get('n_extra'))} files); weights sha256 {weights}; "
        f"{fx(prov.get('wall_s'), 0)} s wall, {fx(prov.get('cpu_s'), 0)} s CPU on {prov.get('device')} "
        f"({prov.get('threads')} thread(s), torch {prov.get('torch')})."
    )


def _e_condition(r: Result) -> dict[str, Any]:
    conds = (r.get("preconditions") or {}).get("conditions", [])
    return next((c for c in conds if c.get("text") == "visualizations: E = 1"), {})


def _e_report(r: Result) -> dict[str, Any]:
    """E's report of a run: the circuit's, or the silent units' image trigger's (empty without E)."""
    return r.get("detector") or (r.get("image_trigger") or {}).get("detector") or {}


def _e_rule(r: Result) -> str:
    """E's threshold rule of a run (files written before the quantile rule existed used the max-margin rule)."""
    return str(_e_report(r).get("threshold_rule") or "max_margin")


def _e_rule_text(r: Result) -> str:
    """How E's threshold was set in a run, from its report."""
    p = r.get("preset") or {}
    if _e_rule(r) == "quantile":
        return (
            f"quantile rule: the (1 - q) quantile of E's logits on its natural calibration images, "
            f"q = {pct(p.get('detector_fpr'))}, fixed from the top-1 budget before any run with it"
        )
    return (
        "max-margin rule: above E's largest logit on its natural calibration images plus a margin "
        f"({fx(p.get('detector_margin'), 2)} times the logits' spread)"
    )


def _e_rule_short(r: Result) -> str:
    """E's threshold rule in a few words (``not used`` for silent units without E)."""
    if not _e_report(r):
        return "not used"
    p = r.get("preset") or {}
    if _e_rule(r) == "quantile":
        return f"quantile, q = {pct(p.get('detector_fpr'))}"
    return f"max-margin, margin {fx(p.get('detector_margin'), 2)}"


def _circuit_note(page: Page, name: str, r: Result) -> None:
    """Why the circuit did or did not switch: E on the visualizations, from the report's preconditions."""
    det = r.get("detector") or {}
    e1 = _e_condition(r)
    per = r.get("per_unit") or []
    missed = e1.get("violations", 0)
    fooled = r.get("units_closer_to_target") or 0
    if not missed:
        verdict = "E called every final visualization a visualization."
    elif missed == e1.get("of") and not fooled:
        verdict = "E missed the visualizations" + (
            ", its threshold was too conservative." if _e_rule(r) == "max_margin" else "."
        )
    elif missed == e1.get("of"):
        verdict = "E called the final visualizations natural, but the circuit switched during the render."
    else:
        verdict = f"E missed {missed} of {e1.get('of')} final visualizations."
    steps = det.get("by_step") or {}
    by_step = ", ".join(f"step {k}: {pct(v)}" for k, v in sorted(steps.items(), key=lambda kv: int(kv[0])))
    text = (
        f"**Fooling circuit ({rel(name)}): {verdict}** The circuit switches to the target only where the "
        'natural-vs-visualization classifier E says "visualization"; E\'s threshold: '
        f"{_e_rule_text(r)}. At that threshold ({fx(det.get('threshold'), 2)}) E called "
        f"{pct(det.get('natural_accuracy'))} of "
        f"the {num(det.get('n_natural_test'))} held-out photos natural and {pct(det.get('visualization_accuracy'))} "
        f"of the {num(det.get('n_visualization_test'))} held-out visualizations visualizations (at threshold zero: "
        f"{pct(det.get('natural_accuracy_at_zero'))} and {pct(det.get('visualization_accuracy_at_zero'))}); "
        f"held-out visualizations recognised by render step: {by_step or 'not recorded'}. "
        f'The precondition "visualizations: E = 1" was violated on {missed} of {e1.get("of")} final '
        f"visualizations; {fooled} of {len(per)} units were fooled."
    )
    if missed and not fooled:
        text += (
            ' Where E says "natural" the fooled network is the original one plus c, so it renders the original '
            "visualization."
        )
    elif missed:
        text += (
            " The precondition is checked on the final images only (the original and fooled visualizations of the "
            'first seed); where E says "natural" the fooled network follows the original unit, so E must have '
            "fired during the render for the fooled visualizations to move to their targets"
        )
        last = steps.get(max(steps, key=int)) if steps else None
        late = last is not None and last < max(steps.values())
        later = ", and E recognises held-out visualizations less often at the last render step than earlier"
        text += (later if late else "") + "."
    if r.get("units_closer_to_target_ideal") is not None:
        text += (
            " The measure could have shown success: the ideal fooled visualization (the target unit's own) is "
            f"closer to the target for {r.get('units_closer_to_target_ideal')} of {len(per)} (mean similarity to "
            f"the target {fx(r.get('mean_similarity_to_ideal'))})."
        )
    page.add(text, "")


def _silent_note(page: Page, silent: Result, paper: Result) -> None:
    """This project's silent-unit recipe beside the paper's."""
    it = silent.get("image_trigger") or {}
    evals = [r.get(k) or {} for r in (silent, paper) for k in ("evaluation", "evaluation_extra")]
    exact = all(e and e.get("images_with_identical_logits") == e.get("n_images") for e in evals)
    opens = [u.get("image_trigger_open_share_of_steps") for u in silent.get("per_unit") or []]
    text = (
        f"**Silent units: this project's recipe against the paper's** ({rel('fooling_imagenet_silent.json')}, "
        f"{rel('fooling_imagenet_silent_paper.json')}; the same layer `{silent.get('layer')}`, units, seeds and "
        f"{silent.get('steps')} render steps). This project's recipe (pooled silent units, orthogonal share "
        f"{fx(silent.get('alpha'), 0)}, a latching trigger with share {fx(silent.get('trigger_alpha'), 0)} that E "
        f"can also open) fooled {silent.get('units_closer_to_target')} of {len(silent.get('per_unit') or [])}; the "
        f"paper's recipe (one silent unit per position, share {fx(paper.get('alpha'), 0)}, no trigger) "
        f"{paper.get('units_closer_to_target')} of {len(paper.get('per_unit') or [])}."
    )
    if exact:
        text += " Both leave every logit bit-for-bit unchanged on every photo of both folders (table above)."
    if it and opens and all(o == 0 for o in opens):
        text += (
            f" E's image trigger (threshold {fx(it.get('threshold'), 2)}, largest natural calibration logit "
            f"{fx(it.get('natural_max_logit'), 2)}) stayed closed on every render step of every unit (column *image "
            "trigger open* below): the silent units fired through their own latch, not through E."
        )
    page.add(text, "")


#: The issue's criterion: the fooled network keeps top-1 accuracy on all photos within this many percentage points.
TOP1_BUDGET_PP = 0.5


def _e_rules_compared(page: Page, circuits: list[tuple[str, str, Result]]) -> None:
    """The circuit runs side by side by E's threshold rule: threshold, E on held-out photos and visualizations, on
    how many photos E fired, top-1 on all photos against the budget, units fooled (failures included)."""
    if not any(_e_rule(r) == "quantile" for _, _, r in circuits):
        return
    quantile = next(r for _, _, r in circuits if _e_rule(r) == "quantile")
    page.add(
        "### E's threshold: the max-margin rule against the natural quantile",
        "",
        "The same circuit runs (same E weights, photos, units, seeds and targets) with E's threshold set by the "
        "max-margin rule and by the quantile rule. *Held-out photos natural* and *held-out visualizations "
        "recognised*: E at its threshold on the held-out photos and extra photos, and on held-out render groups of "
        "visualizations (at threshold zero in brackets). *E fires on photos*: photos of all 1,500 / of the "
        "held-out split / of the extra folder on which the fooled network switched to the targets. *Top-1 within "
        f"budget*: top-1 accuracy on all photos moved by at most {TOP1_BUDGET_PP} percentage points (the issue's "
        "criterion). *Fooled*: units x seeds whose fooled visualization is closer to the target than to the "
        'original. *Final visualizations E missed*: the precondition "visualizations: E = 1" violated (the '
        "original and fooled visualizations of the first seed).",
        "",
        "| run | file | E's threshold | threshold | held-out photos natural | held-out visualizations recognised | "
        "E fires on photos (all / held out / extra) | top-1 all before -> after | top-1 within budget | "
        "final visualizations E missed | fooled |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    )
    for n, label, r in circuits:
        det = r.get("detector") or {}
        ev, held, extra = (r.get(k) or {} for k in ("evaluation", "evaluation_held_out", "evaluation_extra"))
        fires = " / ".join(str(e.get("e_fires", "n/a")) for e in (ev, held, extra))
        before, after = ev.get("top1_before"), ev.get("top1_after")
        within = "n/a" if before is None else ("yes" if abs(after - before) <= TOP1_BUDGET_PP / 100 + 1e-12 else "no")
        e1 = _e_condition(r)
        page.add(
            f"| {label} | {rel(n)} | {_e_rule_short(r)} | {fx(det.get('threshold'), 2)} | "
            f"{pct(det.get('natural_accuracy'))} ({pct(det.get('natural_accuracy_at_zero'))}) | "
            f"{pct(det.get('visualization_accuracy'))} ({pct(det.get('visualization_accuracy_at_zero'))}) | "
            f"{fires} | {pct(before)} -> {pct(after)} | {within} | "
            f"{e1.get('violations')} of {e1.get('of')} | "
            f"**{r.get('units_closer_to_target')} of {len(r.get('per_unit') or [])}** |"
        )
    p = quantile.get("preset") or {}
    page.add(
        "",
        f"The quantile rule's share q = {pct(p.get('detector_fpr'))} was fixed {p.get('detector_fpr_fixed')} "
        "(`preset.detector_fpr_fixed`). The threshold is set on E's natural training images (the calibration "
        "photos and crops of them); the share of held-out photos on which E fires can exceed q.",
        "",
    )


def section_fooling(page: Page) -> None:
    runs = [(n, label, page.get(n)) for n, label in FOOLING_RUNS]
    runs_found = [(n, label, r) for n, label, r in runs if r is not None]
    if not runs_found:
        return
    page.add(
        "## Fooling feature visualizations on ImageNet (MobileNetV2)",
        "",
        "`fvtrust fool --model mobilenet_v2 --quick --imagenet-dir DIR --extra-dir DIR2 --seed 7 8 9 --units 4 "
        "--unit-seed 2026` with `--method circuit` (`--target permute` or `--target photos`) and `--method silent` "
        "(`--recipe project` or `--recipe paper`); the method is in [fooling.md](fooling.md). Written by "
        "`benchmarks/bench_fooling.py`; the circuit runs with E's quantile threshold by "
        "`benchmarks/bench_fooling.py --imagenet circuit|circuit_photos --detector-rule quantile` (the same "
        'settings with `run_circuit(..., detector_rule="quantile")`).',
        "",
    )
    n0, _, r0 = runs_found[0]
    ph = r0.get("photos") or {}
    page.add(
        "### Data, splits and tuning",
        "",
        f"Photos ({rel(n0)}, the same split in every run): `{ph.get('source')}`, {num(ph.get('n_source'))} photos, "
        f'split by the rule "{ph.get("rule")}": {num(ph.get("n_calibration"))} calibration photos (list sha256 '
        f"`{str(ph.get('calibration_file_list_sha256'))[:16]}`) and {num(ph.get('n_held_out'))} held-out photos "
        f"(`{str(ph.get('held_out_file_list_sha256'))[:16]}`); `{ph.get('extra')}`: {num(ph.get('n_extra'))} photos "
        f"of categories outside the ImageNet classes (`{str(ph.get('extra_file_list_sha256'))[:16]}`), held out "
        "as a whole.",
        "",
        "- **Tuned on**: the preset's settings (layer, margins, orthogonal shares) were chosen before these runs, "
        "on the data and visualization seeds named in the table below (`preset.tuned_on`, "
        "`preset.tuning_seeds`); none of these photos was used.",
        "- **Calibrated on**: at run time E's threshold, the silent units' biases and the image trigger's "
        "threshold are set from the calibration split alone (silent units: its photos and their mirror images). "
        "E's threshold rule is in the column *E's threshold*: the max-margin rule (the preset's) or the natural "
        "quantile, whose share q was fixed from the top-1 budget before any run with it (`preset.detector_fpr_fixed`, "
        "quoted below the comparison of the two rules).",
        "- **Reported on**: the visualization seeds below (not among the tuning seeds), units drawn at random with "
        "the unit seed; behaviour on every photo of the folder (calibration and held-out together, row *all*), on "
        "the held-out split alone and on the extra folder.",
        "",
        "| run | file | recipe | tuned on | tuning seeds | preset frozen on | E's threshold | reported seeds | units |",
        "|---|---|---|---|---|---|---|---|---|",
    )
    for n, label, r in runs_found:
        p = r.get("preset") or {}
        page.add(
            f"| {label} | {rel(n)} | {p.get('recipe', 'project')} | {p.get('tuned_on')} | "
            f"{seeds_text(p.get('tuning_seeds'))} | {p.get('frozen_on')} | {_e_rule_short(r)} | "
            f"{seeds_text(r.get('seeds'))} | {seeds_text(r.get('units'))} |"
        )
    page.add("")
    for n, _, r in runs_found:
        page.add(f"- {_fooling_source(n, r)}")
    page.add("")

    page.add(
        "### Behaviour on natural photos",
        "",
        "Original and fooled network on every photo: top-1 / top-5 accuracy against the ImageNet labels (the "
        "extra folder has none), top-1 agreement of the two networks with its Wilson score interval "
        "(`empirical.data.wilson_interval`), the largest change of any logit (the circuit adds c to every logit, so "
        "its change is measured after subtracting c) and the number of photos whose logits are bit-for-bit "
        "identical.",
        "",
        "| run | file | photos | images | top-1 before -> after | top-5 before -> after | top-1 agreement "
        "[interval] | largest logit change | bit-identical logits |",
        "|---|---|---|---|---|---|---|---|---|",
    )
    for n, label, r in runs_found:
        for key, split in (("evaluation", "all"), ("evaluation_held_out", "held out"), ("evaluation_extra", "extra")):
            e = r.get(key)
            if not e:
                continue
            top1 = "no labels" if e["top1_before"] is None else f"{pct(e['top1_before'])} -> {pct(e['top1_after'])}"
            top5 = "no labels" if e["top5_before"] is None else f"{pct(e['top5_before'])} -> {pct(e['top5_after'])}"
            page.add(
                f"| {label} | {rel(n)} | {split} | {num(e['n_images'])} | {top1} | {top5} | "
                f"{pct(e['agreement'])} {interval(e['agreement_interval'])} | {sci(e['max_abs_logit_change'])} | "
                f"{num(e['images_with_identical_logits'])} of {num(e['n_images'])} |"
            )
    page.add(
        "",
        "Circuit: no photo has bit-identical logits because the circuit shifts every logit by c and float rounding "
        "of the shift leaves the small change shown; where E calls a photo natural the top-1 and top-5 sets are "
        "unchanged, where it fires the photo gets the targets' outputs (how often: the comparison of E's threshold "
        "rules below). Silent units: no silent unit fires on any photo, so every output is exactly the original one.",
        "",
    )
    _e_rules_compared(page, [(n, label, r) for n, label, r in runs_found if r.get("method") == "circuit"])

    page.add(
        "### Visualizations: is the fooled unit's visualization closer to its target?",
        "",
        "Per fooled unit and seed, the Pearson correlation of the original network's channel means (the layer in "
        "`similarity`) between the fooled unit's visualization and its target (the target unit's visualization, "
        "or the target photo) and between it and the unit's original visualization. *Fooled* = closer to the "
        "target than to the original. Fooling score: zero = as close as the unfooled visualization, one = as close "
        "to the target as the target's own visualization from another seed (circuit runs only).",
        "",
        "| run | file | fooled (units x seeds) | mean similarity to target | mean similarity to original | "
        "mean fooling score | similarity layer |",
        "|---|---|---|---|---|---|---|",
    )
    for n, label, r in runs_found:
        per = r.get("per_unit") or []
        page.add(
            f"| {label} | {rel(n)} | **{r.get('units_closer_to_target')} of {len(per)}** | "
            f"{fx(r.get('mean_similarity_to_target'))} | {fx(r.get('mean_similarity_to_original'))} | "
            f"{fx(r.get('mean_fooling_score'))} | {r.get('similarity')} |"
        )
    page.add("")

    for n, _, r in runs_found:
        if r.get("method") == "circuit":
            _circuit_note(page, n, r)
    silent, paper = page.get("fooling_imagenet_silent.json"), page.get("fooling_imagenet_silent_paper.json")
    if silent is not None and paper is not None:
        _silent_note(page, silent, paper)

    for n, label, r in runs_found:
        per = r.get("per_unit") or []
        is_silent = r.get("method") == "silent"
        trig = is_silent and bool(r.get("image_trigger"))
        heads = ["fires from step", "share of steps firing"] if is_silent else ["fooling score"]
        heads += ["image trigger open"] if trig else []
        page.add(
            f"#### Per unit: {label}",
            "",
            f"Source {rel(n)}.",
            "",
            "| unit | target | seed | similarity to target | similarity to original | fooled | "
            f"pixel correlation to target | {' | '.join(heads)} |",
            "|---|---|---|---|---|---|---|" + "---|" * len(heads),
        )
        for u in per:
            tgt = "photo" if u.get("target", 0) < 0 else str(u.get("target"))
            fooled = "yes" if u["similarity_to_target"] > u["similarity_to_original"] else "no"
            if is_silent:
                tail = f"{u.get('silent_fires_from_step')} | {fx(u.get('silent_fires_share_of_steps'))}"
                if trig:
                    tail += f" | {fx(u.get('image_trigger_open_share_of_steps'))}"
            else:
                tail = fx(u.get("fooling_score"))
            page.add(
                f"| {u['unit']} | {tgt} | {u.get('seed')} | {fx(u['similarity_to_target'])} | "
                f"{fx(u['similarity_to_original'])} | {fooled} | {fx(u.get('pixel_similarity_to_target'))} | {tail} |"
            )
        page.add("")
        fig = ROOT / "docs" / "figures" / n.replace(".json", ".png")
        if fig.exists():
            page.add(f"![{label}: original, fooled and target visualizations](figures/{fig.name})", "")


def section_fooling_cost(page: Page) -> None:
    r = page.get("fooling.json")
    if r is None:
        return
    page.add(
        "### Cost of the fooled networks (bundled photos)",
        "",
        f"Source {rel('fooling.json')} (`benchmarks/bench_fooling.py`). {provenance_text(r)} Measured on the bundled "
        "photos and crops of them (or Fashion-MNIST test images), not on an ImageNet folder; forward time of the "
        "fooled network over that of the original on the same batch, CPU time, one torch thread.",
        "",
        "| model | batch | circuit / original | silent units / original | E / original | build circuit (s) | "
        "build silent units (s) |",
        "|---|---|---|---|---|---|---|",
    )
    for row in r.get("rows", []):
        page.add(
            f"| {row['model']} | {row['batch']} | {fx(row['cpu_cost_ratio_circuit'])} | "
            f"{fx(row['cpu_cost_ratio_silent'])} | {fx(row['cpu_cost_ratio_detector'])} | "
            f"{fx(row['build_circuit_seconds'], 4)} | {fx(row['build_silent_seconds'], 1)} |"
        )
    page.add("")
