"""Ordinary training (Adam, two seeds) on data that pins down a visualization: the trained networks fit the
data (both are, up to optimisation error, empirical-risk minimisers), share the visualization, and still
disagree away from the data.

Data (d = 2): the diagonal points (t, t) with value t for t in {0, 1/4, 1/2, 3/4, 1}, so the intended
visualization is x_min = (0, 0), f_min = 0, x_max = (1, 1), f_max = 1. Query point: x = (1, 0), far from the data.
"""

from __future__ import annotations

from typing import Any

import torch


def _mlp(seed: int, d: int, hidden: int) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(d, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    ).double()


def train_pair(
    seeds: tuple[int, int] = (0, 1), hidden: int = 16, steps: int = 3000, lr: float = 1e-2, grid: int = 201
) -> dict[str, Any]:
    """Train two ReLU MLPs from two seeds; report losses, visualizations (dense-grid argmax/argmin, and the exact
    global max/min by MILP) and values at the query point."""
    from counterexamples.verify import relu_net_extrema

    t = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)
    X, y = torch.stack([t, t], 1), t.clone()
    x_query = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    axis = torch.linspace(0, 1, grid, dtype=torch.float64)
    G = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    nets = []
    out: dict[str, Any] = {"data": {"X": X.tolist(), "y": y.tolist()}, "x": x_query[0].tolist(), "networks": []}
    for seed in seeds:
        net = _mlp(seed, 2, hidden)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(steps):
            loss = ((net(X)[:, 0] - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            vals = net(G)[:, 0]
            i_max, i_min = int(vals.argmax()), int(vals.argmin())
            rec = {
                "seed": seed,
                "train_loss": float(((net(X)[:, 0] - y) ** 2).mean()),
                "grid_argmax": G[i_max].tolist(),
                "grid_max": float(vals[i_max]),
                "grid_argmin": G[i_min].tolist(),
                "grid_min": float(vals[i_min]),
                "value_at_x": float(net(x_query)[0, 0]),
            }
        spec = {
            "kind": "relu_net",
            "layers": [
                {
                    "W": [[repr(float(v)) for v in row] for row in m.weight.tolist()],
                    "b": [repr(float(v)) for v in m.bias.tolist()],
                }
                for m in net
                if isinstance(m, torch.nn.Linear)
            ],
        }
        ext = relu_net_extrema(spec, "milp")
        rec.update(
            {
                "exact_max": float(ext["max"]),
                "exact_argmax": [float(v) for v in ext["argmax"]],
                "exact_min": float(ext["min"]),
                "exact_argmin": [float(v) for v in ext["argmin"]],
            }
        )
        out["networks"].append(rec)
        nets.append(net)
    a, b = out["networks"]
    out["disagreement_at_x"] = abs(a["value_at_x"] - b["value_at_x"])
    out["visualization_gap"] = max(abs(a["exact_max"] - b["exact_max"]), abs(a["exact_min"] - b["exact_min"]))
    return out
