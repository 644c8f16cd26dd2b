"""The fixed list of commands whose outputs the golden test pins (issue: engine v2 must not change them).

Each entry is (name, argv); argv runs through the real CLI entry point with ``--out FILE`` appended
(tables as CSV or JSON, the brief as a folder whose ``brief.md`` is compared).
"""

from __future__ import annotations

SECTORS = ("transportation", "healthcare", "advanced-manufacturing", "information-technology", "construction", "energy",
           "agriculture", "all-industries")
GRAINS = ("sector", "subsector", "group", "occupation")
REGIONS = ("US", "OH", "TX")


def commands() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for sector in SECTORS:
        for region in REGIONS:
            for by in GRAINS:
                out.append((f"gap-{sector}-{region}-{by}",
                            ["gap", "--sector", sector, "--region", region, "--by", by, "--format", "csv"]))
        out.append((f"gap-{sector}-US-state", ["gap", "--sector", sector, "--by", "state", "--format", "csv"]))
    out += [
        ("gap-all-US-sector", ["gap", "--sector", "all", "--format", "csv"]),
        ("gap-all-US-state", ["gap", "--sector", "all", "--by", "state", "--format", "csv"]),
        ("gap-transportation-OH-occupation-entry-employment",
         ["gap", "--sector", "transportation", "--region", "OH", "--by", "occupation", "--awards", "entry", "--alloc",
          "employment", "--retention", "0.8", "--format", "csv"]),
        ("gap-transportation-US-group-occscope", ["gap", "--sector", "transportation", "--scope", "occupation", "--format", "csv"]),
        ("gap-healthcare-US-group-2022-2024", ["gap", "--sector", "healthcare", "--completions-years", "2022-2024",
                                               "--alloc", "none", "--format", "csv"]),
        ("sensitivity-transportation-US", ["gap", "--sector", "transportation", "--sensitivity", "--format", "csv"]),
        ("sensitivity-transportation-OH", ["gap", "--sector", "transportation", "--region", "OH", "--sensitivity", "--format", "csv"]),
        ("sensitivity-healthcare-TX", ["gap", "--sector", "healthcare", "--region", "TX", "--sensitivity", "--format", "csv"]),
        ("pathways-all-OH", ["pathways", "--sector", "all", "--region", "OH", "--format", "csv"]),
        ("pathways-transportation-US", ["pathways", "--sector", "transportation", "--format", "csv"]),
        ("pathways-healthcare-TX", ["pathways", "--sector", "healthcare", "--region", "TX", "--format", "csv"]),
        ("programs-OH", ["programs", "--region", "OH", "--format", "csv"]),
        ("programs-transportation-OH", ["programs", "--sector", "transportation", "--region", "OH", "--format", "csv"]),
        ("programs-OH-institutions-51.38", ["programs", "--region", "OH", "--cip", "51.38", "--view", "institutions",
                                            "--format", "csv"]),
        ("occupation-53-3032-US", ["occupation", "53-3032", "--format", "json"]),
        ("occupation-29-1141-OH", ["occupation", "29-1141", "--region", "OH", "--format", "json"]),
        ("brief-transportation-US", ["report", "--sector", "transportation"]),
        ("brief-transportation-OH", ["report", "--sector", "transportation", "--region", "OH"]),
    ]
    return out
