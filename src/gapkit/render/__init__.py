"""Rendering: results turned into terminal tables and files (``tables``), charts (``charts/``, the only
place matplotlib is imported), briefs (``brief``) and the ingest report (``ingest_report``).

May import: ``gapkit.errors``, ``gapkit.store``, ``gapkit.config``, ``gapkit.analysis``. Never ``cli``.
"""
