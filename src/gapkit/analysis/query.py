"""A question, as asked and as resolved: the one place where options are validated and user files read.

``Query`` holds what was asked, as typed (from the CLI, a notebook or ``refresh.toml``: text is fine,
``completions_years="2022-2024"``). ``query.resolve(tables)`` checks every option against the
shipped definitions and the ingested data, reads the user's files once (sector file, extra-supply
CSV, rules file) and returns a frozen :class:`Resolved`: sector objects, the region, the award
preset, the completions years, the projection and matrix cycles, the extra-supply rows, the rules.
The method (:mod:`gapkit.analysis.method`) only ever sees a ``Resolved`` and never validates.

``resolved.at(by=..., alloc=..., awards=..., region=..., completions_years=...)`` gives a variant of
the same question that reuses everything already read (the report asks one question at several
grains and under several method choices).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from gapkit.codes import ABBR_TO_FIPS, STATES, normalize_soc, normalize_state
from gapkit.errors import MissingDataError, UsageError

if TYPE_CHECKING:
    from gapkit.analysis.tables import Tables
    from gapkit.config.presets import Preset
    from gapkit.config.rules import Rules
    from gapkit.config.sectors import Sector
    from gapkit.config.user_files import ExtraSupplyRow

BY_CHOICES = ("sector", "subsector", "group", "occupation", "state", "metro", "county", "wda")
AREA_GRAINS = ("metro", "county", "wda")  # a state's areas side by side
SIDE_BY_SIDE = ("state", *AREA_GRAINS)  # grains whose rows are places side by side
SUPPLY_AREAS = ("region", "state")
ALLOC_MODES = ("education", "openings", "employment", "equal", "none")
DEMANDS = ("openings", "entrants", "growth")
SCOPES = ("sector", "occupation")
SORTABLE = ("openings", "supply", "ratio", "gap")
PATHWAY_BY = ("occupation", "cluster")
PATHWAY_SORT = ("tier", "openings", "growth", "wage", "ratio", "gap")
PROGRAM_BY = ("program", "cluster")
PROGRAM_VIEWS = ("programs", "awards", "institutions", "providers")
ALL_SECTORS = "all"
WHOLE_ECONOMY = "all-industries"
# What each question answers when no sector is named: one sector's gap, every occupation for pathways.
DEFAULT_SECTOR = {"gap": "transportation", "sensitivity": "transportation", "chart": "transportation", "brief": "transportation",
                  "pathways": ALL_SECTORS,
                  "programs": ALL_SECTORS, "occupation": WHOLE_ECONOMY}
GAP_CHARTS = ("bars", "states", "scatter", "sensitivity", "trend")
PATHWAY_CHARTS = ("pathways", "programs")
BARS_BY = ("group", "subsector", "occupation", "metro", "county", "wda")  # areas: a state's areas side by side
NATIONAL_WORDS = {"us", "usa", "national", "00", "united states"}


@dataclass(frozen=True)
class Region:
    """Where a question is asked: the nation, every state side by side, one state, or an area below the state
    (a metro, a county list, a workforce area, a user's region file), which lists its counties."""

    code: str  # "US", "all", states side by side ("OH,PA,MI"), a state's postal code, "metro:18140", "county:39049+39041", "wda:TX-9", "custom:NAME"
    kind: str  # "nation" | "states" | "state" | "metro" | "county" | "wda" | "custom"
    name: str
    fips: str | None = None  # the (primary) state's FIPS code
    state: str | None = None  # the primary state's postal code (sub-state areas)
    states: tuple[str, ...] = ()  # every state the area touches; the states side by side (kind "states"; () = all)
    counties: tuple[str, ...] = ()  # county FIPS codes (sub-state areas)
    cbsa: str | None = None
    note: str | None = None

    @property
    def national(self) -> bool:
        return self.kind == "nation"

    @property
    def single_state(self) -> bool:
        return self.kind == "state"

    @property
    def substate(self) -> bool:
        return self.kind in {"metro", "county", "wda", "custom"}

    @property
    def label(self) -> str:
        """How tables label the region's rows (``US``, ``OH``, ``metro:18140``)."""
        return self.code


def resolve_region(text: str, option: str = "--region", tables: Tables | None = None) -> Region:
    """``US`` / ``all`` / a state (``OH``, ``39``, ``Ohio``) / ``metro:18140`` / ``metro:columbus`` / ``county:39049,39041`` /
    ``wda:TX-9`` -> a Region; a clear error otherwise."""
    t = str(text).strip()
    m = re.match(r"^(metro|cbsa|msa|county|counties|wda)\s*:\s*(.*)$", t, re.I)
    if m:
        if tables is None:
            raise UsageError(f"{option} {t}: a sub-state region needs the ingested geography (`gapkit ingest geo`).")
        from gapkit.analysis import regions

        kind, rest = m.group(1).lower(), m.group(2)
        if kind in {"metro", "cbsa", "msa"}:
            return regions.resolve_metro(rest, tables)
        if kind in {"county", "counties"}:
            return regions.resolve_counties(rest, tables)
        return regions.resolve_wda(rest, tables)
    if t.lower() in NATIONAL_WORDS:
        return Region("US", "nation", "United States")
    if t.lower() == "all":
        return Region("all", "states", "every state")
    if "," in t:
        several = _several_states(t, option, tables)
        if several is not None:
            return several
    try:
        abbr = normalize_state(t)
    except ValueError as exc:
        from gapkit.analysis.names import resolve as by_name

        hint = "Use US, all, a state, metro:CBSA or metro:NAME, county:FIPS,... or wda:ST-N (`gapkit regions STATE` lists them)."
        try:
            abbr = by_name("region", t, None, f"{option}: {exc}", hint)  # a state's unique name, or did-you-mean
        except UsageError:
            if tables is None or not tables.has("cbsa_delineation"):
                raise
            from gapkit.analysis import regions

            try:  # a metro's name given without metro:
                return regions.resolve_metro(t, tables)
            except UsageError:
                pass
            raise
        if abbr == "US":
            return Region("US", "nation", "United States")
    fips = ABBR_TO_FIPS[abbr]
    return Region(abbr, "state", STATES[fips][1], fips)


def _several_states(text: str, option: str, tables: Tables | None = None) -> Region | None:
    """``OH,PA,MI`` (postal codes, FIPS codes or names): those states side by side, like ``--by state`` restricted
    to them; one state named twice is that state. None when a part is not a state (``Columbus, OH`` is a metro)."""
    parts = [x.strip() for x in text.split(",")]
    if any(not x for x in parts):
        raise UsageError(f"{option} {text}: an empty state between commas; give states separated by commas, e.g. OH,PA,MI.")
    from gapkit.analysis.names import resolve as by_name

    def state_of(x: str) -> str | None:
        try:
            return normalize_state(x)
        except ValueError:
            try:
                return by_name("region", x, None, "", "")
            except UsageError:
                return None

    found = [state_of(x) for x in parts]
    if all(a is None for a in found):
        return None  # not a list of states (perhaps a metro's name)
    if None in found and tables is not None and tables.has("cbsa_delineation"):
        from gapkit.analysis import regions

        try:  # "Columbus, OH": a metro's name given without metro:
            return regions.resolve_metro(text, tables)
        except UsageError:
            pass
    abbrs: list[str] = []
    for x, abbr in zip(parts, found, strict=True):
        if abbr is None or abbr == "US" or abbr not in ABBR_TO_FIPS:
            if abbr is None:  # the clear error with its did-you-mean
                by_name("region", x, None, f"{option} {text}: {x!r} is not a state",
                        "Give states separated by commas (postal codes, FIPS codes or names), e.g. OH,PA,MI.")
            raise UsageError(f"{option} {text}: {x} is not a state; give states separated by commas, e.g. OH,PA,MI "
                             "(or US alone for the nation, all for every state).")
        if abbr not in abbrs:
            abbrs.append(abbr)
    if len(abbrs) == 1:
        return Region(abbrs[0], "state", STATES[ABBR_TO_FIPS[abbrs[0]]][1], ABBR_TO_FIPS[abbrs[0]])
    names = [STATES[ABBR_TO_FIPS[a]][1] for a in abbrs]
    return Region(",".join(abbrs), "states", ", ".join(names[:-1]) + " and " + names[-1], states=tuple(abbrs))


def parse_years(text: str | tuple[int, ...] | list[int] | int | None, option: str = "--completions-years") -> tuple[int, ...] | None:
    """``2024``, ``2021-2024`` or ``2022,2024`` (or a tuple of years) -> the years in order; a clear error otherwise."""
    if text is None or text == "" or text == ():
        return None
    out: list[int] = []
    if isinstance(text, int) and not isinstance(text, bool):
        out = [text]
    elif isinstance(text, tuple | list):
        if not all(isinstance(y, int) and not isinstance(y, bool) for y in text):
            raise UsageError(f"{option} {list(text)!r}: give years as whole numbers, e.g. [2022, 2024] or \"2022-2024\".")
        out = list(text)
    elif isinstance(text, str):
        try:
            for part in text.split(","):
                part = part.strip()
                if "-" in part:
                    a, b = (int(x) for x in part.split("-", 1))
                    if b < a or b - a > 50:
                        raise ValueError
                    out.extend(range(a, b + 1))
                elif part:
                    out.append(int(part))
        except ValueError:
            raise UsageError(f"{option} {text!r}: give years like 2024, 2021-2024 or 2022,2024.") from None
    else:
        raise UsageError(f"{option} {text!r}: give years like 2024, 2021-2024 or 2022,2024.")
    if not out or any(y < 1990 or y > 2100 for y in out):
        raise UsageError(f"{option} {text!r}: years must be four-digit years between 1990 and 2100.")
    return tuple(sorted(dict.fromkeys(out)))


@dataclass(frozen=True)
class Query:
    """A question as asked. Every field may be given as text; ``resolve`` checks them all."""

    question: str = "gap"  # gap | sensitivity | chart | brief | pathways | programs | occupation
    sector: str | None = None  # a shipped sector, "all", or None for the question's default
    region: str = "US"
    by: str | None = None  # None: the question's default grain
    awards: str = "all"
    alloc: str | None = None  # None: the method's default (education-aware)
    scope: str = "sector"
    demand: str | None = None  # openings | entrants | growth; None: the method's default (entrants)
    completions_years: str | tuple[int, ...] | None = None
    vintage: str | None = None  # EP cycle, e.g. "2024-34"
    retention: float | str = 1.0
    extra_supply: str | os.PathLike[str] | None = None
    sector_file: str | os.PathLike[str] | None = None
    region_file: str | os.PathLike[str] | None = None  # a user's region (TOML: name, title, counties)
    supply_area: str = "region"  # region | state: whose institutions' completers count in a sub-state area
    etpl_completers: float | str | None = None  # count ETPL programs outside IPEDS as supply: completers a year each
    # pathways and programs
    rules: str | os.PathLike[str] | None = None
    cluster: str | None = None
    sort: str | None = None
    top: int | str | None = None
    cip: str | None = None
    soc: str | None = None
    view: str = "programs"
    # charts
    chart: str | None = None  # the kind, for question "chart" (or "pathways"/"programs" drawn as a chart)
    limit: int | str | None = None  # pathways/programs charts: how many bubbles or bars

    def resolve(self, tables: Tables) -> Resolved:
        return _resolve(self, tables)

    def params(self) -> dict[str, Any]:
        """The fields as JSON-able values (the result cache's key)."""
        return {f.name: (str(v) if isinstance(v, os.PathLike) else v) for f in fields(self) for v in [getattr(self, f.name)]}

    def user_files(self) -> list[str]:
        return [str(p) for p in (self.sector_file, self.extra_supply, self.rules, self.region_file) if p]


@dataclass(frozen=True)
class Resolved:
    """A validated question with everything it needs already read. Build one with ``Query.resolve``."""

    query: Query
    sectors: tuple[Sector, ...]
    all_sectors: bool
    region: Region
    by: str
    awards: str
    preset: Preset
    alloc: str
    scope: str
    demand: str
    years: tuple[int, ...]
    ep_cycle: str
    matrix_cycle: str | None
    sep_cycle: str | None
    projections_cycle: str | None
    retention: float
    extra_supply: tuple[ExtraSupplyRow, ...] | None = None
    supply_area: str = "region"
    etpl_note: str | None = None  # the stated assumption when ETPL programs count as supply
    rules: Rules | None = None
    cluster: tuple[str, str] | None = None  # (level, exact name) of a Career Cluster
    cip: tuple[str, bool] | None = None  # (code, is_prefix)
    soc: str | None = None
    sort: str | None = None
    top: int | None = None
    view: str = "programs"
    chart: str | None = None
    limit: int | None = None
    _tables: Tables | None = field(default=None, compare=False, repr=False)

    @property
    def sector(self) -> Sector:
        """The one sector asked about (the first when every shipped sector is)."""
        return self.sectors[0]

    @property
    def sector_name(self) -> str:
        return ALL_SECTORS if self.all_sectors else self.sectors[0].name

    @property
    def sector_title(self) -> str:
        return "All shipped sectors" if self.all_sectors else self.sectors[0].title

    @property
    def needs_states(self) -> bool:
        return not self.region.national or self.by == "state" or self.by in AREA_GRAINS

    @property
    def areas(self) -> bool:
        """Sub-state areas: one (``--region metro:...``) or a state's side by side (``--by metro|county|wda``)."""
        return self.region.substate or self.by in AREA_GRAINS

    def as_gap(self, by: str) -> Resolved:
        """The gap question behind a pathways, programs or occupation question, at grain ``by``."""
        return self.at(question="gap", by=by, sort=None, top=None, cluster=None, cip=None, soc=None, view="programs", chart=None,
                       limit=None)

    def at(self, **changes: Any) -> Resolved:
        """The same question with some options changed (by, alloc, awards, scope, region, completions_years, sector,
        retention): only what changed is checked again; files already read are reused."""
        q = replace(self.query, **{k: v for k, v in changes.items() if k in {f.name for f in fields(Query)}})
        assert self._tables is not None
        return _resolve(q, self._tables, reuse=self)


# ---------------------------------------------------------------------------------------------
# resolution
# ---------------------------------------------------------------------------------------------
def _resolve(q: Query, tables: Tables, reuse: Resolved | None = None) -> Resolved:
    from gapkit.config.presets import preset

    question = q.question
    if question not in DEFAULT_SECTOR:
        raise UsageError(f"Unknown question {question!r}: choose one of {', '.join(DEFAULT_SECTOR)}.")
    region = _resolve_region(q, tables, reuse)
    default_by = "sector" if question == "gap" and (q.sector or "") == ALL_SECTORS else "group"
    by = q.by or {"pathways": "occupation", "programs": "program", "occupation": "occupation"}.get(question, default_by)
    if question == "sensitivity" and q.sector == ALL_SECTORS:
        raise UsageError("--sensitivity works on one sector; pick --sector NAME.")
    if question == "chart":
        by = _chart_checks(q, region, by)
    elif question == "brief":
        if (q.sector or DEFAULT_SECTOR[question]) == ALL_SECTORS:
            raise UsageError("A brief covers one sector; pick --sector NAME (see `gapkit sectors`).")
        if region.kind == "states":
            region = resolve_region("US")
    if question in {"gap", "sensitivity", "chart", "brief"}:
        if by not in BY_CHOICES:
            raise UsageError(f"--by {by!r}: choose one of {', '.join(BY_CHOICES)}.")
        if by == "state" and region.kind not in {"nation", "states"}:
            raise UsageError(f"--by state compares all states; it cannot be combined with --region {q.region}. "
                             "Drop --region or use --by group.")
        if by in AREA_GRAINS and region.kind != "state":
            raise UsageError(f"--by {by} puts a state's areas side by side: give the state, e.g. --region OH --by {by}.")
        if region.kind == "states":
            if region.states and q.by not in (None, "state"):
                raise UsageError(f"--region {region.code} puts those states side by side (one row each, like --by state); "
                                 f"it cannot be combined with --by {q.by}. Drop --by, or give one state, e.g. "
                                 f"--region {region.states[0]} --by {q.by}.")
            by = "state"
    elif question == "pathways":
        if by not in PATHWAY_BY:
            raise UsageError(f"--by {by!r}: choose one of {', '.join(PATHWAY_BY)}.")
        if region.kind == "states":
            raise UsageError(f"--region {region.code}: pathways ranks occupations in one area; give US or a state (e.g. OH).")
        if q.chart == "pathways" and (q.cip or q.soc):
            raise UsageError("--cip and --soc choose programs; use them with `gapkit chart programs`.")
    elif question == "programs":
        if by not in PROGRAM_BY:
            raise UsageError(f"--by {by!r}: choose one of {', '.join(PROGRAM_BY)}.")
        if region.kind == "states":
            raise UsageError(f"--region {region.code}: programs are listed for one area; give US or a state (e.g. OH).")
        if q.chart == "programs" and by == "cluster":
            raise UsageError("The programs chart shows programs one by one; drop --by cluster.")
    elif region.kind == "states":
        raise UsageError("gapkit occupation takes --region US or one state.")
    from gapkit.config.method import method_settings

    alloc = q.alloc or method_settings().alloc_default
    if alloc not in ALLOC_MODES:
        raise UsageError(f"--alloc {q.alloc!r}: choose one of {', '.join(ALLOC_MODES)}.")
    demand = q.demand or method_settings().demand_default
    if demand not in DEMANDS:
        raise UsageError(f"--demand {q.demand!r}: choose one of {', '.join(DEMANDS)} (openings: every annual opening; entrants: "
                         "growth plus labor-force exits, the openings new entrants fill; growth: new jobs only).")
    if q.supply_area not in SUPPLY_AREAS:
        raise UsageError(f"--supply-area {q.supply_area!r}: choose region (institutions in the area's counties) or state (the "
                         "whole state's, since bachelor's and graduate completers are often hired statewide).")
    if q.scope not in SCOPES:
        raise UsageError(f"--scope {q.scope!r}: choose one of {', '.join(SCOPES)}.")
    p = preset(q.awards)
    retention = _retention(q.retention)
    if by == "subsector" and q.scope == "occupation":
        raise UsageError("--by subsector needs --scope sector (occupation scope counts occupations economy-wide, not by industry).")

    sectors, all_sectors = _sectors(q, reuse)
    ep_cycle = tables.vintage("ep_occupations", q.vintage)
    matrix_cycle = sep_cycle = None
    if any(not s.whole_economy for s in sectors):
        matrix_cycle = tables.vintage("nem_matrix")
        sep_cycle = matrix_cycle if matrix_cycle in tables.vintages("ep_occupations") else ep_cycle
    years = _completion_years(parse_years(q.completions_years), tables)
    projections_cycle = None
    if not region.national or by == "state":
        projections_cycle = tables.vintage("state_projections")
        # the question reads this state's rows next (loaded now, once) unless it spans other states too: a state's metros
        # (metros cross state lines) or an area in several states, which read every state they touch (only counted now)
        alone = by != "metro" and len(region.states) <= 1
        if ((region.single_state or region.substate)
                and not tables.has_state_projections(projections_cycle, region.fips or "00", load=alone)):
            st = region.code if region.single_state else region.state
            raise UsageError(f"--region {region.code}: Projections Central has no {projections_cycle} data for "
                             f"{STATES[region.fips or '00'][1]} ingested. Run `gapkit ingest projections --states {st}`.")
    extra = _extra_supply(q, reuse)
    etpl_note = None
    if q.etpl_completers is not None and q.etpl_completers != "":
        etpl_rows, etpl_note = _etpl_supply(q, region, by, ep_cycle, tables)
        extra = (*(extra or ()), *etpl_rows)
    r = Resolved(query=q, sectors=sectors, all_sectors=all_sectors, region=region, by=by, awards=q.awards, preset=p,
                 alloc=alloc, scope=q.scope, demand=demand, years=years, ep_cycle=ep_cycle, matrix_cycle=matrix_cycle, sep_cycle=sep_cycle,
                 projections_cycle=projections_cycle, retention=retention, extra_supply=extra, supply_area=q.supply_area,
                 etpl_note=etpl_note, _tables=tables)
    if question in {"pathways", "programs"}:
        r = _resolve_pathways(q, r, tables, reuse)
    elif question in {"gap", "sensitivity"}:
        # states and areas side by side rank by the ratio (an alphabetical --top N would be arbitrary)
        default_sort = "ratio" if question == "gap" and by in SIDE_BY_SIDE else None
        r = replace(r, sort=_choice(q.sort, SORTABLE, "--sort") or default_sort, top=_top(q.top))
    elif question == "chart":
        r = replace(r, chart=q.chart)
    elif question == "occupation":
        r = replace(r, soc=_soc(q.soc, tables, ep_cycle, "SOC"))
    return r


def _chart_checks(q: Query, region: Region, by: str) -> str:
    """The combinations each gap chart kind can draw; returns the grain it draws."""
    kind = q.chart
    if kind not in GAP_CHARTS:
        raise UsageError(f"Unknown chart kind {kind!r}: choose one of {', '.join(GAP_CHARTS + PATHWAY_CHARTS)}.")
    if (q.sector or DEFAULT_SECTOR["chart"]) == ALL_SECTORS:
        raise UsageError("Charts show one sector; pick --sector NAME (see `gapkit sectors`).")
    if kind == "bars":
        by = "group" if by == "sector" else by
        if by not in BARS_BY:
            raise UsageError(f"The bars chart shows --by group, subsector, occupation, metro, county or wda (not {by}); "
                             "for states use `gapkit chart states`.")
        if by in AREA_GRAINS and region.kind != "state":
            raise UsageError(f"The bars chart --by {by} puts one state's areas side by side; give --region with a state "
                             "(e.g. --region OH).")
        if region.kind == "states":
            raise UsageError("The bars chart shows one region; use --region US or a state (or `gapkit chart states`).")
    elif kind == "states":
        # every state is drawn (from --region US); a single state is accepted and highlighted on the map,
        # so the question keeps its region and its own grain (not "state", which a single region refuses)
        if region.kind not in {"nation", "states", "state"}:
            raise UsageError(f"The states chart compares every state; drop --region {region.code} (or use --region US, "
                             "or a state to highlight it).")
        by = "group" if region.kind == "state" else "state"
    elif region.kind == "states":
        raise UsageError(f"The {kind} chart shows one region; use --region US or a state.")
    return by


def _resolve_region(q: Query, tables: Tables, reuse: Resolved | None) -> Region:
    if reuse is not None and reuse.query.region == q.region and reuse.query.region_file == q.region_file:
        return reuse.region
    if q.region_file:
        if str(q.region).strip().upper() not in {"US", ""} and q.region is not None:
            raise UsageError(f"--region-file {q.region_file} is the region; it cannot be combined with --region {q.region}.")
        from gapkit.analysis.regions import region_from_file

        return region_from_file(str(q.region_file), tables)
    return resolve_region(q.region, tables=tables)


def _choice(value: str | None, choices: tuple[str, ...], option: str) -> str | None:
    if value is not None and value not in choices:
        raise UsageError(f"{option} {value!r}: choose one of {', '.join(choices)}.")
    return value


def _top(value: int | str | None, option: str = "--top") -> int | None:
    if value is None or value == "":
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option} {value!r}: give a positive number of rows.") from None
    if n <= 0:
        raise UsageError(f"{option} {n}: give a positive number of rows.")
    return n


