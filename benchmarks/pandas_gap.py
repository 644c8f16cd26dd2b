"""A plain pandas implementation of `gapkit gap --sector transportation --by subsector` (national,
awards=all, alloc=openings, scope=sector, newest IPEDS year). Kept deliberately straightforward: it
is the baseline the benchmark times gapkit against, and an independent check of gapkit's numbers.

Usage: python benchmarks/pandas_gap.py DATA_DIR
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def newest(folder: Path) -> Path:
    files = sorted(folder.glob("*.parquet"), key=lambda p: p.stem)
    return files[-1]


def transportation_by_subsector(data_dir: Path) -> pd.DataFrame:
    proc = data_dir / "processed"
    sector = tomllib.loads((REPO / "src/gapkit/config/shipped/sectors/transportation.toml").read_text())
    ep_path = newest(proc / "ep_occupations")
    ep = pd.read_parquet(ep_path)
    ep = ep[ep["occ_type"] == "Line item"].copy()
    ep["openings"] = ep["openings_k"] * 1000
    ep["sep_rate"] = ep["separations_k"] / ((ep["emp_base_k"] + ep["emp_proj_k"]) / 2)

    m_path = newest(proc / "nem_matrix")
    m_cycle = m_path.stem
    sep_src = proc / "ep_occupations" / f"{m_cycle}.parquet"
    sep = pd.read_parquet(sep_src) if sep_src.exists() else ep
    sep = sep[sep["occ_type"] == "Line item"].copy()
    sep["sep_rate"] = sep["separations_k"] / ((sep["emp_base_k"] + sep["emp_proj_k"]) / 2)
    m = pd.read_parquet(m_path)
    m = m[(m["industry_type"] == "Line item") & (m["occupation_type"] == "Line item")]
    m = m.drop_duplicates(["industry_code", "occupation_code"])
    m = m.merge(sep[["soc_code", "sep_rate"]], left_on="occupation_code", right_on="soc_code", how="left")
    start, end = m_cycle.split("-")
    years = int(start[:2] + end) - int(start) if len(end) == 2 else int(end) - int(start)
    m["d"] = (((m["emp_proj_k"] - m["emp_base_k"]) / years + m["sep_rate"].fillna(0) * (m["emp_base_k"] + m["emp_proj_k"]) / 2)
              .clip(lower=0) * 1000)
    # sector share denominator: the published national openings of the matrix cycle
    all_m = (sep.set_index("soc_code")["openings_k"] * 1000) if sep_src.exists() else m.groupby("occupation_code")["d"].sum()
    rows = []
    for sub in sector["subsectors"]:
        part = m[m["industry_code"].isin(sub["nem_industries"])].groupby("occupation_code")["d"].sum()
        for occ, v in part.items():
            rows.append((sub["key"], occ, v))
    sub = pd.DataFrame(rows, columns=["subsector", "soc_code", "sub_m"])
    sub = sub.merge(ep[["soc_code", "openings"]], on="soc_code")
    same = ep_path.stem == m_cycle
    sub["openings_s"] = sub["sub_m"] if same else (sub["sub_m"] / sub["soc_code"].map(all_m) * sub["openings"]).fillna(0)
    # a sector never needs more of an occupation than the whole economy (rounding of small figures)
    tot = sub.groupby("soc_code")["openings_s"].transform("sum")
    sub["openings_s"] = sub["openings_s"].where(tot <= sub["openings"], sub["openings_s"] * sub["openings"] / tot)
    sub = sub[sub["openings_s"] > 0]

    c_path = newest(proc / "ipeds_completions")
    comp = pd.read_parquet(c_path)
    comp = comp[comp["cip_level"] == 6]
    prog = comp.groupby(["cipcode", "awlevel"], as_index=False)["completions"].sum()
    xw = pd.read_parquet(newest(proc / "cip_soc"))[["cipcode", "soc_code"]].drop_duplicates()
    xw = xw.merge(ep[["soc_code", "openings"]], on="soc_code")
    xw["w"] = xw["openings"] / xw.groupby("cipcode")["openings"].transform("sum")
    alloc = prog.merge(xw, on="cipcode")
    alloc["s"] = alloc["completions"] * alloc["w"].fillna(0)
    supply = alloc.groupby("soc_code")["s"].sum()

    sub["supply"] = sub["soc_code"].map(supply).fillna(0) * sub["openings_s"] / sub["openings"]
    out = sub.groupby("subsector", as_index=False)[["openings_s", "supply"]].sum().rename(columns={"openings_s": "openings"})
    out["ratio"] = out["openings"] / out["supply"]
    out["gap"] = out["openings"] - out["supply"]
    return out.sort_values("openings", ascending=False)


if __name__ == "__main__":
    df = transportation_by_subsector(Path(sys.argv[1]))
    print(json.dumps(df.to_dict(orient="records"), indent=1) if "--json" in sys.argv else df.to_string(index=False))
