"""Briefs from real data (`gapkit report`), their reproducibility, the HTML in headless Chromium, and the
scheduled refresh (`python -m gapkit.cli.refresh`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, assert_clean_error, require_shared, run_cli

# data colours of the charts (gapkit.render.charts.style): completers, more openings, more completers
CHART_RGB = ((0xE6, 0x9F, 0x00), (0xD5, 0x5E, 0x00), (0x00, 0x72, 0xB2))


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    msg = "headless Chromium not found (`make deps-system` installs it)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(msg + "; CI must have it", pytrace=False)
    pytest.skip(msg)


def run_chromium(*args: str, profile: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=timeout)


def make_brief(ingested: Path, out: Path, *args: str) -> Path:
    proc = run_cli("report", "--sector", "transportation", *args, "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def brief_us(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_brief(ingested, tmp_path_factory.mktemp("brief") / "transportation-us")


@pytest.fixture(scope="module")
def brief_oh(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_brief(ingested, tmp_path_factory.mktemp("brief") / "transportation-oh", "--region", "OH")


@pytest.fixture(scope="module")
def brief_metro(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_brief(ingested, tmp_path_factory.mktemp("brief") / "transportation-columbus", "--region", "metro:18140")


BRIEFS = ("brief_us", "brief_oh", "brief_metro")
SECTIONS = ("## Executive summary", "> **Caveats**", "## Key findings", "## Peer comparison", "## Trends",
            "## Where the gap is", "## Pathways", "## Programs", "## Method", "## Provenance")


def test_brief_files(brief_us: Path) -> None:
    md = (brief_us / "brief.md").read_text()
    page = (brief_us / "brief.html").read_text()
    charts = sorted(p.name for p in (brief_us / "charts").iterdir())
    names = ["bars-group", "bars-subsector", "scatter", "sensitivity", "states", "trend"]
    assert charts == sorted(f"{n}.{x}" for n in names for x in ("png", "svg"))
    for n in names:  # the PNG is a real 300-dpi image of the same chart
        from PIL import Image

        with Image.open(brief_us / "charts" / f"{n}.png") as im:
            assert im.format == "PNG" and im.width > 1500
    # the sections in the order the issue asks for: summary first, method and provenance last
    at = [md.index(h) for h in SECTIONS]
    assert at == sorted(at), [h for h, _ in sorted(zip(SECTIONS, at, strict=True), key=lambda x: x[1])]
    for heading in ("### By subsector", "### By occupational group", "### Occupations", "### Method sensitivity",
                    "### Openings by BLS projections cycle", "### To expand", "### To review"):
        assert heading in md
    for name in names:
        assert f"](charts/{name}.svg)" in md
    # one self-contained file: the charts are inline SVG, nothing is fetched
    assert page.count('<svg class="chart"') == 6
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)
    assert "<script" not in page
    assert md.count("Generated at ") == 1 and page.count("Generated at ") == 1
    assert "Transit and ground passenger" in md and "Heavy and tractor-trailer truck drivers" in md
    assert (brief_us / "brief.pdf").read_bytes().startswith(b"%PDF-")


def _summary(md: str) -> str:
    return md.split("## Executive summary", 1)[1].split("> **Caveats**", 1)[0].strip()


@pytest.mark.parametrize("which", BRIEFS)
def test_executive_summary_states_the_range_drivers_and_caveat(which: str, request: pytest.FixtureRequest,
                                                                ingested: Path) -> None:
    """3-5 sentences: the headline range (the numbers `Workspace.headline` computes), the largest group and
    occupations, the comparison, the main caveat; the caveats box holds the notes behind the rows' flags."""
    import gapkit

    out: Path = request.getfixturevalue(which)
    md = (out / "brief.md").read_text()
    summary = _summary(md)
    sentences = [s for s in re.split(r"(?<=[.)])\s+(?=[A-Z])", summary) if s]
    assert 3 <= len(sentences) <= 5, sentences
    region = {"brief_us": "US", "brief_oh": "OH", "brief_metro": "metro:18140"}[which]
    ws = gapkit.Workspace(ingested)
    head = ws.headline("transportation", region=region)
    assert head.low is not None and head.high is not None and head.low < head.high
    assert f"**{head.text()}**" in summary
    by_group = ws.gap("transportation", region=region, by="group").table.sort("gap", descending=True)
    assert f"in the {by_group['group_title'][0].lower()} group" in summary
    assert "The main caveat:" in summary and "outside IPEDS" in summary
    caveats = md.split("> **Caveats**", 1)[1].split("## Key findings", 1)[0]
    assert "Public transit agencies" in caveats  # the sector definition's own caveat, near the top
    if which == "brief_metro":  # QCEW suppression and unreleased OEWS cells: notes behind the rows' flags
        assert "suppressed QCEW cells estimated" in caveats and "unreleased OEWS cells estimated" in caveats
        assert "That compares with" in summary and "for Ohio as a whole" in summary
    if which == "brief_oh":
        assert "bordering states (IN, KY, MI, PA, WV)" in summary and "estimates" in caveats


