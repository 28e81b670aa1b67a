"""Counterexamples and proofs for every verdict of the theory table, and independent verifiers."""
