"""Bad input everywhere, and the security rules: every bad option value, path or user file is one
clear paragraph naming the option (exit 2 for usage errors), never a traceback, and leaves the data
folder untouched; downloaded content is never evaluated, TLS is verified unless loudly disabled.
"""

from __future__ import annotations

import io
import json
import os
import re
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from tests import faultkit as fk
from tests.httpserver import base_url, serve


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory, ingested: Path) -> Path:
    return fk.good_store(tmp_path_factory, ingested)


@pytest.fixture
def data(good: Path, tmp_path: Path) -> Path:
    return fk.copy_store(good, tmp_path)


def user_files(d: Path) -> dict[str, Path]:
    """Hand-written user inputs (sector TOML, extra-supply CSV) that are wrong in one way each."""
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "supply-negative.csv": b"soc,region,annual_completers,source\n53-3032,US,-5,apprenticeships\n",
        "supply-no-count.csv": b"soc,region,source\n53-3032,US,apprenticeships\n",
        "supply-cp1252.csv": b"soc,region,annual_completers,source\n53-3032,US,5,Programa de formaci\xf3n\n",
        "supply-bad-soc.csv": b"soc,region,annual_completers,source\n53-3032x,US,5,x\n",
        "supply-bad-region.csv": b"soc,region,annual_completers,source\n53-3032,XX,5,x\n",
        "sector-python.toml": b'import os\nos.system("touch PWNED")\n',
        "sector-extra-key.toml": b'name = "x"\ntitle = "X"\n__class__ = "os.system(\'touch PWNED\')"\n'
                                 b'[[groups]]\nkey = "a"\ntitle = "A"\nsoc = ["*"]\n',
        "sector-bad-industry.toml": b'name = "x"\ntitle = "X"\n[[subsectors]]\nkey = "s"\ntitle = "S"\nnem_industries = ["48A"]\n'
                                    b'[[groups]]\nkey = "a"\ntitle = "A"\nsoc = ["*"]\n',
        "sector-latin1.toml": 'name = "x"\ntitle = "Caf\u00e9"\n'.encode("latin-1"),
        # numbers that are not numbers of people
        "supply-inf.csv": b"soc,region,annual_completers,source\n53-3032,US,inf,apprenticeships\n",
        "supply-nan.csv": b"soc,region,annual_completers,source\n53-3032,US,NaN,apprenticeships\n",
        "supply-minus-inf.csv": b"soc,region,annual_completers,source\n53-3032,US,-Infinity,apprenticeships\n",
        "supply-overflow.csv": b"soc,region,annual_completers,source\n53-3032,US,1e308,a\n53-3032,US,1e308,b\n",
        # a 200 KB cell, and a row with more cells than the header
        "supply-huge-field.csv": b"soc,region,annual_completers,source\n53-3032,US,5," + b"x" * 200_000 + b"\n",
        "supply-surplus.csv": b"soc,region,annual_completers,source\n53-3032,US,5,CDL school,extra,cells\n",
        # TOML nested 100,000 deep (Python's parser would exhaust its recursion)
        "sector-deep.toml": b'name = "x"\ntitle = "X"\nkey_occupations = ' + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "rules-deep.toml": b"[wage]\nfactor = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "victim.csv": b"precious\n",
    }
    for name, body in files.items():
        (d / name).write_bytes(body)
    # what an attacker (or an accident) leaves where gapkit reads or writes: pipes, links, a link loop
    for name in ("supply-fifo.csv", "sector-fifo.toml", "rules-fifo.toml", "out-fifo.csv", "out-fifo.svg"):
        os.mkfifo(d / name)
    for name in ("out-link.csv", "out-link.parquet", "out-link.png", "out-link.md"):
        (d / name).symlink_to(d / "victim.csv")
    (d / "victim-dir").mkdir()
    (d / "victim-dir" / "keep.txt").write_text("precious\n")
    (d / "report-link").symlink_to(d / "victim-dir")
    (d / "report-dir").mkdir()
    (d / "report-dir" / "brief.md").symlink_to(d / "victim.csv")
    (d / "loop").symlink_to(d / "loop")
    (d / "empty").mkdir()
    return {name: d / name for name in files}


def device(d: Path) -> str:
    """A character device to give as --out: a private /dev/null twin when root may create one (so a regression
    could only replace that twin), else /dev/null itself (which a non-root process cannot replace)."""
    if os.geteuid() == 0:
        dev = d / "null-device"
        if not dev.exists():
            os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return str(dev)
    return "/dev/null"


LONG_NAME = "a" * 300
LONG_PATH = "/".join(["d" * 200] * 25) + "/x"


