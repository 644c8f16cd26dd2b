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


@pytest.fixture(scope="module")
def brief_us(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("brief") / "transportation-us"
    proc = run_cli("report", "--sector", "transportation", "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    return out


def test_brief_files(brief_us: Path) -> None:
    md = (brief_us / "brief.md").read_text()
    page = (brief_us / "brief.html").read_text()
    charts = sorted(p.name for p in (brief_us / "charts").iterdir())
    assert charts == ["bars-group.svg", "bars-subsector.svg", "scatter.svg", "sensitivity.svg", "states.svg", "trend.svg"]
    for heading in ("## Headline", "## Charts", "## Tables", "### By subsector", "### By occupational group",
                    "### Occupations", "### By state", "### Method sensitivity", "## Method", "## Provenance"):
        assert heading in md
    for name in charts:
        assert f"](charts/{name})" in md
    # one self-contained file: the charts are inline SVG, nothing is fetched
    assert page.count('<svg class="chart"') == 6
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)
    assert "<script" not in page
    assert md.count("Generated at ") == 1 and page.count("Generated at ") == 1
    # headline numbers agree with the gap table
    assert "openings a year" in md and "openings for every completer" in md
    assert "Transit and ground passenger" in md and "Heavy and tractor-trailer truck drivers" in md


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
    proc = run_cli("report", "--sector", "transportation", "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
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


def test_state_brief_and_errors(ingested: Path, tmp_path: Path) -> None:
    out = tmp_path / "oh"
    proc = run_cli("report", "--sector", "transportation", "--region", "OH", "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    md = (out / "brief.md").read_text()
    assert md.startswith("# Transportation skills gap: Ohio")
    assert "### By state" not in md and not (out / "charts" / "states.svg").exists()
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
