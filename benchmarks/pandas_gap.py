"""A plain pandas implementation of `gapkit gap --sector transportation --by subsector` (national, default
options: demand entrants, alloc education, awards all, scope sector, newest IPEDS year), written from
docs/METHOD.md. Kept deliberately straightforward: it is the baseline the benchmark times gapkit against,
and an independent check of gapkit's numbers. It imports nothing from gapkit.

Columns: subsector, openings (total annual openings), entrants (growth + labor-force exits), supply
(education-aware allocation of completions), ratio = entrants / supply (none below the supply floor),
gap = entrants - supply.

Usage: python benchmarks/pandas_gap.py DATA_DIR [--json]
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src/gapkit/config/shipped"


def cycle_key(stem: str) -> tuple[int, str]:
    digits = "".join(ch for ch in stem[:4] if ch.isdigit())
    return (int(digits) if digits else -1, stem)


def newest(folder: Path) -> Path:
    return sorted(folder.glob("*.parquet"), key=lambda p: cycle_key(p.stem))[-1]


def years_of(cycle: str) -> int:
    start, end = cycle.split("-")
    return int(start[:2] + end) - int(start) if len(end) == 2 else int(end) - int(start)


def national(path: Path) -> pd.DataFrame:
    """Detailed occupations of one BLS projections cycle, persons per year."""
    ep = pd.read_parquet(path)
    ep = ep[ep["occ_type"] == "Line item"].copy()
    mean_k = (ep["emp_base_k"] + ep["emp_proj_k"]) / 2
    ep["openings"] = ep["openings_k"] * 1000
    ep["entrants"] = (ep["openings_k"] - ep["transfers_k"].fillna(0)).clip(lower=0) * 1000
    ep["sep_rate"] = ep["separations_k"] / mean_k
    ep["exit_rate"] = ep["exits_k"].fillna(0) / mean_k
    return ep.set_index("soc_code")


def transportation_by_subsector(data_dir: Path) -> pd.DataFrame:
    proc = data_dir / "processed"
    sector = tomllib.loads((SHIPPED / "sectors/transportation.toml").read_text())
    settings = tomllib.loads((SHIPPED / "method.toml").read_text())
    method = settings["supply"]
    presets = tomllib.loads((SHIPPED / "awards.toml").read_text())["presets"]

    # ---- demand ---------------------------------------------------------------------------------
    ep_path = newest(proc / "ep_occupations")
    ep = national(ep_path)
    m_path = newest(proc / "nem_matrix")
    m_cycle = m_path.stem
    m_ep_path = proc / "ep_occupations" / f"{m_cycle}.parquet"
    ep_m = national(m_ep_path) if m_ep_path.exists() else ep  # rates and the share's denominator
    m = pd.read_parquet(m_path)
    m = m[(m["industry_type"] == "Line item") & (m["occupation_type"] == "Line item")]
    m = m.drop_duplicates(["industry_code", "occupation_code"])
    change = (m["emp_proj_k"] - m["emp_base_k"]) / years_of(m_cycle)
    mean = (m["emp_base_k"] + m["emp_proj_k"]) / 2
    occ = m["occupation_code"]
    m = m.assign(
        openings=((change + occ.map(ep_m["sep_rate"]).fillna(0) * mean).clip(lower=0) * 1000),
        entrants=((change + occ.map(ep_m["exit_rate"]).fillna(0) * mean).clip(lower=0) * 1000),
    )
    parts = []
    for sub in sector["subsectors"]:
        rows = m[m["industry_code"].isin(sub["nem_industries"])]
        if sub.get("occupations"):  # a broad industry restricted to the listed occupations
            rows = rows[rows["occupation_code"].isin(sub["occupations"])]
        part = rows.groupby("occupation_code")[["openings", "entrants"]].sum()
        part["subsector"] = sub["key"]
        parts.append(part)
    sub = pd.concat(parts).rename_axis("soc_code").reset_index()
    sub = sub[sub["soc_code"].isin(ep.index)]
    for col in ("openings", "entrants"):
        if m_cycle != ep_path.stem:  # the matrix gives the sector's share of the published national figure
            share = sub[col] / sub["soc_code"].map(ep_m[col] if m_ep_path.exists() else m.groupby("occupation_code")[col].sum())
            sub[col] = (share * sub["soc_code"].map(ep[col])).replace([float("inf"), -float("inf")], float("nan")).fillna(0.0)
        # a sector never needs more of an occupation than the whole economy
        total = sub.groupby("soc_code")[col].transform("sum")
        cap = sub["soc_code"].map(ep[col])
        sub[col] = sub[col].where(total <= cap, sub[col] * cap / total).fillna(0.0)
    sub = sub[sub["openings"] > 0].copy()
    nat_open = sub["soc_code"].map(ep["openings"])
    share = (sub["openings"] / nat_open).groupby(sub["soc_code"]).transform("sum").clip(upper=1.0)
    sub["supply_share"] = sub["openings"] / sub.groupby("soc_code")["openings"].transform("sum") * share

    # ---- supply: education-aware allocation -------------------------------------------------------
    comp = pd.read_parquet(newest(proc / "ipeds_completions"))
    comp = comp[(comp["cip_level"] == 6) & comp["awlevel"].isin(presets["all"]["levels"])]
    prog = comp.groupby(["cipcode", "awlevel"], as_index=False)["completions"].sum()
    soc_map = pd.read_parquet(newest(proc / "soc_nem"))
    soc_map = soc_map[soc_map["soc_code"] != soc_map["nem_code"]].drop_duplicates("soc_code").set_index("soc_code")["nem_code"]
    xw = pd.read_parquet(newest(proc / "cip_soc"))[["cipcode", "soc_code"]]
    xw["soc_code"] = xw["soc_code"].map(soc_map).fillna(xw["soc_code"])
    xw = xw.drop_duplicates()
    xw = xw[xw["soc_code"].isin(ep.index)]

    att = pd.read_parquet(newest(proc / "ep_attainment"))
    level_of = pd.DataFrame({"awlevel": [int(k) for k in method["attainment_of_level"]],
                             "level": list(method["attainment_of_level"].values())})
    routes = att[["soc_code", "level", "share"]].merge(level_of, on="level")
    routes = routes[routes["soc_code"].isin(ep.index)]
    entry = routes["soc_code"].map(ep["education"]).map(method["entry_rank"])
    rank = routes["level"].map(method["attainment_rank"])
    ok = ((routes["share"] >= method["entry_route_min_share"])
          & (rank >= entry - method["entry_route_steps_below"])
          & ~routes["soc_code"].map(ep["work_experience"]).isin(method["entry_route_excluded_experience"]))
    routes = routes[ok]
    links = xw.merge(routes[["soc_code", "awlevel", "share"]], on="soc_code")
    links["w"] = links["soc_code"].map(ep["openings"]) * links["share"]
    links["w"] = links["w"] / links.groupby(["cipcode", "awlevel"])["w"].transform("sum")
    alloc = prog.merge(links, on=["cipcode", "awlevel"])
    supply = (alloc["completions"] * alloc["w"]).groupby(alloc["soc_code"]).sum()

    sub["supply"] = sub["soc_code"].map(supply).fillna(0.0) * sub["supply_share"]
    out = sub.groupby("subsector", as_index=False)[["openings", "entrants", "supply"]].sum()
    # no ratio from fewer completers than the floor (METHOD.md section 3)
    out["ratio"] = (out["entrants"] / out["supply"]).where(out["supply"] >= settings["ratio"]["supply_floor"])
    out["gap"] = out["entrants"] - out["supply"]
    return out.sort_values(["entrants", "subsector"], ascending=[False, True]).reset_index(drop=True)


if __name__ == "__main__":
    df = transportation_by_subsector(Path(sys.argv[1]))
    print(json.dumps(df.to_dict(orient="records"), indent=1) if "--json" in sys.argv else df.to_string(index=False))
