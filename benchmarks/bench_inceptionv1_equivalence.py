"""Equivalence of the zoo's ``inceptionv1`` with Lucent's ``lucent.modelzoo.inceptionv1`` (a script, not a test).

Run where Lucent is installed (its own venv, see docs/visualize.md, "Benchmark against Lucent"):

    /tmp/lucent_venv/bin/python benchmarks/bench_inceptionv1_equivalence.py [--seeds 0 1 2] [--batch 2]

For each seed it builds Lucent's module with random weights (``inceptionv1(pretrained=False)``, torch's default
initialisation under ``torch.manual_seed(seed)``, biases redrawn from N(0, 0.1^2) so that ReLUs are not all on),
saves its state dict to a file, loads that file with ``load_model("inceptionv1", weights=PATH)`` and compares, on
random images in [0, 1] at 224 px and at 248 px (the padded frame a render feeds the model):

* every named layer Lucent's module has (its modules, hooked: convolutions, ReLUs, pools, concatenations, the
  logits layer ``softmax2_pre_activation_matmul``) against the zoo model's layer of the same name; Lucent's input
  is ``x * 255 - 117`` (Lucent's ``preprocess_inceptionv1``), ours is ``x``;
* Lucent's output (``softmax2``, a softmax) against the softmax of our logits;
* the input gradient of a channel objective on ``mixed4a`` with Lucent's ``RedirectedReLU`` module
  (``redirected_ReLU=True``) against ours with ``redirected_relu(rule="lucent")`` on every ReLU, and without
  redirection on both.

A difference is ``max |ours - lucent| / max |lucent|`` over the tensor; the criterion is < 1e-5 for every one.
``--write-manifest PATH`` also writes Lucent's parameter names and shapes (the committed
``empirical/models/inceptionv1_parameters.json``). Writes ``benchmarks/results/inceptionv1_equivalence.json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
try:
    import empirical.models  # noqa: F401
except ImportError:  # the Lucent venv need not have the project installed
    sys.path.insert(0, str(ROOT))

from empirical._provenance import provenance, start_clock  # noqa: E402
from empirical.models import load_model  # noqa: E402
from empirical.visualize import RedirectedReLUs  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "inceptionv1_equivalence.json"
TOLERANCE = 1e-5


def rel_diff(ours: torch.Tensor, ref: torch.Tensor) -> float:
    if ours.shape != ref.shape:
        return float("inf")
    scale = float(ref.abs().max())
    return float((ours - ref).abs().max()) / scale if scale > 0 else float((ours - ref).abs().max())


def lucent_module(seed: int, redirected: bool) -> nn.Module:
    from lucent.modelzoo import inceptionv1

    torch.manual_seed(seed)
    net = inceptionv1(pretrained=False, redirected_ReLU=redirected).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.1)
    return net


def lucent_layers(net: nn.Module, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    acts: dict[str, torch.Tensor] = {}
    hooks = [
        m.register_forward_hook(lambda _m, _i, o, n=name: acts.__setitem__(n, o.detach()))
        for name, m in net.named_children()
    ]
    try:
        with torch.no_grad():
            out = net(x * 255 - 117)
    finally:
        for h in hooks:
            h.remove()
    return acts, out


def input_gradient(forward: nn.Module, layer: nn.Module, x: torch.Tensor, unit: int) -> torch.Tensor:
    """Gradient of the mean of channel ``unit`` of ``layer``'s output (summed over the batch) w.r.t. ``x``."""
    captured: dict[str, torch.Tensor] = {}
    hook = layer.register_forward_hook(lambda _m, _i, o: captured.__setitem__("a", o))
    x = x.clone().requires_grad_(True)
    try:
        forward(x)
    finally:
        hook.remove()
    (grad,) = torch.autograd.grad(captured["a"][:, unit].mean(dim=(1, 2)).sum(), x)
    return grad


