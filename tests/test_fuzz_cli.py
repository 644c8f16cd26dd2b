"""A bounded fuzz of the command line and of the files a user hands gapkit (hypothesis).

Options are drawn from the real option names and values of `gap`, `occupation`, `pathways`, `programs`,
`chart`, `report`, `sources` and `sectors`, mixed with hostile strings (huge and negative numbers, NaN,
control characters, rich markup, paths that are pipes, links, folders or too long). User files are the
shipped sector and rules files, an extra-supply CSV, a region file and a refresh.toml, mutated. Every run must end in
exit 0, 1 or 2 with no traceback and never "unexpected error" (exit 70).

Runs in-process through ``gapkit.cli.main`` (the real entry point, same argument parsing and error
handling) against the session's ingested data folder, which no drawn command may change; a few examples
go through a real subprocess. Bounded so that the file runs in about half a minute: ``GAPKIT_FUZZ_EXAMPLES``
(default 20) command lines, half as many user files, 3 charts/reports and 3 subprocesses; no example
database (nothing is written outside tmp folders). A deeper hunt: GAPKIT_FUZZ_EXAMPLES=300.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import faultkit as fk

N = int(os.environ.get("GAPKIT_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=N, deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])

HOSTILE = ["", " ", "-", "--", "--top", "nan", "inf", "-inf", "1e400", "-1", "0", "18446744073709551616",
           "-99999999999999999999", "99999999999999999999999999999", "[/]x", "[link=http://evil.example]x[/link]",
           "\x1b[31mred", "\x1b]8;;http://x\x07", "$\\frac{1}{$", "<script>", "=HYPERLINK(\"x\")", "../../etc/passwd",
           "é", "\u202e", "a" * 300, "%s%n", "{0}", "'; DROP TABLE", "\\", "2024-2020", "20x4", "51.", "..", "*"]
text = st.one_of(st.sampled_from(HOSTILE), st.text(alphabet=st.characters(blacklist_characters="\x00",
                                                                            blacklist_categories=("Cs",)), max_size=12))


def values(*real: str) -> st.SearchStrategy[str]:
    """A real value most of the time, a hostile one otherwise."""
    return st.one_of(st.sampled_from(real), text)


REGION = values("US", "OH", "39", "TX", "WY", "all", "XX", "metro:18140", "metro:columbus", "Columbus", "county:39049,39041",
                "county:39049,,", "county:99999", "wda:TX-28", "wda:OH-1", "metro:", "OH,PA,MI", "metro:40900")
AWARDS = values("all", "subbacc", "bachelor", "graduate", "entry")
ALLOC = values("openings", "employment", "equal", "none")
YEARS = values("2024", "2021-2024", "2022,2024", "2023", "1800", "2024-2020")
FORMAT = values("table", "csv", "json", "markdown", "parquet")
INT = st.one_of(st.integers(-5, 60).map(str), st.sampled_from(["0", "-1", "18446744073709551616", "1e3", "x"]))
FLOAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["0.8", "1", "1.5", "2", "nan", "inf"]))


REGION_FILE = 'name = "central-ohio"\ntitle = "Central Ohio"\ncounties = ["39049", "39041", "39045"]\n'


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Places a drawn option can point at: good files, bad files, a pipe, a link, a folder, a missing path."""
    d = tmp_path_factory.mktemp("fuzz-files")
    (d / "supply.csv").write_text("soc,region,annual_completers,source\n53-3032,US,120,CDL schools\n")
    (d / "bad-supply.csv").write_text("soc,region,annual_completers,source\n53-3032,US,inf,x\n")
    shipped = Path(__import__("gapkit").__file__).parent / "config" / "shipped"
    (d / "sector.toml").write_text((shipped / "sectors" / "transportation.toml").read_text().replace(
        'name = "transportation"', 'name = "my-sector"'))
    (d / "rules.toml").write_text("[wage]\nfactor = 1.25\n")
    (d / "region.toml").write_text(REGION_FILE)
    (d / "victim.txt").write_text("precious\n")
    (d / "link.csv").symlink_to(d / "victim.txt")
    os.mkfifo(d / "fifo")
    (d / "folder").mkdir()
    return {k: str(d / k) for k in ("supply.csv", "bad-supply.csv", "sector.toml", "rules.toml", "region.toml", "link.csv",
                                       "fifo", "folder")} | {
        "missing": str(d / "missing.csv"), "long": str(d / ("n" * 300)), "dir": str(d)}


