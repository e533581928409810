"""Screenshots of the conformance contract's HTML report, for docs/reports.md.

    PYTHONPATH=src python docs/make_screenshot.py [OUT_FOLDER]   (default: docs/img)

Builds the conformance fixture (../shared/spec/make_fixture.py, else the copy in tests/spec),
runs `mlc check churn.mlc --allow-pickle --html report.html` on it, opens the report in
Debian's headless chromium (Playwright drives it; it downloads nothing) and saves:

- html-report.png          the summary, the filters and the data checks with their drift plots;
- html-report-model.png    the model-quality checks (the group filter): ROC/PR curves beside prod,
                           confusion matrices beside the baseline;
- html-report-curve.png    the training curves, the window of `over last 5 epochs` marked;
- html-report-latency.png  the latency checks: the candidate's and prod's per-call latencies and p95s.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MLC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def spec_dir() -> Path:
    shared = ROOT.parent / "shared" / "spec"
    return shared if (shared / "make_fixture.py").exists() else ROOT / "tests" / "spec"


def report(folder: Path) -> Path:
    subprocess.run([sys.executable, str(spec_dir() / "make_fixture.py"), str(folder)], check=True)
    out = folder / "report.html"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-m", "mlcontract", "check", "churn.mlc", "--allow-pickle",
                           "--html", str(out), "--quiet"], env=env, cwd=folder)
    if done.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"mlc check failed ({done.returncode})")
    return out


def shoot(html: Path, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(html.resolve().as_uri())
        page.click("#expand-all")
        _draw(page)
        page.screenshot(path=str(target / "html-report.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 2200},
                        full_page=True)
        page.select_option("#filter-group", "model")
        _draw(page)
        page.screenshot(path=str(target / "html-report-model.png"), full_page=True)
        for group in ("curve", "latency"):
            page.select_option("#filter-group", group)
            _draw(page)
            page.screenshot(path=str(target / f"html-report-{group}.png"), full_page=True)
        browser.close()


def _draw(page) -> None:
    """Bring every visible plot into view once: plots are drawn as they appear."""
    for box in page.query_selector_all("tr.detail:not([hidden]) .plot[data-index]"):
        box.scroll_into_view_if_needed()
        page.wait_for_function("box => box.dataset.rendered === 'true'", arg=box)
    page.evaluate("window.scrollTo(0, 0)")


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        html = report(Path(folder))
        shoot(html, target)
        print(f"{html.stat().st_size / 1024:.0f} KiB report; screenshots in {target}")


if __name__ == "__main__":
    main()