# (id, arguments, message fragments). {data} is the data folder, {u} the folder of user files.
BAD: list[tuple[str, list[str], list[str]]] = [
    # ingest
    ("ingest-unknown-source", ["ingest", "bls-xyz"], ["Unknown source 'bls-xyz'", "bls-ep"]),
    ("ingest-years-too-old", ["ingest", "ipeds", "--years", "1800", "--offline"], ["--years", "1990"]),
    ("ingest-years-not-a-year", ["ingest", "ipeds", "--years", "20x4", "--offline"], ["--years '20x4'"]),
    ("ingest-years-backwards", ["ingest", "ipeds", "--years", "2024-2020", "--offline"], ["--years '2024-2020'"]),
    ("ingest-unknown-state", ["ingest", "projections", "--states", "XX", "--offline"], ["--states", "XX"]),
    ("ingest-wait-not-a-number", ["ingest", "--wait", "soon"], ["--wait", "valid"]),
    ("ingest-mirror-missing-folder", ["ingest", "--mirror", "/no/such/mirror"], ["--mirror /no/such/mirror", "no such folder"]),
    ("ingest-offline-with-http-mirror", ["ingest", "--offline", "--mirror", "http://127.0.0.1:9/"], ["--offline cannot be combined"]),
    ("ingest-from-missing", ["ingest", "--from", "/no/such/downloads"], ["--from /no/such/downloads", "no such file or folder"]),
    ("ingest-offline-without-files", ["ingest", "bls-ep", "--offline"], ["--offline is set", "--from PATH"]),
    # gap: option values
    ("gap-unknown-sector", ["gap", "--sector", "shipbuilding"], ["Unknown sector 'shipbuilding'", "transportation"]),
    ("gap-unknown-alloc", ["gap", "--alloc", "magic"], ["--alloc 'magic'", "openings"]),
    ("gap-unknown-awards", ["gap", "--awards", "phd-only"], ["--awards 'phd-only'"]),
    ("gap-unknown-grain", ["gap", "--by", "zipcode"], ["--by 'zipcode'"]),
    ("gap-unknown-region", ["gap", "--region", "XX"], ["--region", "'XX'"]),
    ("gap-unknown-scope", ["gap", "--scope", "galaxy"], ["--scope 'galaxy'"]),
    ("gap-unknown-sort", ["gap", "--sort", "vibes"], ["--sort 'vibes'"]),
    ("gap-unknown-format", ["gap", "--format", "xlsx"], ["--format", "xlsx"]),
    ("gap-negative-top", ["gap", "--top", "-3"], ["--top -3"]),
    ("gap-retention-out-of-range", ["gap", "--retention", "-1"], ["--retention"]),
    ("gap-years-not-a-year", ["gap", "--completions-years", "last"], ["--completions-years 'last'"]),
    ("gap-vintage-not-ingested", ["gap", "--vintage", "1999-09"], ["--vintage 1999-09", "2024-34"]),
    ("occupation-not-a-soc-code", ["occupation", "99-XXXX"], ["'99-XXXX' is not a SOC code"]),
    ("sectors-show-unknown", ["sectors", "show", "shipbuilding"], ["Unknown sector 'shipbuilding'"]),
    # gap: --out
    ("out-is-a-folder", ["gap", "--format", "csv", "--out", "{u}"], ["is a folder"]),
    ("out-folder-missing", ["gap", "--format", "csv", "--out", "/nonexistent-folder/gap.csv"], ["does not exist"]),
    ("out-unwritable", ["gap", "--format", "csv", "--out", "/proc/gapkit-test.csv"], ["--out /proc/gapkit-test.csv"]),
    ("out-over-a-stored-table", ["gap", "--format", "parquet", "--out", "{data}/processed/ep_occupations/2024-34.parquet"],
     ["inside gapkit's data folder", "corrupt"]),
    ("out-over-the-manifest", ["gap", "--format", "json", "--out", "{data}/manifest.json"], ["inside gapkit's data folder"]),
    ("out-into-raw-folder", ["gap", "--format", "csv", "--out", "{data}/raw/gap.csv"], ["inside gapkit's data folder"]),
    ("parquet-without-out", ["gap", "--format", "parquet"], ["--format parquet", "--out"]),
    # user files: validated, never executed
    ("supply-negative", ["gap", "--extra-supply", "{u}/supply-negative.csv"], ["supply-negative.csv, row 2", "'-5'"]),
    ("supply-missing-column", ["gap", "--extra-supply", "{u}/supply-no-count.csv"], ["supply-no-count.csv", "annual_completers"]),
    ("supply-not-utf8", ["gap", "--extra-supply", "{u}/supply-cp1252.csv"], ["supply-cp1252.csv", "not UTF-8"]),
    ("supply-bad-soc", ["gap", "--extra-supply", "{u}/supply-bad-soc.csv"], ["supply-bad-soc.csv, row 2", "not a SOC code"]),
    ("supply-bad-region", ["gap", "--extra-supply", "{u}/supply-bad-region.csv"], ["supply-bad-region.csv, row 2", "XX"]),
    ("supply-is-a-folder", ["gap", "--extra-supply", "{u}"], ["--extra-supply"]),
    ("supply-missing", ["gap", "--extra-supply", "{u}/nope.csv"], ["nope.csv", "no such file"]),
    ("sector-file-is-python", ["gap", "--sector-file", "{u}/sector-python.toml"], ["sector-python.toml", "not valid TOML"]),
    ("sector-file-unknown-key", ["gap", "--sector-file", "{u}/sector-extra-key.toml"], ["sector-extra-key.toml", "__class__"]),
    ("sector-file-bad-industry", ["gap", "--sector-file", "{u}/sector-bad-industry.toml"], ["sector-bad-industry.toml", "48A"]),
    ("sector-file-not-utf8", ["gap", "--sector-file", "{u}/sector-latin1.toml"], ["sector-latin1.toml", "UTF-8"]),
    ("sector-file-is-a-folder", ["gap", "--sector-file", "{u}"], ["Sector file", "is a folder"]),
    # -- Hardening II ---------------------------------------------------------------------------------------
    # numbers past 64 bits, and waits that never end
    ("gap-top-past-64-bits", ["gap", "--top", "18446744073709551616"], ["--top 18446744073709551616", "at most"]),
    ("gap-top-hugely-negative", ["gap", "--top", "-18446744073709551616"], ["--top -18446744073709551616"]),
    ("pathways-top-past-64-bits", ["pathways", "--top", "18446744073709551616"], ["--top 18446744073709551616"]),
    ("programs-top-past-64-bits", ["programs", "--top", "99999999999999999999999"], ["--top 99999999999999999999999"]),
    ("chart-limit-past-64-bits", ["chart", "pathways", "--limit", "18446744073709551616", "--out", "{u}/c.png"],
     ["--limit 18446744073709551616"]),
    ("chart-limit-zero", ["chart", "programs", "--limit", "0", "--out", "{u}/c.png"], ["--limit 0"]),
    ("ingest-wait-nan", ["ingest", "--wait", "nan", "--offline", "--from", "{u}/empty"], ["--wait nan", "seconds"]),
    ("ingest-wait-inf", ["ingest", "--wait", "inf", "--offline", "--from", "{u}/empty"], ["--wait inf"]),
    ("ingest-wait-1e400", ["ingest", "--wait", "1e400", "--offline", "--from", "{u}/empty"], ["--wait inf"]),
    ("ingest-wait-negative", ["ingest", "--wait", "-5", "--offline", "--from", "{u}/empty"], ["--wait -5"]),
    ("clusters-load-wait-nan", ["clusters", "load", "{u}/empty", "--wait", "nan"], ["--wait nan"]),
    ("clusters-load-fifo", ["clusters", "load", "{u}/out-fifo.csv"], ["out-fifo.csv", "not a regular file"]),
    ("gap-retention-nan", ["gap", "--retention", "nan"], ["--retention nan"]),
    ("gap-retention-inf", ["gap", "--retention", "inf"], ["--retention inf"]),
    # the data folder: a link loop, a name too long
    ("data-dir-symlink-loop", ["gap", "--data-dir", "{u}/loop"], ["--data-dir", "symbolic link loop"]),
    ("sources-data-dir-symlink-loop", ["sources", "--data-dir", "{u}/loop"], ["--data-dir", "symbolic link loop"]),
    ("ingest-data-dir-symlink-loop", ["ingest", "--offline", "--from", "{u}/empty", "--data-dir", "{u}/loop"],
     ["symbolic link loop"]),
    ("data-dir-name-too-long", ["sources", "--data-dir", "{u}/" + LONG_NAME], ["File name too long"]),
    # --out: a pipe, a device or a link is refused, never replaced
    ("gap-out-fifo", ["gap", "--format", "csv", "--out", "{u}/out-fifo.csv"], ["out-fifo.csv", "named pipe"]),
    ("gap-out-device", ["gap", "--format", "csv", "--out", "{dev}"], ["character device"]),
    ("gap-out-symlink", ["gap", "--format", "csv", "--out", "{u}/out-link.csv"], ["out-link.csv", "symbolic link"]),
    ("gap-parquet-out-symlink", ["gap", "--format", "parquet", "--out", "{u}/out-link.parquet"], ["out-link.parquet", "symbolic link"]),
    ("gap-json-out-device", ["gap", "--format", "json", "--out", "{dev}"], ["character device"]),
    ("pathways-out-symlink", ["pathways", "--top", "3", "--format", "csv", "--out", "{u}/out-link.csv"], ["symbolic link"]),
    ("pathways-chart-symlink", ["pathways", "--top", "3", "--chart", "{u}/out-link.png"], ["out-link.png", "symbolic link"]),
    ("programs-out-fifo", ["programs", "--top", "3", "--out", "{u}/out-fifo.csv"], ["out-fifo.csv", "named pipe"]),
    ("programs-chart-fifo", ["programs", "--top", "3", "--chart", "{u}/out-fifo.svg"], ["out-fifo.svg", "named pipe"]),
    ("occupation-out-symlink", ["occupation", "53-3032", "--format", "markdown", "--out", "{u}/out-link.md"], ["symbolic link"]),
    ("occupation-out-device", ["occupation", "53-3032", "--format", "json", "--out", "{dev}"], ["character device"]),
    ("chart-out-symlink", ["chart", "bars", "--out", "{u}/out-link.png"], ["out-link.png", "symbolic link"]),
    ("chart-out-fifo", ["chart", "bars", "--out", "{u}/out-fifo.svg"], ["out-fifo.svg", "named pipe"]),
    ("report-out-symlink-folder", ["report", "--out", "{u}/report-link"], ["report-link", "symbolic link"]),
    ("report-out-fifo", ["report", "--out", "{u}/out-fifo.csv"], ["out-fifo.csv", "named pipe"]),
    ("report-brief-md-is-a-symlink", ["report", "--out", "{u}/report-dir"], ["brief.md", "symbolic link"]),
    # names and paths past the system's limits (a 250-character name is legal: see the store suite)
    ("gap-out-name-300", ["gap", "--format", "csv", "--out", "{u}/" + LONG_NAME + ".csv"], ["255 bytes"]),
    ("chart-out-name-300", ["chart", "bars", "--out", "{u}/" + LONG_NAME + ".png"], ["255 bytes"]),
    ("report-out-name-300", ["report", "--out", "{u}/" + LONG_NAME], ["255 bytes"]),
    ("pathways-out-name-300", ["pathways", "--format", "json", "--out", "{u}/" + LONG_NAME + ".json"], ["255 bytes"]),
    ("gap-out-path-5000", ["gap", "--format", "csv", "--out", "{u}/" + LONG_PATH + ".csv"], ["paths can be at most"]),
    ("chart-out-path-5000", ["chart", "bars", "--out", "{u}/" + LONG_PATH + ".png"], ["paths can be at most"]),
    ("report-out-path-5000", ["report", "--out", "{u}/" + LONG_PATH], ["paths can be at most"]),
    ("ingest-from-path-5000", ["ingest", "--offline", "--from", "{u}/" + LONG_PATH], ["--from", "File name too long"]),
    ("supply-path-5000", ["gap", "--extra-supply", "{u}/" + LONG_PATH + ".csv"], ["--extra-supply", "File name too long"]),
    # user files that are pipes (reading one blocks forever), nested past any real file, or not finite
    ("supply-fifo", ["gap", "--extra-supply", "{u}/supply-fifo.csv"], ["supply-fifo.csv", "named pipe"]),
    ("sector-file-fifo", ["gap", "--sector-file", "{u}/sector-fifo.toml"], ["sector-fifo.toml", "named pipe"]),
    ("sectors-show-fifo", ["sectors", "show", "{u}/sector-fifo.toml"], ["sector-fifo.toml", "named pipe"]),
    ("rules-fifo", ["pathways", "--rules", "{u}/rules-fifo.toml"], ["rules-fifo.toml", "named pipe"]),
    ("programs-rules-fifo", ["programs", "--rules", "{u}/rules-fifo.toml"], ["rules-fifo.toml", "named pipe"]),
    ("chart-supply-fifo", ["chart", "bars", "--extra-supply", "{u}/supply-fifo.csv", "--out", "{u}/c.png"], ["named pipe"]),
    ("report-sector-fifo", ["report", "--sector-file", "{u}/sector-fifo.toml", "--out", "{u}/r"], ["named pipe"]),
    ("sector-file-100k-deep", ["gap", "--sector-file", "{u}/sector-deep.toml"], ["sector-deep.toml", "nested"]),
    ("sectors-show-100k-deep", ["sectors", "show", "{u}/sector-deep.toml"], ["sector-deep.toml", "nested"]),
    ("rules-100k-deep", ["pathways", "--rules", "{u}/rules-deep.toml"], ["rules-deep.toml", "nested"]),
    ("supply-infinity", ["gap", "--extra-supply", "{u}/supply-inf.csv"], ["supply-inf.csv, row 2", "'inf'"]),
    ("supply-nan", ["gap", "--extra-supply", "{u}/supply-nan.csv"], ["supply-nan.csv, row 2", "'NaN'"]),
    ("supply-minus-infinity", ["gap", "--extra-supply", "{u}/supply-minus-inf.csv"], ["supply-minus-inf.csv, row 2"]),
    ("supply-two-1e308", ["gap", "--extra-supply", "{u}/supply-overflow.csv"], ["supply-overflow.csv, row 2", "10,000,000"]),
    ("supply-200kb-field", ["gap", "--extra-supply", "{u}/supply-huge-field.csv"], ["supply-huge-field.csv, row 2", "longer than"]),
    ("supply-surplus-cells", ["gap", "--extra-supply", "{u}/supply-surplus.csv"], ["supply-surplus.csv, row 2", "more cell"]),
    ("chart-supply-infinity", ["chart", "bars", "--extra-supply", "{u}/supply-inf.csv", "--out", "{u}/c.png"], ["'inf'"]),
    ("report-supply-nan", ["report", "--extra-supply", "{u}/supply-nan.csv", "--out", "{u}/r"], ["'NaN'"]),
]