def _peer_table(md: str) -> list[list[str]]:
    sec = md.split("## Peer comparison", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in sec.splitlines() if line.startswith("| ")][1:]


def test_peer_comparison_state_and_metro(brief_oh: Path, brief_metro: Path, ingested: Path) -> None:
    import gapkit
    from gapkit.config.peers import peer_states

    ws = gapkit.Workspace(ingested)
    states = ws.gap("transportation", by="state").table
    rows = _peer_table((brief_oh / "brief.md").read_text())
    assert rows[0][0] == "Ohio (this brief)" and rows[-1][0] == "United States"
    names = {r[0] for r in rows[1:-1]}
    assert names == {"Indiana", "Kentucky", "Michigan", "Pennsylvania", "West Virginia"}
    assert set(peer_states()["OH"]) == {"IN", "KY", "MI", "PA", "WV"}
    pa = states.filter(states["region"] == "PA").row(0, named=True)
    pa_row = next(r for r in rows if r[0] == "Pennsylvania")
    assert pa_row[2] == f"{pa['entrants']:,.0f}" and pa_row[3] == f"{pa['supply']:,.0f}"
    us = ws.gap("transportation", by="sector").table.row(0, named=True)
    assert rows[-1][2] == f"{us['entrants']:,.0f}"
    # the map outlines the state asked for, and for a metro its state
    for out in (brief_oh, brief_metro):
        svg = (out / "charts" / "states.svg").read_text()
        assert 'id="gapkit-highlight' in svg
    assert "Ohio (outlined)" in (brief_metro / "brief.md").read_text()
    rows = _peer_table((brief_metro / "brief.md").read_text())
    assert [r[0] for r in rows] == ["Columbus, OH (this brief)", "Ohio", "United States"]
    oh = ws.gap("transportation", region="OH", by="sector").table.row(0, named=True)
    assert rows[1][2] == f"{oh['entrants']:,.0f}"


def test_peers_file_is_validated() -> None:
    from gapkit.config.peers import validate_peers_text
    from gapkit.errors import UsageError

    with pytest.raises(UsageError, match="no peers listed for"):
        validate_peers_text('[peers]\nOH = ["IN"]\n', "x.toml")
    good = (Path(__file__).parents[1] / "src/gapkit/config/shipped/peers.toml").read_text()
    with pytest.raises(UsageError, match="must list each other: OH-IN"):
        validate_peers_text(good.replace('IN = ["IL", "KY", "MI", "OH"]', 'IN = ["IL", "KY", "MI"]'), "x.toml")
    with pytest.raises(UsageError, match="unknown state postal code"):
        validate_peers_text(good.replace('OH = ["IN",', 'OH = ["ZZ", "IN",'), "x.toml")


def test_brief_provenance_matches_the_manifest(brief_us: Path, ingested: Path) -> None:
    from gapkit.store import Store

    md = (brief_us / "brief.md").read_text()
    prov = md.split("## Provenance", 1)[1]
    entries = {(e.dataset, e.vintage): e for e in Store(ingested).entries()}
    for ds in ("ep_occupations", "nem_matrix", "ipeds_completions", "cip_soc", "state_projections", "ipeds_institutions"):
        rows = [line for line in prov.splitlines() if line.startswith(f"| {ds} |")]
        assert rows, ds
        for line in rows:
            cells = [c.strip() for c in line.strip("|").split("|")]
            e = entries[(cells[0], cells[1])]
            assert cells[5].split()[0] == e.sha256 and len(e.sha256) == 64
            assert cells[6] == e.retrieved
    manifest = json.loads((ingested / "manifest.json").read_text())
    assert manifest["datasets"]


