"""Configuration as validated data: sectors, award presets, pathway rules and the user's own files.

The shipped definitions are TOML files in ``shipped/`` (``shipped/sectors/*.toml``, ``awards.toml``,
``pathways.toml``); their pydantic schemas are ``sector_schema``, ``preset_schema`` and
``rules_schema``; ``sectors`` and ``presets`` turn them into the plain frozen objects the analysis
uses; ``user_files`` reads what a user points gapkit at; ``validated`` caches a successful validation
by content hash.

May import: ``gapkit.errors``, ``gapkit.codes``, ``gapkit.store`` (atomic writes). Never ``analysis``,
``render`` or ``cli``.
"""