@pytest.mark.parametrize(("case", "args", "needles"), BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_one_clear_paragraph(data: Path, tmp_path: Path, case: str, args: list[str], needles: list[str]) -> None:
    u = tmp_path / "user"
    user_files(u)
    argv = [a.replace("{data}", str(data)).replace("{u}", str(u)).replace("{dev}", device(u)) for a in args]
    before, outside = fk.snapshot(data), fk.tree_state(u)
    # a case naming its own --data-dir gets no other (the last --data-dir would win)
    own_dir = "--data-dir" in argv
    env = {**fk.FAST, "GAPKIT_CACHE_DIR": str(tmp_path / "cache")}
    proc = fk.run_cli(*argv, data_dir=None if own_dir else data, env=env, timeout=120)  # the bound: no hang
    fk.assert_clean_failure(proc, [n.replace("{data}", str(data)) for n in needles])
    # usage errors exit 2; a file that cannot be had (offline, no copy) is a failed ingest: exit 1
    assert proc.returncode == (1 if case == "ingest-offline-without-files" else 2), f"{case}: exit {proc.returncode}"
    assert "unexpected error" not in proc.stderr
    assert fk.snapshot(data) == before, "bad input changed the data folder"
    assert fk.tree_state(u) == outside, "bad input changed a file outside the data folder (a link's target, a pipe...)"
    assert not list(u.glob("PWNED")) and not list(Path.cwd().glob("PWNED")), "a user file was executed"


def test_analysis_before_any_ingest(tmp_path: Path) -> None:
    proc = fk.run_cli("gap", "--sector", "transportation", data_dir=tmp_path / "empty")
    fk.assert_clean_failure(proc, ["No ingested data", "gapkit ingest"])


@pytest.mark.parametrize(("var", "value"), [("GAPKIT_HTTP_TIMEOUT", "abc"), ("GAPKIT_HTTP_RETRIES", "-1"),
                                            ("GAPKIT_HTTP_DEADLINE", "0"), ("GAPKIT_MAX_MEMBER_BYTES", "lots")])
def test_bad_environment_values_are_named(data: Path, var: str, value: str) -> None:
    before = fk.snapshot(data)
    args = ["ipeds", "--years", "2024", "--force"] if var == "GAPKIT_MAX_MEMBER_BYTES" else ["bls-ep"]
    proc, _ = fk.ingest(data, *args, env={var: value})
    fk.assert_clean_failure(proc, [f"{var}={value!r}"])
    fk.assert_intact(before, data, manifest_bytes=var != "GAPKIT_MAX_MEMBER_BYTES")


# -- security ---------------------------------------------------------------------------------------
def test_tls_verification_is_on_by_default() -> None:
    from gapkit.ingestion.fetch import Fetcher

    with Fetcher() as f:
        ctx = f.client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_tls_opt_out_is_loud(data: Path, mirror_dir: Path) -> None:
    with serve(mirror_dir) as srv:
        proc = fk.run_cli("ingest", "bls-ep", "--mirror", base_url(srv), data_dir=data,
                          env={**fk.FAST, "GAPKIT_INSECURE_SKIP_TLS_VERIFY": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" in proc.stderr and "NOT being verified" in proc.stderr


def test_requests_name_gapkit_and_the_contact(data: Path, mirror_dir: Path) -> None:
    with serve(mirror_dir) as srv:
        proc = fk.run_cli("ingest", "bls-ep", "--mirror", base_url(srv), data_dir=data,
                          env={**fk.FAST, "GAPKIT_CONTACT": "analyst@example.org"})
        agents = {h.get("User-Agent", "") for _, h in srv.requests}
    assert proc.returncode == 0, proc.stderr
    assert agents and all(a.startswith("gapkit/") and "analyst@example.org" in a for a in agents)


def test_no_eval_pickle_or_shell_anywhere_in_the_package() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "gapkit"
    banned = re.compile(r"\bimport pickle\b|\bpickle\.|\bmarshal\.|(?<![\w.])eval\(|(?<![\w.])exec\(|shell=True|os\.system\(|"
                        r"os\.popen\(|yaml\.load\(|\bsubprocess\b|__import__\(")
    # the one process gapkit starts: headless Chromium printing brief.pdf, an argument list (never a shell)
    printer = re.compile(banned.pattern.replace(r"|\bsubprocess\b", ""))
    assert printer.pattern != banned.pattern
    found = [f"{p.relative_to(src)}:{n}: {line.strip()}" for p in sorted(src.rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), start=1)
             if (printer if p.relative_to(src).as_posix() == "render/pdf.py" else banned).search(line)]
    assert not found, found


def test_archive_members_never_leave_a_temporary_folder(data: Path, tmp_path: Path) -> None:
    """A zip-slip member would land in tmp_path/../evil if extracted by its own path."""
    target = tmp_path.parent / "evil-gapkit"
    proc, _ = fk.ingest(data, "ipeds", "--years", "2024",
                        faults={fk.HD24: fk.body(fk.zip_bytes({f"../../../../{target.name}/hd2024.csv": b"UNITID\n1\n"}))})
    fk.assert_clean_failure(proc, ["zip-slip"])
    assert not target.exists()


# -- standard output closed or full, a locale that is not UTF-8 ------------------------------------------------
STREAM_COMMANDS: list[tuple[str, list[str]]] = [
    ("sources", ["sources"]),
    ("sources-json", ["sources", "--format", "json"]),
    ("gap", ["gap", "--top", "3"]),
    ("gap-csv", ["gap", "--format", "csv"]),
    ("sectors-show", ["sectors", "show", "transportation"]),
    ("pathways", ["pathways", "--top", "3"]),
    ("programs", ["programs", "--top", "3"]),
    ("occupation", ["occupation", "53-3032"]),
]
STREAMS = ["stdout-closed", "stdout-disk-full", "latin1-locale", "c-locale"]


@pytest.fixture(scope="session")
def latin1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A real ISO-8859-1 locale, compiled with localedef into a private LOCPATH (no root needed); where
    localedef or the locale sources are missing, Python is told the same encoding."""
    import shutil
    import subprocess

    loc = tmp_path_factory.mktemp("locale")
    if shutil.which("localedef"):
        subprocess.run(["localedef", "-i", "en_US", "-f", "ISO-8859-1", str(loc / "en_US.ISO-8859-1")], capture_output=True,
                       timeout=120)
        if (loc / "en_US.ISO-8859-1").is_dir():
            return {"LOCPATH": str(loc), "LC_ALL": "en_US.ISO-8859-1", "LANG": "en_US.ISO-8859-1"}
    return {"LC_ALL": "en_US.ISO-8859-1", "PYTHONIOENCODING": "iso-8859-1"}


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize(("name", "args"), STREAM_COMMANDS, ids=[c[0] for c in STREAM_COMMANDS])
def test_standard_output_closed_full_or_not_utf8(good: Path, tmp_path: Path, latin1: dict[str, str], stream: str, name: str,
                                                 args: list[str]) -> None:
    """`gapkit ... >&-`, `gapkit ... > /dev/full`, and an ISO-8859-1 or C (ASCII) locale: a clear paragraph (exit 1)
    when the result has nowhere to go, a normal run otherwise; never "unexpected error"."""
    env = {**fk.FAST, "GAPKIT_CACHE_DIR": str(tmp_path / "cache")}
    before = fk.snapshot(good)
    if stream == "stdout-closed":
        proc = fk.run_cli(*args, data_dir=good, env=env, timeout=120, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
        fk.assert_clean_exit(proc, ["Standard output is closed"], codes=(1,))
    elif stream == "stdout-disk-full":
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full on this system")
        with open("/dev/full", "w") as full:
            proc = fk.run_cli(*args, data_dir=good, env=env, timeout=120, stdout=full)
        fk.assert_clean_exit(proc, ["standard output", "No space left on device"], codes=(1,))
    else:
        locale_env = latin1 if stream == "latin1-locale" else {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
                                                                "PYTHONCOERCECLOCALE": "0"}
        # the output is in the locale's encoding (ISO-8859-1 or ASCII), both read as ISO-8859-1
        proc = fk.run_cli(*args, data_dir=good, env={**env, **locale_env}, timeout=120, encoding="latin-1")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() and "Traceback" not in proc.stderr and "error:" not in proc.stderr
    assert fk.snapshot(good) == before


# -- text from a user's files is never output raw ---------------------------------------------------------------
HOSTILE = ("=HYPERLINK(\"http://evil.example\",\"x\") \u001b[31mred\u001b[0m \u001b]8;;http://evil.example\u0007link\u001b]8;;\u0007 "
           "[/]x [link=http://evil.example]click[/link] <script>alert(1)</script> <img src=x onerror=alert(1)> "
           "[x](javascript:alert(1)) ![i](http://evil.example/t.png) \u202emirrored $\\frac{1}{$")


def hostile_files(d: Path) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    t = json.dumps(HOSTILE)  # a TOML basic string (JSON escapes are TOML escapes)
    sector = f'''name = "hostile"
title = {t}
description = {t}
[[subsectors]]
key = "trucking"
title = {json.dumps("+cmd|' /C calc'!A0 " + HOSTILE)}
nem_industries = ["484000"]
[[groups]]
key = "drivers"
title = {json.dumps("@SUM(A1) " + HOSTILE)}
soc = ["53-3"]
[[groups]]
key = "other"
title = {json.dumps("-2+3 " + HOSTILE)}
soc = ["*"]
'''
    rules = f'''[[tiers]]
name = "=cmd"
description = {t}
all = ["high_wage"]
[[tiers]]
name = "other"
description = {t}
'''
    (d / "hostile.toml").write_text(sector)
    (d / "rules.toml").write_text(rules)
    # a big extra supply makes one group's gap negative: a negative number must stay a number in CSV
    (d / "supply.csv").write_text("soc,region,annual_completers,source\n53-3032,US,2000000,\"=HYPERLINK(\"\"http://evil\"\")\"\n")
    return {"sector": d / "hostile.toml", "rules": d / "rules.toml", "supply": d / "supply.csv"}


INJECTION = [
    ("gap-table", ["gap", "--sector-file", "{sector}", "--extra-supply", "{supply}"], "terminal"),
    ("gap-csv-stdout", ["gap", "--sector-file", "{sector}", "--extra-supply", "{supply}", "--format", "csv"], "csv"),
    ("gap-csv-file", ["gap", "--sector-file", "{sector}", "--extra-supply", "{supply}", "--format", "csv", "--out", "{out}/g.csv"], "csv"),
    ("gap-markdown", ["gap", "--sector-file", "{sector}", "--by", "subsector", "--format", "markdown"], "markdown"),
    ("gap-json", ["gap", "--sector-file", "{sector}", "--extra-supply", "{supply}", "--format", "json"], "json"),
    ("sectors-show", ["sectors", "show", "{sector}"], "terminal"),
    ("report", ["report", "--sector-file", "{sector}", "--sector", "hostile", "--out", "{out}/brief"], "report"),
    ("chart-svg", ["chart", "bars", "--by", "subsector", "--sector-file", "{sector}", "--out", "{out}/c.svg"], "svg"),
    ("pathways-table", ["pathways", "--rules", "{rules}", "--top", "5"], "terminal"),
    ("pathways-markdown", ["pathways", "--rules", "{rules}", "--top", "5", "--format", "markdown"], "markdown"),
    ("pathways-csv", ["pathways", "--rules", "{rules}", "--top", "5", "--format", "csv"], "csv"),
]
RAW_TERMINAL = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(("case", "args", "kind"), INJECTION, ids=[c[0] for c in INJECTION])
def test_text_from_user_files_is_never_output_raw(good: Path, tmp_path: Path, case: str, args: list[str], kind: str) -> None:
    import csv

    files = hostile_files(tmp_path / "user")
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.replace("{out}", str(out)).replace("{sector}", str(files["sector"])).replace("{rules}", str(files["rules"]))
            .replace("{supply}", str(files["supply"])) for a in args]
    before = fk.snapshot(good)
    proc = fk.run_cli(*argv, data_dir=good, env={**fk.FAST, "GAPKIT_CACHE_DIR": str(tmp_path / "cache")}, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert fk.snapshot(good) == before
    # nothing reaches the terminal raw, whatever the format (stderr carries titles too: "wrote ...: TITLE")
    assert not RAW_TERMINAL.search(proc.stdout + proc.stderr), repr(RAW_TERMINAL.findall(proc.stdout + proc.stderr))
    written = {p.name: p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file() and p.suffix in {".csv", ".md", ".html", ".svg"}}
    if kind == "terminal":
        assert "[link=" in proc.stdout or "=cmd" in proc.stdout or "HYPERLINK" in proc.stdout  # shown, as text
    elif kind == "csv":
        text = written.get("g.csv", proc.stdout)
        rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
        header, body = rows[0], rows[1:]
        assert body
        for r in body:
            for cell in r:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    float(cell.replace(",", ""))  # only numbers may start like a formula
        if "gap" in header and case.startswith("gap"):
            gaps = [float(r[header.index("gap")]) for r in body]
            assert any(g < 0 for g in gaps), "the negative gap was not kept as a number"
        assert "'=HYPERLINK(" in text or "'=cmd" in text or "'@SUM" in text
    elif kind == "markdown" or kind == "report":
        md = written.get("brief.md", proc.stdout)
        for raw in (r"<script", r"<img", r"(?<!\\)\]\(javascript:", r"!\[i(?<!\\)\]\(http"):
            assert not re.search(raw, md), f"{raw!r} reached the Markdown"
        if "{sector}" in args:
            assert "&lt;script" in md and "\\[x\\]" in md  # shown as text
        if kind == "report":
            page = written["brief.html"]
            assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    elif kind == "json":
        doc = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
        assert doc["rows"] and "\u001b" not in json.dumps(doc, ensure_ascii=False).replace("\\u001b", "")
    elif kind == "svg":
        svg = written["c.svg"]
        assert "<script" not in svg and "\u001b" not in svg and "$\\frac{1}{$" in svg  # the dollar signs stay text


# -- the scheduled refresh's config --------------------------------------------------------------------------------
REFRESH: list[tuple[str, str | None, int, list[str]]] = [
    # (id, config text (None: a folder or a pipe, see the test), exit, message fragments)
    ("config-is-a-folder", None, 2, ["is a folder"]),
    ("config-is-a-fifo", None, 2, ["named pipe"]),
    ("config-100k-deep", 'out = "r"\n[[report]]\nname = "x"\nsector = ' + "[" * 100_000 + "]" * 100_000 + "\n", 2, ["nested"]),
    ("config-not-toml", "out = \n[[report]\n", 2, ["not valid TOML"]),
    ("config-not-utf8", 'out = "r"\n# caf\xe9\n', 2, ["UTF-8"]),
    ("region-a-number", 'out = "r"\n[[report]]\nname = "oh"\nsector = "transportation"\nregion = 39\n', 0, ["refreshed 1 report"]),
    ("completions-years-a-list", 'out = "r"\n[[report]]\nname = "us"\nsector = "transportation"\ncompletions_years = [2024]\n',
     0, ["refreshed 1 report"]),
    ("completions-years-text-list", 'out = "r"\n[[report]]\nname = "us"\nsector = "transportation"\ncompletions_years = ["2024"]\n',
     2, ["completions_years", "must be text"]),
    ("completions-years-not-a-year", 'out = "r"\n[[report]]\nname = "us"\nsector = "transportation"\ncompletions_years = "last"\n',
     2, ["completions_years 'last'", "report 1"]),
    ("retention-text", 'out = "r"\n[[report]]\nname = "us"\nsector = "transportation"\nretention = "most"\n', 2, ["retention", "number"]),
    ("region-true", 'out = "r"\n[[report]]\nname = "us"\nsector = "transportation"\nregion = true\n', 2, ["region", "must be text"]),
    ("extra-supply-a-number", 'out = "r"\n[[report]]\nname = "us"\nsector = "transportation"\nextra_supply = 5\n', 2,
     ["extra_supply", "must be text"]),
    ("sector-a-table", 'out = "r"\n[[report]]\nname = "us"\nsector = {x = 1}\n', 2, ["sector"]),
    ("out-a-number", 'out = 5\n[[report]]\nname = "us"\nsector = "transportation"\n', 2, ["`out`"]),
]


@pytest.mark.parametrize(("case", "text", "code", "needles"), REFRESH, ids=[c[0] for c in REFRESH])
def test_refresh_config(data: Path, tmp_path: Path, case: str, text: str | None, code: int, needles: list[str]) -> None:
    """`python -m gapkit.cli.refresh --config X`: a bad config is one paragraph naming it (no Python traceback); a number
    where text is usual (a FIPS region, a list of years) is read as the command line would."""
    import subprocess
    import sys

    cfg = tmp_path / "refresh.toml"
    if case == "config-is-a-folder":
        cfg.mkdir()
    elif case == "config-is-a-fifo":
        os.mkfifo(cfg)
    else:
        assert text is not None
        cfg.write_bytes(text.encode("latin-1"))
    empty = tmp_path / "nothing"
    empty.mkdir()
    before = fk.snapshot(data)
    env = {**os.environ, **fk.FAST, "GAPKIT_CACHE_DIR": str(tmp_path / "cache"), "GAPKIT_DATA_DIR": str(data)}
    proc = subprocess.run([sys.executable, "-m", "gapkit.cli.refresh", "--config", str(cfg), "--offline", "--from", str(empty)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stderr
    for n in needles:
        assert n in proc.stderr, f"{n!r} not in {proc.stderr}"
    assert fk.snapshot(data) == before
    if code == 0:
        assert len(list((tmp_path / "r").glob("*/brief.md"))) == 1


# -- no space left for the output ------------------------------------------------------------------------------------
FULL_OUTPUT = [
    ("gap-csv", ["gap", "--by", "occupation", "--format", "csv", "--out", "{out}/g.csv"], "g.csv"),
    ("gap-parquet", ["gap", "--by", "occupation", "--format", "parquet", "--out", "{out}/g.parquet"], "g.parquet"),
    ("pathways-json", ["pathways", "--format", "json", "--out", "{out}/p.json"], "p.json"),
    ("occupation-json", ["occupation", "53-3032", "--format", "json", "--out", "{out}/o.json"], "o.json"),
    ("chart-png", ["chart", "bars", "--out", "{out}/c.png"], "c.png"),
    ("report", ["report", "--out", "{out}/brief"], "brief"),
]


@pytest.mark.parametrize(("case", "args", "name"), FULL_OUTPUT, ids=[c[0] for c in FULL_OUTPUT])
def test_no_space_left_for_the_output(good: Path, tmp_path: Path, case: str, args: list[str], name: str) -> None:
    """The output file cannot grow (RLIMIT_FSIZE, which fails a write as a full disk does): one paragraph naming
    --out, nothing half-written left behind, the data folder untouched."""
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.replace("{out}", str(out)) for a in args]
    before = fk.snapshot(good)
    proc = fk.run_cli(*argv, data_dir=good, env={**fk.FAST, "GAPKIT_CACHE_DIR": str(tmp_path / "c")}, timeout=180,
                      preexec_fn=fk.fsize_limit(2000))
    fk.assert_clean_exit(proc, ["--out", name, "File too large"])
    assert not [p for p in out.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or p.name == name)], list(out.rglob("*"))
    assert fk.snapshot(good) == before
