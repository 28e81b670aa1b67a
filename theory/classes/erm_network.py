"""The class ``erm_network``: ReLU networks that minimise the empirical squared loss on some data set."""

from __future__ import annotations

from theory._numbers import vector_str
from theory._setting import FloatArray, Observations
from theory.classes._interpolating import InterpolatingClass


class ErmNetwork(InterpolatingClass):
    """ReLU networks that are empirical-risk minimisers (squared loss) on some finite data set.

    A network with zero training loss minimises the empirical risk. Both witnesses are tent networks of one
    architecture that fit the data set D = {(p_i, v_i)} of the observations exactly (zero loss), so both are
    ERM solutions on D, share the visualization, and take f_min and f_max at x."""

    name = "erm_network"
    label = "NN trained with ERM"

    def _extra(self, obs: Observations, x: FloatArray) -> dict[str, object]:
        return {
            "dataset": {
                "X": [vector_str(p) for p in obs.points],
                "y": vector_str(obs.values),
                "loss": "squared",
            }
        }