def file_opt(paths: dict[str, str], *good: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([paths[g] for g in good]), st.sampled_from([paths[k] for k in
                                                                                 ("link.csv", "fifo", "folder", "missing", "long")]))


def out_opt(paths: dict[str, str], *exts: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([f"{paths['dir']}/out/x{e}" for e in exts]),
                     st.sampled_from([paths[k] for k in ("link.csv", "fifo", "folder", "long", "missing")]))


def options(draw: Any, spec: dict[str, st.SearchStrategy[str] | None]) -> list[str]:
    """Some of the command's options (a None strategy is a flag), in a drawn order."""
    names = draw(st.lists(st.sampled_from(sorted(spec)), max_size=5, unique=True))
    argv: list[str] = []
    for n in names:
        strategy = spec[n]
        argv += [n] if strategy is None else [n, draw(strategy)]
    return argv


@st.composite
def command(draw: Any, paths: dict[str, str], slow: bool = False) -> list[str]:
    """One command line of a real command with real and hostile option values."""
    sector = values("transportation", "healthcare", "all", "all-industries", "energy")
    common = {"--region": REGION, "--awards": AWARDS, "--alloc": ALLOC, "--completions-years": YEARS,
              "--demand": values("entrants", "openings", "growth"), "--supply-area": values("region", "state"),
              "--region-file": file_opt(paths, "region.toml")}
    if slow:
        which = draw(st.sampled_from(["chart", "report"]))
    else:
        which = draw(st.sampled_from(["gap", "gap", "occupation", "pathways", "programs", "sources", "sectors"]))
    if which == "gap":
        spec = {**common, "--sector": sector,
                "--by": values("sector", "subsector", "group", "occupation", "state", "metro", "county", "wda"),
                "--etpl-completers": FLOAT,
                "--scope": values("sector", "occupation"), "--vintage": values("2024-34", "2022-32"), "--retention": FLOAT,
                "--top": INT, "--sort": values("openings", "supply", "ratio", "gap"), "--sensitivity": None, "--format": FORMAT,
                "--out": out_opt(paths, ".csv", ".json", ".md", ".parquet"), "--extra-supply": file_opt(paths, "supply.csv", "bad-supply.csv"),
                "--sector-file": file_opt(paths, "sector.toml")}
        return ["gap", *options(draw, spec)]
    if which == "occupation":
        soc = draw(values("53-3032", "29-1141", "11-1011", "99-XXXX", "53-3032.00"))
        spec = {**common, "--format": values("table", "json", "markdown"), "--out": out_opt(paths, ".md", ".json")}
        return ["occupation", soc, *options(draw, spec)]
    if which == "pathways":
        spec = {**common, "--sector": sector, "--cluster": text, "--by": values("occupation", "cluster"),
                "--rules": file_opt(paths, "rules.toml"), "--vintage": values("2024-34"), "--top": INT, "--format": FORMAT,
                "--sort": values("tier", "openings", "growth", "wage", "ratio", "gap"), "--out": out_opt(paths, ".csv", ".md")}
        return ["pathways", *options(draw, spec)]
    if which == "programs":
        spec = {**common, "--cip": values("51", "51.38", "51.3801", "49.0205"), "--soc": values("29-1141", "53-3032"),
                "--cluster": text, "--by": values("program", "cluster"), "--view": values("programs", "awards", "institutions"),
                "--sector": sector, "--rules": file_opt(paths, "rules.toml"), "--top": INT, "--format": FORMAT,
                "--out": out_opt(paths, ".csv", ".json")}
        return ["programs", *options(draw, spec)]
    if which == "sources":
        return ["sources", *options(draw, {"--format": values("table", "json")})]
    if which == "sectors":
        if draw(st.booleans()):
            return ["sectors"]
        return ["sectors", "show", draw(st.one_of(sector, file_opt(paths, "sector.toml")))]
    if which == "chart":
        kind = draw(values("bars", "states", "scatter", "sensitivity", "trend", "pathways", "programs"))
        spec = {**common, "--sector": sector, "--by": values("group", "subsector", "occupation"), "--limit": INT,
                "--extra-supply": file_opt(paths, "supply.csv", "bad-supply.csv"), "--retention": FLOAT}
        return ["chart", kind, "--out", draw(out_opt(paths, ".png", ".svg", ".pdf", ".txt")), *options(draw, spec)]
    spec = {**common, "--sector": sector, "--retention": FLOAT, "--sector-file": file_opt(paths, "sector.toml")}
    return ["report", "--out", draw(st.sampled_from([f"{paths['dir']}/out/brief", paths["fifo"], paths["link.csv"], paths["long"]])),
            *options(draw, spec)]


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """``gapkit ARGV`` through the real entry point, in this process; (exit code, stdout, stderr)."""
    from gapkit.cli import main

    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    code: int = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # type: ignore[type-var]
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out.flush()
    return code, out.buffer.getvalue().decode("utf-8", "replace"), err.getvalue()  # type: ignore[attr-defined]


