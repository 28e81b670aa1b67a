"""fvtrust: how much does a feature visualization tell us about a neural network?

The library packages are ``theory`` (value ranges, ``check_class``), ``counterexamples`` (witnesses and
independent verifiers) and ``empirical`` (feature visualization, fooling, path similarity and the bridge on real
networks). This package holds the command line (``fvtrust.cli``, one module per sub-command in
``fvtrust.commands``), its error types (``fvtrust.errors``) and the table builder; the library never imports it.
"""

__version__ = "0.1.0"
