"""Analysis: the questions gapkit answers and the method that answers them (docs/METHOD.md).

Where a question is validated, where the method lives: see the modules' docstrings.

May import: ``gapkit.errors``, ``gapkit.codes``, ``gapkit.store``, ``gapkit.config``. Never ``render``
or ``cli``; polars only inside functions (importing this package is cheap).
"""