def test_rerun_is_byte_identical_but_for_the_generated_line(brief_us: Path, ingested: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    proc = run_cli("report", "--sector", "transportation", "--no-pdf", "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert "brief.pdf skipped (--no-pdf)" in proc.stderr and not (out / "brief.pdf").exists()
    for rel in ["brief.md", "brief.html"] + [f"charts/{p.name}" for p in (brief_us / "charts").iterdir()]:
        a, b = (brief_us / rel).read_bytes(), (out / rel).read_bytes()
        if rel.startswith("charts/"):
            assert a == b, rel
            continue
        la, lb = a.decode().splitlines(), b.decode().splitlines()
        assert len(la) == len(lb), rel
        diff = [(x, y) for x, y in zip(la, lb, strict=True) if x != y]
        assert all("Generated at " in x and "Generated at " in y for x, y in diff), (rel, diff[:2])


def test_html_opens_in_headless_chromium_and_shows_its_charts(brief_us: Path, tmp_path: Path) -> None:
    from PIL import Image

    url = (brief_us / "brief.html").resolve().as_uri()
    dom = run_chromium("--dump-dom", url, profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<svg class="chart"') == 6
    assert "Provenance" in dom.stdout
    errors = [line for line in dom.stderr.splitlines()
              if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line or "ERR_" in line]
    assert not errors, errors

    shot = tmp_path / "brief.png"
    proc = run_chromium("--hide-scrollbars", "--window-size=1000,2400", f"--screenshot={shot}", url,
                        profile=tmp_path / "profile-shot")
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    import numpy as np

    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape == (2400, 1000, 3)
    ink = int((img.sum(axis=2) < 600).sum())
    assert ink > 0.01 * img.shape[0] * img.shape[1], "the screenshot is blank"
    coloured = sum(int((np.abs(img - np.array(rgb)) < 40).all(axis=2).sum()) for rgb in CHART_RGB)
    assert coloured > 2000, "no chart visible (no chart colours in the screenshot)"


# ---------------------------------------------------------------------------------------------
# widths: desktop and phone, measured in Chromium
# ---------------------------------------------------------------------------------------------
PROBE = ("<script>document.getElementById('f').addEventListener('load',()=>{const d=document.getElementById('f')"
         ".contentDocument.documentElement;const o=document.createElement('output');o.id='probe';"
         "o.textContent=d.scrollWidth+' '+d.clientWidth;document.body.appendChild(o);});</script>")


def _framed(page: str, width: int, height: int = 2400) -> str:
    """The brief in a frame exactly ``width`` CSS pixels wide (headless Chromium's window has a minimum width, a
    frame does not), and a script that writes the frame's document scroll and client widths into the DOM."""
    import html

    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}iframe{border:0;display:block}</style>'
            f'</head><body><iframe id="f" style="width:{width}px;height:{height}px" srcdoc="{html.escape(page, quote=True)}">'
            f"</iframe>{PROBE}</body></html>")


def _widths(page: str, width: int, tmp_path: Path, name: str) -> tuple[int, int]:
    f = tmp_path / f"{name}-{width}.html"
    f.write_text(_framed(page, width), encoding="utf-8")
    dom = run_chromium("--window-size=1400,900", "--dump-dom", f.as_uri(), profile=tmp_path / f"profile-{name}-{width}")
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.findall(r'id="probe">(\d+) (\d+)<', dom.stdout)
    assert found, "the probe did not run"
    return int(found[0][0]), int(found[0][1])


@pytest.mark.parametrize("which", BRIEFS)
def test_no_horizontal_overflow_at_desktop_and_phone_width(which: str, request: pytest.FixtureRequest,
                                                           tmp_path: Path) -> None:
    from PIL import Image

    out: Path = request.getfixturevalue(which)
    page = (out / "brief.html").read_text()
    for width in (1280, 390):
        scroll, client = _widths(page, width, tmp_path, "brief")
        assert client <= width and client >= width - 20, (width, client)
        assert scroll <= client, f"brief.html overflows at {width}px: scrollWidth {scroll} > clientWidth {client}"
        shot = tmp_path / f"shot-{width}.png"
        frame = tmp_path / f"shot-{width}.html"
        frame.write_text(_framed(page, width, 2400).replace(PROBE, ""), encoding="utf-8")
        proc = run_chromium("--hide-scrollbars", f"--window-size={max(width, 800)},2400", f"--screenshot={shot}",
                            frame.as_uri(), profile=tmp_path / f"profile-shot-{width}")
        assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
        import numpy as np

        img = np.asarray(Image.open(shot).convert("RGB")).astype(int)[:, :width]
        assert int((img.sum(axis=2) < 600).sum()) > 0.005 * img.shape[0] * img.shape[1], f"blank at {width}px"
    # the measurement can fail: the same page with one element wider than the phone overflows
    scroll, client = _widths(page.replace("</body>", '<div style="width:900px">wide</div></body>'), 390, tmp_path, "wide")
    assert scroll > client


# ---------------------------------------------------------------------------------------------
# brief.pdf
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", BRIEFS)
def test_pdf_holds_the_provenance_digests_and_starts_with_the_summary(which: str, request: pytest.FixtureRequest) -> None:
    pypdf = pytest.importorskip("pypdf")
    chromium()  # the brief has a PDF only where Chromium is (skip, or fail on CI, as for the other browser tests)
    out: Path = request.getfixturevalue(which)
    md = (out / "brief.md").read_text()
    reader = pypdf.PdfReader(out / "brief.pdf")
    pages = ["".join(p.extract_text().split()) for p in reader.pages]  # digests wrap inside their cell
    prov = md.split("## Provenance", 1)[1]
    digests = re.findall(r"\| ([0-9a-f]{64})\b", prov)
    assert len(digests) >= 6
    text = "".join(pages)
    missing = [d for d in digests if d not in text]
    assert not missing, f"sha256 digests clipped from the printed provenance table: {missing}"
    assert "Retrieved" in pages[-1] + pages[-2]
    first = "".join(_summary(md).replace("**", "").split())
    assert pages[0].startswith("".join(md.splitlines()[0].lstrip("# ").split()))
    assert "Executivesummary" in pages[0] and first[:300] in pages[0], "the executive summary is not on page 1"
    assert "Caveats" in pages[0]
    # no heading is the last thing on a page (headings keep with what follows them)
    heads = {"".join(line.lstrip("#").split()) for line in md.splitlines() if line.startswith("#")}
    for i, p in enumerate(reader.pages[:-1]):
        lines = [x for x in p.extract_text().splitlines() if x.strip()]
        assert "".join(lines[-1].split()) not in heads, f"page {i + 1} ends with the heading {lines[-1]!r}"


def test_pdf_option_without_chromium(ingested: Path, tmp_path: Path) -> None:
    # no result cache: a brief already printed is written from it without Chromium (tests/test_render_cache.py)
    env = {"GAPKIT_CHROMIUM": str(tmp_path / "no-such-chromium"), "GAPKIT_NO_CACHE": "1"}
    out = tmp_path / "b"
    proc = run_cli("report", "--sector", "transportation", "--region", "OH", "--out", str(out), data_dir=ingested, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "brief.pdf skipped: headless Chromium not found" in proc.stderr
    assert (out / "brief.html").exists() and not (out / "brief.pdf").exists()
    proc = run_cli("report", "--sector", "transportation", "--region", "OH", "--pdf", "--out", str(tmp_path / "c"),
                   data_dir=ingested, env=env)
    assert_clean_error(proc, "headless Chromium was not found", "install chromium", "--no-pdf")
    assert len([line for line in proc.stderr.strip().splitlines() if line.strip()]) <= 3


def test_chromium_failing_while_the_charts_render(ingested: Path, tmp_path: Path) -> None:
    """brief.pdf is printed while the PNGs render; when Chromium fails, the rest of the brief is still written and the
    failure is one message naming the file, raised after them (tests/test_pdf_job.py has the other failures)."""
    exe = tmp_path / "broken-chromium"
    exe.write_text("#!/bin/sh\necho 'Trace/breakpoint trap: the renderer crashed' >&2\nexit 133\n")
    exe.chmod(0o755)
    out = tmp_path / "b"
    out.mkdir()
    (out / "brief.pdf").write_bytes(b"%PDF-1.4 an earlier brief's")  # must not stay beside the new brief
    proc = run_cli("report", "--sector", "transportation", "--region", "OH", "--out", str(out), data_dir=ingested,
                   env={"GAPKIT_CHROMIUM": str(exe), "GAPKIT_NO_CACHE": "1"})
    assert_clean_error(proc, f"--out {out}: brief.pdf: Chromium", "exited 133 without printing a PDF", "renderer crashed",
                       "--no-pdf")
    assert (out / "brief.md").exists() and (out / "brief.html").exists() and (out / "charts" / "scatter.png").exists()
    assert not (out / "brief.pdf").exists()


def test_state_brief_and_errors(brief_oh: Path, ingested: Path, tmp_path: Path) -> None:
    md = (brief_oh / "brief.md").read_text()
    assert md.startswith("# Transportation skills gap: Ohio")
    assert (brief_oh / "charts" / "states.svg").exists() and (brief_oh / "charts" / "states.png").exists()
    assert "Projections Central" in md
    (tmp_path / "afile").write_text("x")
    assert_clean_error(run_cli("report", "--out", str(tmp_path / "afile"), data_dir=ingested), "--out", "is a file")
    assert_clean_error(run_cli("report", "--sector", "nope", "--out", str(tmp_path / "x"), data_dir=ingested), "Unknown sector 'nope'")
    assert_clean_error(run_cli("report", "--region", "ZZ", "--out", str(tmp_path / "y"), data_dir=ingested), "--region")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# ---------------------------------------------------------------------------------------------
# refresh
# ---------------------------------------------------------------------------------------------
def _config(tmp_path: Path, *reports: dict[str, Any]) -> Path:
    lines = ['out = "reports"', ""]
    for r in reports:
        lines.append("[[report]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in r.items()]
        lines.append("")
    cfg = tmp_path / "refresh.toml"
    cfg.write_text("\n".join(lines))
    return cfg


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_refresh_regenerates_then_keeps_previous_reports_on_failure(ingested: Path, tmp_path: Path) -> None:
    from gapkit.cli.refresh import load_config, regenerate
    from gapkit.errors import GapkitError

    cfg = _config(tmp_path, {"name": "transportation-oh", "sector": "transportation", "region": "OH"})
    written = regenerate(load_config(cfg), ingested, generated_at="2000-01-01T00:00:00Z")
    assert [p.name for p in written] == ["transportation-oh"]
    reports = tmp_path / "reports"
    before = _snapshot(reports)
    assert "transportation-oh/brief.html" in before and "transportation-oh/charts/trend.svg" in before
    # a second report that cannot be built: nothing is swapped, the first report is untouched
    cfg = _config(tmp_path, {"name": "transportation-oh", "sector": "transportation", "region": "OH"},
                  {"name": "broken", "sector": "no-such-sector", "region": "US"})
    with pytest.raises(GapkitError, match="report broken: Unknown sector"):
        regenerate(load_config(cfg), ingested)
    assert _snapshot(reports) == before
    assert [p.name for p in reports.iterdir()] == ["transportation-oh"]  # no staging folder left behind


def test_refresh_source_failure_exits_nonzero_and_keeps_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gapkit.cli.refresh import main

    require_shared()
    cfg = _config(tmp_path, {"name": "transportation-us", "sector": "transportation", "region": "US"})
    old = tmp_path / "reports" / "transportation-us"
    old.mkdir(parents=True)
    (old / "brief.md").write_text("previous brief\n")
    bad = tmp_path / "downloads"
    bad.mkdir()
    good = (SHARED / "data" / "bls_ep" / "occupation_2024-34.xlsx").read_bytes()
    (bad / "occupation_2024-34.xlsx").write_bytes(good[: len(good) // 3])  # a truncated download
    code = main(["--config", str(cfg), "--offline", "--from", str(bad), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code != 0
    assert "refresh failed" in err and "previous reports were left in place" in err
    assert (old / "brief.md").read_text() == "previous brief\n"
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["transportation-us"]


@pytest.mark.parametrize(("text", "needle"), [
    ('out = "r"\n', "at least one report"),
    ('[[report]]\nname = "a b"\nsector = "transportation"\n', "simple folder name"),
    ('[[report]]\nname = "a"\nsector = "transportation"\ncolour = "red"\n', "unknown key(s) colour"),
    ('[[report]]\nname = "a"\nregion = "US"\n', "`sector` is required"),
    ('[[report]]\nname = "a"\nsector = "x"\n[[report]]\nname = "a"\nsector = "y"\n', "used twice"),
    ("out = [", "not valid TOML"),
])
def test_refresh_config_errors(tmp_path: Path, text: str, needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    from gapkit.cli.refresh import main

    cfg = tmp_path / "refresh.toml"
    cfg.write_text(text)
    assert main(["--config", str(cfg), "--offline", "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert needle in err and str(cfg) in err and "Traceback" not in err