def _retention(value: float | str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (0 < v <= 1.5):
        raise UsageError(f"--retention {value}: give the share of completers who enter the occupation's labor market, a number "
                         "in (0, 1.5]; 1.0 means all.")
    return v


def _sectors(q: Query, reuse: Resolved | None) -> tuple[tuple[Sector, ...], bool]:
    from gapkit.config.sectors import list_sectors, load_sector

    name = q.sector or DEFAULT_SECTOR[q.question]
    if reuse is not None and reuse.query.sector == q.sector and reuse.query.sector_file == q.sector_file:
        return reuse.sectors, reuse.all_sectors
    if q.sector_file:
        if q.sector == ALL_SECTORS:
            raise UsageError("--sector all compares the shipped sectors; it cannot be combined with --sector-file.")
        return (load_sector(str(q.sector_file)),), False
    if name == ALL_SECTORS and q.question == "gap":
        return tuple(list_sectors()), True
    if name == ALL_SECTORS:  # pathways and programs: every occupation of the economy
        return (load_sector(WHOLE_ECONOMY),), False
    from gapkit.analysis.names import sector_name

    return (load_sector(sector_name(name)),), False


def _completion_years(wanted: tuple[int, ...] | None, tables: Tables) -> tuple[int, ...]:
    available = [int(v) for v in tables.vintages("ipeds_completions")]
    if not available:
        raise MissingDataError("ipeds_completions", "gapkit ingest ipeds")
    if not wanted:
        return (max(available),)
    missing = [y for y in wanted if y not in available]
    if missing:
        raise UsageError(f"--completions-years: IPEDS {', '.join(map(str, missing))} not ingested (have {', '.join(map(str, available))}). "
                         f"Run `gapkit ingest ipeds --years {min(missing)}-{max(missing)}` or choose ingested years.")
    return tuple(sorted(wanted))


def _extra_supply(q: Query, reuse: Resolved | None) -> tuple[ExtraSupplyRow, ...] | None:
    if not q.extra_supply:
        return None
    if reuse is not None and reuse.query.extra_supply == q.extra_supply and reuse.extra_supply is not None:
        return reuse.extra_supply
    from gapkit.config.user_files import read_extra_supply

    return tuple(read_extra_supply(str(q.extra_supply)))


def _etpl_supply(q: Query, region: Region, by: str, ep_cycle: str, tables: Tables) -> tuple[list[ExtraSupplyRow], str]:
    """``--etpl-completers N``: the ETPL programs of providers outside IPEDS in the region as extra supply."""
    from gapkit.analysis import regions
    from gapkit.config.method import method_settings

    ms = method_settings()
    try:
        n = float(q.etpl_completers)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        n = math.nan
    if not (0 <= n <= ms.etpl_max_per_program):
        raise UsageError(f"--etpl-completers {q.etpl_completers}: give the completers a year you assume for each training-provider "
                         f"program outside IPEDS, a number from 0 to {ms.etpl_max_per_program:g} (the list publishes none).")
    if region.national or region.kind == "states":
        raise UsageError("--etpl-completers counts a state's Eligible Training Provider List: give --region a state that has one "
                         "(TX) or an area in it (wda:TX-9, county:48453).")
    areas = regions.areas_of(region, by, tables) if by in AREA_GRAINS else None
    ep_codes = set(tables.ep(ep_cycle)["soc_code"].to_list())
    return regions.etpl_extra_supply(tables, region, areas, n, ms.apprenticeship_years, ep_codes)


def _soc(text: str | None, tables: Tables, ep_cycle: str, option: str) -> str:
    """A detailed occupation of the projections, by SOC code or exact title; did-you-mean, or the codes a group holds."""
    from gapkit.analysis import names

    if text is None:
        raise UsageError(f"{option}: give a SOC code, e.g. 53-3032.")
    try:
        code = normalize_soc(text)
    except ValueError:
        where = "" if option == "SOC" else f"{option}: "
        code = names.resolve("occupation", text, tables, f"{where}{text!r} is not a SOC code (NN-NNNN, e.g. 53-3032) or the title "
                             "of a detailed occupation", names.find_hint("occupation", text))
    row = tables.ep_row(ep_cycle, code)
    if row is None or row["occ_type"] != "Line item":
        why = names.not_detailed(code, tables, ep_cycle)
        kind = "a summary group, not a detailed occupation" if row is not None else "not in the BLS projections"
        if option == "SOC":
            raise UsageError(why or f"SOC {code} is {kind} ({ep_cycle}). List detailed occupations with "
                             "`gapkit gap --sector all-industries --by occupation`, or search by name with `gapkit find`.")
        raise UsageError(f"{option} {code} is not a BLS detailed occupation in the projections"
                         + (f": {why}" if why else "; list them with `gapkit pathways --sector all`."))
    return code


def _resolve_pathways(q: Query, r: Resolved, tables: Tables, reuse: Resolved | None) -> Resolved:
    from gapkit.analysis.clusters import cluster_links, resolve_cluster
    from gapkit.config.rules import load_rules

    rules = reuse.rules if reuse is not None and reuse.query.rules == q.rules and reuse.rules is not None else load_rules(q.rules)
    top = _top(q.top)
    cluster = None
    if q.question == "pathways":
        sort = _choice(q.sort or "tier", PATHWAY_SORT, "--sort")
        if q.cluster:
            cluster = resolve_cluster(q.cluster, cluster_links(tables, "soc"))
        return replace(r, rules=rules, cluster=cluster, sort=sort, top=top, chart=q.chart, limit=_top(q.limit, "--limit"))
    if q.view not in PROGRAM_VIEWS:
        raise UsageError(f"--view {q.view!r}: choose one of {', '.join(PROGRAM_VIEWS)}.")
    if r.by == "cluster" and q.view != "programs":
        raise UsageError("--by cluster groups the programs view; drop --view or use --view programs.")
    if q.cip and q.soc:
        raise UsageError("Give --cip or --soc, not both.")
    cip = parse_cip_filter(q.cip, tables) if q.cip else None
    soc = _soc(q.soc, tables, r.ep_cycle, "--soc") if q.soc else None
    if q.cluster:
        cluster = resolve_cluster(q.cluster, cluster_links(tables, "cip"))
    return replace(r, rules=rules, cluster=cluster, cip=cip, soc=soc, top=top, view=q.view, chart=q.chart,
                   limit=_top(q.limit, "--limit"))


def parse_cip_filter(text: str, tables: Tables | None = None) -> tuple[str, bool]:
    """A user's CIP: ``51`` (family), ``51.38`` (series) or ``51.3801`` (program), or with ``tables`` a program's
    exact title -> (code, is_prefix)."""
    import re

    t = text.strip()
    m = re.match(r"^(\d{1,2})(?:\.(\d{2}|\d{4}))?$", t)
    if not m:
        problem = f"--cip {text!r}: give a CIP code such as 51 (family), 51.38 (series) or 51.3801 (program)"
        if tables is None:
            raise UsageError(problem + ".")
        from gapkit.analysis import names

        t = names.resolve("program", t, tables, problem + ", or a program's exact title", names.find_hint("program", t))
        m = re.match(r"^(\d{2})\.(\d{4})$", t)
        assert m is not None, t
    fam = m.group(1).zfill(2)
    if m.group(2) is None:
        return fam + ".", True
    if len(m.group(2)) == 2:
        return f"{fam}.{m.group(2)}", True
    return f"{fam}.{m.group(2)}", False
