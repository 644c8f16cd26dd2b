"""Errors that reach the user as one clear paragraph (never a traceback)."""

from __future__ import annotations

from pathlib import Path


class GapkitError(Exception):
    """Base class: the message is a complete, user-facing paragraph."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(GapkitError):
    """A bad option value or an impossible combination of options."""


class SourceFormatError(GapkitError):
    """A file does not have the layout its source publishes (bad file, schema drift, ...)."""

    def __init__(self, path: str | Path, problem: str, hint: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        hint = hint or "Download the file again from the agency, or point --from at a good copy; data already ingested was left untouched."
        super().__init__(f"{self.path}: {problem} {hint}")


class SchemaDriftError(SourceFormatError):
    """A required column is missing or was renamed."""

    def __init__(self, path: str | Path, missing: list[str], found: list[str], sheet: str | None = None) -> None:
        where = f" (sheet {sheet!r})" if sheet else ""
        shown = ", ".join(repr(c) for c in found[:20])
        super().__init__(
            path,
            f"required column(s) {', '.join(missing)} not found{where}; the header has {shown}.",
            "The agency may have renamed a column; report it with the file attached, or use an earlier copy. "
            "Data already ingested was left untouched.",
        )


class DownloadError(GapkitError):
    """A download failed after the allowed retries."""

    def __init__(self, url: str, problem: str, hint: str | None = None) -> None:
        self.url = url
        hint = hint or (
            "Check the network, try again later, or download the file in a browser and ingest it with "
            "`gapkit ingest --from PATH`; data already ingested was left untouched."
        )
        super().__init__(f"Download of {url} failed: {problem} {hint}")


class MissingDataError(GapkitError):
    """An analysis needs a dataset that has not been ingested."""

    def __init__(self, dataset: str, command: str, vintage: str | None = None) -> None:
        what = f"{dataset} (vintage {vintage})" if vintage else dataset
        super().__init__(f"No ingested data for {what}. Run `{command}` first (add --from ../shared or --mirror when offline).")


class LockedError(GapkitError):
    """Another gapkit ingest holds the data-directory lock."""
