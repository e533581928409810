"""`mlc check --html`: one self-contained page, tested in a real headless browser (Debian's
chromium driven by Playwright, which never downloads a browser of its own here): it loads with
no console error and no network request, every plot is drawn, filtering works, and text from
outside stays text."""
from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import mlcontract
from conftest import run_cli
from reporting import CONTROL, context, fixture_result, small_contract

from mlcontract.report.formats import html

CHROMIUM = os.environ.get("MLC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
KINDS = {"histogram", "categories", "roc", "confusion", "residuals", "segments", "curve", "latency", "row"}


@pytest.fixture(scope="module")
def browser():
    missing = not Path(CHROMIUM).exists()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the HTML report tests need chromium at {CHROMIUM} and playwright (.ci/run installs them)")
        pytest.skip(f"no chromium at {CHROMIUM} or no playwright")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Page:
    """A report opened in the browser, with what it logged and requested."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.console, self.requests, self.dialogs = [], [], []
        self.page.on("console", lambda message: self.console.append((message.type, message.text)))
        self.page.on("pageerror", lambda error: self.console.append(("pageerror", str(error))))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def draw_everything(self) -> list[dict]:
        """Open every check, bring each plot into view (they are drawn as they appear) and say
        what each holds."""
        self.page.click("#expand-all")
        for box in self.page.query_selector_all(".plot[data-index]"):
            box.scroll_into_view_if_needed()
            self.page.wait_for_function("box => box.dataset.rendered === 'true'", arg=box)
        return self.page.evaluate("""() => Array.from(document.querySelectorAll('.plot[data-index]')).map(box => {
            const data = JSON.parse(document.getElementById('mlc-data').textContent);
            const canvases = Array.from(box.querySelectorAll('canvas')).map(c => {
                const chart = Chart.getChart(c);
                const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let inked = 0;
                for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
                const points = chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
                return {width: c.width, height: c.height, inked, points};
            });
            return {index: box.dataset.index, kind: data.plots[box.dataset.index].kind, canvases,
                    cells: box.querySelectorAll('td').length};
        })""")

    def shown(self) -> list[str]:
        return self.page.eval_on_selector_all("tr.check:not([hidden])", "rows => rows.map(r => r.dataset.index)")


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    html.write(fixture_result(), path, context())
    return path


@pytest.mark.slow  # a real browser: ~2 s each
def test_loads_offline_and_draws_every_plot_kind(browser, fixture_report):
    page = Page(browser, fixture_report)
    drawn = page.draw_everything()
    assert {plot["kind"] for plot in drawn} == KINDS
    for plot in drawn:
        if plot["kind"] in ("confusion", "row"):
            assert plot["cells"] > 0 and not plot["canvases"], plot
            continue
        assert plot["canvases"], plot
        for canvas in plot["canvases"]:
            assert canvas["width"] > 100 and canvas["height"] > 100 and canvas["points"] > 0, plot
            assert canvas["inked"] > 2000, plot  # something was drawn, not an empty frame
    assert [c for c in page.console if c[0] in ("error", "warning", "pageerror")] == []
    assert page.requests == [page.url]  # the page itself, and nothing else
    assert page.dialogs == []


@pytest.mark.slow  # a real browser: ~2 s each
def test_filtering_by_text_status_and_group(browser, fixture_report):
    page = Page(browser, fixture_report)
    result = fixture_result()
    assert len(page.shown()) == len(result.checks)
    assert page.page.text_content("#shown") == f"{len(result.checks)} of {len(result.checks)} checks shown"
    page.page.fill("#filter-text", "PSI")
    psi = [str(c.index) for c in result.checks if "psi" in (c.source + c.message).lower()]
    assert sorted(page.shown()) == sorted(psi)
    page.page.fill("#filter-text", "")
    page.page.uncheck("input[name=status][value=pass]")
    assert sorted(page.shown()) == sorted(str(c.index) for c in result.checks if c.status != "pass")
    page.page.select_option("#filter-group", "model")
    model_problems = [str(c.index) for c in result.checks if c.status != "pass" and c.kind == "model"]
    assert sorted(page.shown()) == sorted(model_problems)
    hidden_detail = page.page.eval_on_selector_all("tr.detail:not([hidden])", "rows => rows.map(r => r.dataset.for)")
    assert set(hidden_detail) <= set(page.shown())
    page.page.fill("#filter-text", "message that no check has")
    assert page.shown() == [] and page.page.text_content("#shown") == f"0 of {len(result.checks)} checks shown"


@pytest.mark.slow  # a real browser: ~2 s each
def test_a_row_opens_and_closes(browser, fixture_report):
    page = Page(browser, fixture_report)
    passing = next(c for c in fixture_result().checks if c.status == "pass")
    detail = f"tr.detail[data-for='{passing.index}']"
    assert page.page.is_hidden(detail)
    page.page.click(f"tr.check[data-index='{passing.index}']")
    assert page.page.is_visible(detail)
    page.page.click(f"tr.check[data-index='{passing.index}']")
    assert page.page.is_hidden(detail)


@pytest.mark.slow  # a real browser: ~2 s each
def test_outside_text_stays_text(browser, fixture_report):
    page = Page(browser, fixture_report)
    page.draw_everything()
    assert page.page.evaluate("document.querySelectorAll('script').length") == 3
    assert page.page.evaluate("document.querySelectorAll('img, iframe, a').length") == 0
    body = page.page.text_content("body")
    assert "<script>alert(1)</script>" in body and "&amp;" in body
    assert page.dialogs == [] and not CONTROL.search(body)
    # the row of the robustness case, built by the script from the data, keeps the text as text
    assert "<script>alert(1)</script>" in page.page.text_content(".plot table td:last-child")


def test_self_contained_with_a_policy_that_forbids_fetching():
    text = html.render(fixture_result(), context())
    assert not CONTROL.search(text.replace("\n", " ").replace("\t", " "))
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert policy.startswith("default-src 'none';")
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert len(scripts) == 2
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "sourceMappingURL" not in text
    assert not re.search(r"<[^>]+\s(src|href)=", text) and "url(" not in text  # nothing refers to another file
    data = re.search(r'<script type="application/json" id="mlc-data">(.*?)</script>', text, re.S).group(1)
    assert "<" not in data and ">" not in data  # no string can close the element


def test_a_100_feature_contract_makes_a_small_report(tmp_path):
    rng = np.random.default_rng(0)
    columns = {f"f{i:03d}": rng.normal(size=5000) for i in range(100)}
    train, prod = pl.DataFrame(columns), pl.DataFrame({k: v + 0.05 for k, v in columns.items()})
    result = mlcontract.compile("feature * psi < 0.2 vs prod\nfeature * null_rate <= 1%\nfeature * js < 0.1 vs prod\n",
                                datasets={"train": train, "prod": prod}).run()
    assert len(result.checks) == 300
    size = len(html.render(result, context()).encode("utf-8"))
    assert size < 2_000_000, size  # docs/reports.md states the measured size


@pytest.mark.slow  # a real browser: ~2 s each
def test_cli_html_for_a_real_run_in_the_browser(browser, tmp_path):
    contract = small_contract(tmp_path)
    out = tmp_path / "report.html"
    done = run_cli("check", str(contract), "--html", str(out), "--json", str(tmp_path / "r.json"))
    assert done.returncode == 1, done.stderr
    page = Page(browser, out)
    drawn = page.draw_everything()
    assert {plot["kind"] for plot in drawn} == {"histogram", "categories"}
    assert all(canvas["inked"] > 2000 for plot in drawn for canvas in plot["canvases"])
    assert [c for c in page.console if c[0] in ("error", "warning", "pageerror")] == []
    assert page.requests == [page.url]
    assert page.page.text_content(".verdict") == "FAIL"


def test_a_number_json_cannot_carry_is_written_null():
    result = fixture_result()
    plot = result.checks[1].details["plot"]
    plot["edges"] = [30.0, float("nan"), float("inf")]
    text = html.render(result, context())
    data = re.search(r'<script type="application/json" id="mlc-data">(.*?)</script>', text, re.S).group(1)
    import json

    assert json.loads(data)["plots"]["1"]["edges"] == [30.0, None, None]
