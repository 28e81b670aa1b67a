"""fvtrust: how much does a feature visualization tell us about a neural network?

The import packages are ``theory`` (value ranges, ``check_class``), ``counterexamples`` (witnesses and
independent verifiers) and ``empirical`` (feature visualization on real networks). This package only holds
the command line and the table builder, which use the others.
"""

__version__ = "0.1.0"