def compare(seed: int, batch: int, sizes: list[int]) -> dict[str, object]:
    ref = lucent_module(seed, redirected=False)
    buffer = io.BytesIO()
    torch.save(ref.state_dict(), buffer)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inception5h_random.pth"
        path.write_bytes(buffer.getvalue())
        ours = load_model("inceptionv1", weights=path)
    gen = torch.Generator().manual_seed(1000 + seed)
    report: dict[str, object] = {"seed": seed}
    for size in sizes:
        x = torch.rand(batch, 3, size, size, generator=gen)
        acts, out = lucent_layers(ref, x)
        names = [n for n in acts if n != "softmax2"]
        mine = ours.activations(x, [*names, "logits"])
        diffs = {n: rel_diff(mine[n], acts[n]) for n in names}
        diffs["softmax2"] = rel_diff(torch.softmax(mine["logits"], dim=1), out)
        diffs["logits"] = rel_diff(mine["logits"], acts["softmax2_pre_activation_matmul"])
        worst = max(diffs, key=lambda n: diffs[n])
        report[f"{size}px"] = {
            "layers_compared": len(diffs),
            "max_rel_diff": diffs[worst],
            "worst_layer": worst,
            "logits_rel_diff": diffs["logits"],
            "softmax_rel_diff": diffs["softmax2"],
            "per_layer": diffs,
        }
    # gradients through Lucent's redirected ReLU vs ours with the "lucent" rule (and plain ReLUs on both)
    x = torch.rand(batch, 3, 224, 224, generator=gen)
    unit = 7
    red = lucent_module(seed, redirected=True)
    red.load_state_dict(ref.state_dict())
    grads = {}
    for label, lucent_net, redirect in (("plain", ref, False), ("redirected", red, True)):
        g_ref = input_gradient(lambda t, n=lucent_net: n(t * 255 - 117), lucent_net.mixed4a, x, unit)
        if redirect:
            with RedirectedReLUs(ours.net, "lucent") as switch:
                switch.active = True
                g_ours = input_gradient(ours, ours.get_layer("mixed4a"), x, unit)
        else:
            g_ours = input_gradient(ours, ours.get_layer("mixed4a"), x, unit)
        grads[label] = rel_diff(g_ours, g_ref)
    report["input_gradient_mixed4a"] = {"unit": unit, **grads}
    return report


def write_manifest(path: Path) -> None:
    net = lucent_module(0, redirected=False)
    state = net.state_dict()
    head = {
        "source": "state_dict() of lucent.modelzoo.inceptionv1(pretrained=False), torch-lucent "
        f"{importlib.metadata.version('torch-lucent')} (written by benchmarks/bench_inceptionv1_equivalence.py "
        "--write-manifest)",
        "count": len(state),
        "numel": sum(v.numel() for v in state.values()),
    }
    text = "{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items()) + '  "parameters": {\n'
    text += ",\n".join(f"    {json.dumps(k)}: {json.dumps(list(v.shape))}" for k, v in state.items()) + "\n  }\n}\n"
    path.write_text(text)
    print(f"manifest: {len(state)} tensors -> {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 248])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--write-manifest", type=Path, default=None)
    args = ap.parse_args()
    started = start_clock()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.write_manifest is not None:
        write_manifest(args.write_manifest)
    runs = []
    for seed in args.seeds:
        rep = compare(seed, args.batch, args.sizes)
        runs.append(rep)
        summary = {k: (v["max_rel_diff"], v["worst_layer"]) for k, v in rep.items() if k.endswith("px")}
        print(f"seed {seed}: {summary}; input gradients {rep['input_gradient_mixed4a']}")
    worst = max(
        [v["max_rel_diff"] for r in runs for k, v in r.items() if k.endswith("px")]
        + [g for r in runs for k, g in r["input_gradient_mixed4a"].items() if k != "unit"]
    )
    result = {
        "criterion": f"max relative difference < {TOLERANCE} for every layer, logits, softmax and input gradient",
        "max_rel_diff_overall": worst,
        "passed": worst < TOLERANCE,
        "lucent_version": importlib.metadata.version("torch-lucent"),
        "runs": runs,
        "provenance": provenance(
            {"seeds": args.seeds, "batch": args.batch, "sizes": args.sizes, "bias_init": "N(0, 0.1^2)"},
            args.seeds,
            None,
            None,
            None,
            started,
            device="cpu",
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"max relative difference {worst:.3g} ({'passed' if worst < TOLERANCE else 'FAILED'}) -> {args.out}")


if __name__ == "__main__":
    main()
