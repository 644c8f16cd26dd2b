"""Ingestion: getting the agencies' files into the store.

Holds the downloader (``fetch``: conditional GET, retries, mirrors), the file readers (``readers``:
CSV/XLSX/zip with their quirks), one module per upstream source (``sources/``), the orchestrator
(``pipeline.ingest``) and the Career Clusters loader (``clusters``).

May import: ``gapkit.errors``, ``gapkit.codes``, ``gapkit.store``. Never ``analysis``, ``render`` or ``cli``.
"""