def check(argv: list[str], code: int, stdout: str, stderr: str) -> None:
    shown = " ".join(repr(a) if len(a) < 80 else repr(a[:40] + "…") for a in argv)
    assert code in (0, 1, 2), f"gapkit {shown} exited {code}:\n{stderr[-2000:]}"
    assert "Traceback" not in stderr and "unexpected error" not in stderr, f"gapkit {shown}:\n{stderr[-2000:]}"


@pytest.fixture(scope="module")
def env(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The drawn commands read the session's data folder (no result cache: nothing written there)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GAPKIT_NO_CACHE", "1")
    mp.setenv("GAPKIT_CACHE_DIR", str(tmp_path_factory.mktemp("fuzz-cache")))
    mp.setenv("COLUMNS", "120")
    yield ingested
    mp.undo()


def _with_data(argv: list[str], data: Path) -> list[str]:
    return argv if argv[0] == "sectors" else [*argv, "--data-dir", str(data)]


def test_fuzz_command_line_options(env: Path, paths: dict[str, str]) -> None:
    before = fk.tree_state(env)
    Path(paths["dir"], "out").mkdir(exist_ok=True)

    @FUZZ
    @given(command(paths))
    def one(argv: list[str]) -> None:
        full = _with_data(argv, env)
        check(full, *run_main(full))

    one()
    assert fk.tree_state(env) == before, "a drawn command changed the data folder"
    assert Path(paths["link.csv"]).is_symlink() and Path(paths["dir"], "victim.txt").read_text() == "precious\n"


def test_fuzz_charts_and_reports(env: Path, paths: dict[str, str]) -> None:
    before = fk.tree_state(env)
    Path(paths["dir"], "out").mkdir(exist_ok=True)

    @settings(FUZZ, max_examples=max(3, N // 7))
    @given(command(paths, slow=True))
    def one(argv: list[str]) -> None:
        full = _with_data(argv, env)
        check(full, *run_main(full))

    one()
    assert fk.tree_state(env) == before
    assert Path(paths["dir"], "victim.txt").read_text() == "precious\n"


# -- user files -------------------------------------------------------------------------------------------------
SHIPPED = Path(__import__("gapkit").__file__).parent / "config" / "shipped"
TOML_VALUES = ["1", "-1", "1e400", "nan", "inf", "true", '""', '"x"', "[]", "{}", '["*"]', '"[/]x"', '"\\u001b[2J"',
               '"<script>"', '"$\\\\frac{$"', "[" * 80 + "]" * 80, "18446744073709551616", '"' + "x" * 5000 + '"', '{a = 1}']


@st.composite
def mutated_toml(draw: Any, original: str) -> str:
    """The shipped file with a few lines changed: a value replaced by a hostile one, a line dropped or repeated, a
    table header renamed, or random bytes."""
    lines = original.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["value", "drop", "repeat", "header", "garbage"]))
        if how == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=", 1)[0] + "= " + draw(st.sampled_from(TOML_VALUES))
        elif how == "drop":
            del lines[i]
        elif how == "repeat":
            lines.insert(i, lines[i])
        elif how == "header":
            lines.insert(i, draw(st.sampled_from(["[[groups]]", "[[subsectors]]", "[wage]", "[[tiers]]", "[x]", "[[x]]"])))
        else:
            lines.insert(i, draw(st.text(max_size=30)))
    return "\n".join(lines) + "\n"


CSV_CELLS = ["53-3032", "29-1141", "US", "OH", "39", "XX", "", "5", "-5", "1e308", "inf", "nan", "1,200", "=cmd", "@x",
             "\x1b[2J", "[/]x", "x" * 2000, '"', "é", "\t"]


@st.composite
def supply_csv(draw: Any) -> bytes:
    header = draw(st.sampled_from(["soc,region,annual_completers,source", "SOC,Region,Annual_Completers,Source,notes",
                                   "soc,region,source", "\ufeffsoc,region,annual_completers,source", ""]))
    rows = draw(st.lists(st.lists(st.sampled_from(CSV_CELLS), min_size=2, max_size=6), max_size=5))
    text = header + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"])), errors="replace")


def test_fuzz_user_files(env: Path, tmp_path: Path) -> None:
    sector_text = (SHIPPED / "sectors" / "transportation.toml").read_text()
    rules_text = (SHIPPED / "pathways.toml").read_text()
    before = fk.tree_state(env)

    @settings(FUZZ, max_examples=max(6, N // 2))
    @given(st.sampled_from(["sector", "sectors-show", "rules", "supply", "region"]), st.data())
    def one(kind: str, data: st.DataObject) -> None:
        if kind == "region":
            f = tmp_path / "region.toml"
            f.write_text(data.draw(mutated_toml(REGION_FILE)), encoding="utf-8", errors="surrogatepass")
            argv = ["gap", "--sector", "transportation", "--region-file", str(f)]
        elif kind == "supply":
            f = tmp_path / "supply.csv"
            f.write_bytes(data.draw(supply_csv()))
            argv = ["gap", "--by", "sector", "--extra-supply", str(f)]
        elif kind == "rules":
            f = tmp_path / "rules.toml"
            f.write_text(data.draw(mutated_toml(rules_text)), encoding="utf-8", errors="surrogatepass")
            argv = ["pathways", "--top", "3", "--rules", str(f)]
        else:
            f = tmp_path / "sector.toml"
            f.write_text(data.draw(mutated_toml(sector_text)), encoding="utf-8", errors="surrogatepass")
            argv = ["gap", "--by", "subsector", "--sector-file", str(f)] if kind == "sector" else ["sectors", "show", str(f)]
        full = _with_data(argv, env)
        check(full, *run_main(full))

    one()
    assert fk.tree_state(env) == before


def test_fuzz_refresh_config(env: Path, tmp_path: Path) -> None:
    """refresh.toml, parsed and checked (``load_config`` and the options each report turns into): every problem
    is one ConfigError/UsageError naming the file, never a crash."""
    from gapkit.analysis.query import Query, parse_years
    from gapkit.cli.refresh import load_config
    from gapkit.errors import GapkitError

    base = 'out = "reports"\n[[report]]\nname = "oh"\nsector = "transportation"\nregion = "OH"\ncompletions_years = "2022-2024"\n'

    @FUZZ
    @given(mutated_toml(base + 'retention = 0.9\nawards = "entry"\n'))
    def one(text: str) -> None:
        f = tmp_path / "refresh.toml"
        f.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            config = load_config(f)
            for spec in config.reports:
                q = Query(question="brief", **spec.options)
                parse_years(q.completions_years, "completions_years")
        except GapkitError as exc:
            assert str(f) in exc.message or "report" in exc.message or "completions_years" in exc.message, exc.message

    one()


def test_fuzz_through_the_real_binary(env: Path, paths: dict[str, str]) -> None:
    """A few drawn command lines through a real process (its own argument bytes, stdio and signal handling)."""
    Path(paths["dir"], "out").mkdir(exist_ok=True)

    @settings(FUZZ, max_examples=3)
    @given(command(paths))
    def one(argv: list[str]) -> None:
        proc = fk.run_cli(*_with_data(argv, env), env={"GAPKIT_NO_CACHE": "1", "GAPKIT_CACHE_DIR": paths["dir"] + "/vc"},
                          timeout=120)
        check(argv, proc.returncode, proc.stdout, proc.stderr)

    one()


if sys.platform == "win32":  # pragma: no cover - named pipes and links above are POSIX
    pytestmark = pytest.mark.skip("POSIX only")
