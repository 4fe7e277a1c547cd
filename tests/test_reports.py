"""Rendered reports: HTML readable without Jupyter, the index page, and the headless-Chromium figure check."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import nbformat
import pytest

from analysis.reports import (MAX_TEXT_LINES, ReportEntry, earlier_entry, headings, headline_text, render_html,
                              truncate_outputs, write_index)

ROOT = Path(__file__).resolve().parent.parent
# a valid 2x2 red PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==")


from devtools import check_reports  # noqa: E402


def _executed_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 06 · Figures\n\nIntro.\n\n```\n# not a heading\n```"),
                nbformat.v4.new_code_cell("print('x')"),
                nbformat.v4.new_markdown_cell("## The figures"),
                nbformat.v4.new_code_cell("show()")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                  text="".join(f"line {i}\n" for i in range(500)))]
    nb.cells[3].outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(PNG).decode(),
                                                     "text/plain": "<IPython.core.display.Image object>"}),
        nbformat.v4.new_output("display_data", data={"text/html": "<table>" + "<tr><td>1</td></tr>" * 20000 +
                                                     "</table>", "text/plain": "big table"})]
    nbformat.write(nb, str(path))
    return path


def test_render_html_is_readable_without_jupyter(tmp_path):
    out = render_html(_executed_notebook(tmp_path / "06_figures.ipynb"), tmp_path / "06_figures.html",
                      simulated=True)
    page = out.read_text()
    assert "<title>06 · Figures</title>" in page
    assert "href='#sec-0'" in page and "href='#sec-1'" in page and 'id="sec-1"' in page
    assert "not a heading" not in page.split("study-toc", 1)[1].split("</nav>", 1)[0]
    assert "SIMULATED DATA" in page.split("<body", 1)[1][:600]
    assert ".jp-CodeCell .jp-Cell-inputWrapper{display:none}" in page  # code hidden by default
    assert "show / hide code" in page
    assert "lines not shown" in page and "line 499" in page and "line 200" not in page
    assert "HTML output of" in page and page.count("<tr><td>1</td></tr>") == 0
    assert "data:image/png;base64," in page


def test_real_run_has_no_banner(tmp_path):
    out = render_html(_executed_notebook(tmp_path / "03_panel.ipynb"), tmp_path / "03_panel.html")
    assert "study-banner" not in out.read_text().split("<body", 1)[1]


def test_truncation_keeps_short_outputs():
    nb = nbformat.v4.new_notebook()
    c = nbformat.v4.new_code_cell("")
    c.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n" * (MAX_TEXT_LINES - 1))]
    nb.cells = [c]
    assert truncate_outputs(nb).cells[0].outputs[0]["text"] == "a\n" * (MAX_TEXT_LINES - 1)
    assert headings(nb) == []


def _figures_json(root: Path, names: list[str]) -> None:
    fig = root / "figures"
    fig.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, n in enumerate(names, 1):
        entries.append({"name": n, "number": i, "title": f"T{i}", "caption": f"SIMULATED DATA: caption {i}",
                        "citation": f"Figure {i}", "files": {"png": {"path": f"figures/{n}.png", "sha256": "0"}}})
    (fig / "figures.json").write_text(json.dumps({"simulated": True, "figures": entries}))


def test_write_index_shows_run_config_range_headline_links_and_figures(tmp_path):
    _figures_json(tmp_path, ["a", "b"])
    reports = tmp_path / "reports"
    entries = [ReportEntry("05_crossover", "ok", 3.2, "05_crossover.html", "05_crossover.ipynb"),
               ReportEntry("06_figures", "failed", 1.0, "06_figures.html", "06_figures.ipynb", "cell 3 raised X")]
    page = write_index(reports, entries, config_source=str(tmp_path / "config" / "study.yaml"),
                       config_digest="d1g3st", simulated=True,
                       headline="SIMULATED DATA: estimated 2025-07-16", data_range="2024-07-24 to 2026-01-28",
                       config_params={"crossover_k": 3}).read_text()
    for s in ("Run date:", "config/study.yaml", "d1g3st", "2024-07-24 to 2026-01-28", "estimated 2025-07-16",
              "href='05_crossover.html'", "href='06_figures.ipynb'", "cell 3 raised X", "crossover_k",
              "src='figures/a.png'", "src='figures/b.png'", "SIMULATED DATA"):
        assert s in page, s
    assert str(tmp_path) not in page  # no absolute paths of the machine


def test_headline_text(tmp_path):
    assert headline_text(tmp_path / "missing.json") == ("", "")
    f = tmp_path / "crossover.json"
    base = {"simulated": False, "definition": {"measure": "downloads_30d", "rule": "lineage", "scope": "all"},
            "first_date": "2024-07-24", "last_date": "2026-01-28"}
    f.write_text(json.dumps(dict(base, headline={"method": "fieller", "estimate_date": "2025-07-16",
                                                 "lower_date": "2025-07-01", "upper_date": "2025-08-01",
                                                 "kind": "bounded"})))
    text, rng = headline_text(f)
    assert "2025-07-16" in text and "95% interval 2025-07-01 to 2025-08-01" in text
    assert rng == "2024-07-24 to 2026-01-28" and "SIMULATED" not in text
    f.write_text(json.dumps(dict(base, simulated=True, headline={"method": "fieller", "estimate_date": "2025-07-16",
                                                                 "lower_date": None, "upper_date": None,
                                                                 "kind": "two_rays"})))
    text, _ = headline_text(f)
    assert text.startswith("SIMULATED DATA") and "unbounded" in text and "None" not in text


def test_headline_level_comes_from_crossover_json(tmp_path):
    f = tmp_path / "crossover.json"
    f.write_text(json.dumps({"definition": {"measure": "downloads_30d", "rule": "lineage", "scope": "all"},
                             "headline": {"method": "fieller", "estimate_date": "2025-07-16",
                                          "lower_date": "2025-07-01", "upper_date": "2025-08-01", "kind": "bounded"},
                             "methods": {"fieller": {"alpha": 0.1}}}))  # where notebook 05 records it
    text, _ = headline_text(f)
    assert "90% interval 2025-07-01 to 2025-08-01" in text and "95%" not in text


def test_earlier_entry_reads_papermill_metadata(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"exception": True, "duration": 2.5, "end_time": "2026-01-02T03:04:05.6"}
    nbformat.write(nb, str(tmp_path / "04_trend_tests.ipynb"))
    (tmp_path / "04_trend_tests.html").write_text("<html></html>")
    e = earlier_entry(tmp_path, "04_trend_tests", note="not selected")
    assert (e.status, e.seconds, e.html_file, e.ipynb_file) == ("failed (earlier run)", 2.5, "04_trend_tests.html",
                                                                "04_trend_tests.ipynb")
    assert e.message.startswith("not selected") and "2026-01-02 03:04:05" in e.message
    (tmp_path / "05_crossover.log").write_text("died")
    gone = earlier_entry(tmp_path, "05_crossover")
    assert gone.status == "not run" and (gone.html_file, gone.ipynb_file, gone.log_file) == ("", "", "05_crossover.log")
    page = write_index(tmp_path, [e, gone], config_source="c", config_digest="d", simulated=False).read_text()
    assert "href='04_trend_tests.html'" in page and "href='05_crossover.html'" not in page  # no link to nothing
    assert "href='05_crossover.log'" in page and "not run" in page and "n/a" in page


# ---------------------------------------------------------------------------------------------- the checker
def test_index_must_link_every_notebook_of_the_chain(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for stem in ("01_pull", "02_tag_origin"):
        (tmp_path / "notebooks" / f"{stem}.ipynb").write_text("{}")
    reports = tmp_path / "reports"
    reports.mkdir()
    assert check_reports.chain_notebooks(reports) == ["01_pull", "02_tag_origin"]
    assert "index.html" in check_reports.index_link_problems(reports)[0]  # no index at all
    (reports / "02_tag_origin.html").write_text("<html></html>")
    write_index(reports, [ReportEntry("02_tag_origin", "ok", 1.0, "02_tag_origin.html", "02_tag_origin.ipynb")],
                config_source="c", config_digest="d", simulated=False)
    problems = check_reports.index_link_problems(reports)
    assert len(problems) == 1 and "no link to 01_pull.html" in problems[0]
    write_index(reports, [ReportEntry(n, "ok", 1.0, f"{n}.html", f"{n}.ipynb") for n in ("01_pull", "02_tag_origin")],
                config_source="c", config_digest="d", simulated=False)
    problems = check_reports.index_link_problems(reports)
    assert len(problems) == 1 and "01_pull.html, which does not exist" in problems[0]
    (reports / "01_pull.html").write_text("<html></html>")
    assert check_reports.index_link_problems(reports) == []
def test_read_dom_judges_images():
    ok = "<html><body data-check-done='yes'><img src='a.png' data-check-loaded='yes'></body></html>"
    assert check_reports.read_dom(ok, "p", expect_images=1).ok
    broken = "<html><body data-check-done='yes'><img src='b.png' data-check-loaded='no'></body></html>"
    c = check_reports.read_dom(broken, "p")
    assert not c.ok and c.broken == ["b.png"]
    assert not check_reports.read_dom(ok, "p", expect_images=2).ok  # a figure is missing from the page
    assert not check_reports.read_dom("<html><body><img src='a.png'></body></html>", "p").ok  # never loaded
    text_fig = "<html><body data-check-done='yes'><pre>&lt;Figure size 640x480 with 1 Axes&gt;</pre></body></html>"
    assert not check_reports.read_dom(text_fig, "p").ok


def test_instrument_adds_base_and_checker(tmp_path):
    page = check_reports.instrument("<html><head><title>x</title></head><body></body></html>", tmp_path)
    assert f'<base href="{tmp_path.resolve().as_uri()}/">' in page and "data-check-done" in page


CHROMIUM = check_reports.find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium)")


@needs_chromium
def test_chromium_flags_a_missing_figure(tmp_path):
    root = tmp_path
    _figures_json(root, ["good"])
    (root / "figures" / "good.png").write_bytes(PNG)
    reports = root / "reports"
    reports.mkdir()
    (reports / "06_figures.html").write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body>"
        "<img src='../figures/good.png'><img src='../figures/missing.png'></body></html>")
    bad = check_reports.check_page(reports / "06_figures.html", CHROMIUM, expect_images=1)
    assert not bad.ok and bad.images == 2 and bad.broken == ["../figures/missing.png"]
    (reports / "06_figures.html").rename(tmp_path / "bad.html")
    # an index that reaches out of the reports folder for its figure fails: shared alone, it would break
    (reports / "index.html").write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body><img src='../figures/good.png'></body></html>")
    assert check_reports.main([str(reports)]) == 1
    # the index the study writes copies the figures into reports/figures/ and passes
    write_index(reports, [], config_source="c", config_digest="d", simulated=True)
    assert (reports / "figures" / "good.png").read_bytes() == PNG
    assert check_reports.main([str(reports)]) == 0


def _project(tmp_path, outputs: list) -> Path:
    """A project with one notebook of the chain, executed with ``outputs`` and rendered by the study."""
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · A notebook"), nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, str(tmp_path / "notebooks" / "01_x.ipynb"))
    nb.cells[1].outputs = outputs
    reports = tmp_path / "reports"
    reports.mkdir()
    nbformat.write(nb, str(reports / "01_x.ipynb"))
    render_html(reports / "01_x.ipynb", reports / "01_x.html", simulated=True)
    write_index(reports, [ReportEntry("01_x", "ok", 1.0, "01_x.html", "01_x.ipynb")], config_source="c",
                config_digest="d", simulated=True)
    return reports


def _problems(reports: Path) -> str:
    lines: list = []
    check_reports.check_reports(reports, None, log=lines.append)  # the checks that need no browser
    return "\n".join(lines)


def test_rendered_pages_load_nothing_from_the_network(tmp_path):
    out = render_html(_executed_notebook(tmp_path / "06_figures.ipynb"), tmp_path / "06_figures.html")
    page = out.read_text()
    assert check_reports.external_loads(page) == []
    assert "cdnjs" not in page and "mathjax" not in page.lower() and "require.min.js" not in page
    assert "/*" not in "".join(re.findall(r"<style[^>]*>(.*?)</style>", page, re.S))  # comments citing web pages
    # the checker does find what the lab template used to load
    assert check_reports.external_loads('<script src="https://cdnjs.cloudflare.com/x.js"></script>') == [
        "https://cdnjs.cloudflare.com/x.js"]
    assert check_reports.external_loads("<style>@import 'https://fonts.example/a.css';</style>") == [
        "https://fonts.example/a.css"]
    assert check_reports.external_loads("<img src='http://127.0.0.1:8000/a.png'><a href='https://x.org'>x</a>") \
        == []  # a loopback host is this machine; a hyperlink is a citation


def test_a_clean_report_passes_the_checks(tmp_path):
    reports = _project(tmp_path, [nbformat.v4.new_output("stream", name="stdout", text="42 models\n")])
    text = _problems(reports)
    assert "FAIL" not in text, text


@pytest.mark.parametrize("output,problem", [
    (nbformat.v4.new_output("stream", name="stderr", text="/opt/env/tqdm/auto.py:21: TqdmWarning: IProgress not "
                                                          "found\n"), "standard error"),
    (nbformat.v4.new_output("stream", name="stdout", text="x.py:3: UserWarning: obj.round has no effect\n"),
     "Python warning"),
    (nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=["Traceback (most recent call "
                                                                                  "last)", "ValueError: bad"]),
     "raised ValueError"),
    (nbformat.v4.new_output("stream", name="stdout", text="see /tmp/ipykernel_1234/99.py\n"), "local path"),
    (nbformat.v4.new_output("display_data", data={"text/html": "<script src='https://cdn.example/x.js'></script>",
                                                  "text/plain": "x"}), "loads from the network"),
])
def test_the_checker_fails_on_warnings_tracebacks_paths_and_external_urls(tmp_path, output, problem):
    text = _problems(_project(tmp_path, [output]))
    assert "FAIL" in text and problem in text, text


def test_the_checker_finds_the_projects_own_path(tmp_path):
    reports = _project(tmp_path, [nbformat.v4.new_output("stream", name="stdout",
                                                         text=f"wrote {tmp_path}/data/x.parquet\n")])
    text = _problems(reports)
    assert "holds a local path" in text and "01_x.html" in text


def test_index_must_link_and_show_every_figure(tmp_path):
    _figures_json(tmp_path, ["a", "b"])
    for n in ("a", "b"):
        (tmp_path / "figures" / f"{n}.png").write_bytes(PNG)
    reports = tmp_path / "reports"
    write_index(reports, [], config_source="c", config_digest="d", simulated=True)
    assert check_reports.index_figure_problems(reports) == []
    page = (reports / "index.html").read_text()
    (reports / "index.html").write_text(page.replace("src='figures/b.png'", "src='figures/a.png'")
                                        .replace("href='figures/b.png'", "href='figures/a.png'"))
    problems = check_reports.index_figure_problems(reports)
    assert any("does not link figure 2 (b)" in p for p in problems)
    assert any("does not show figure 2" in p for p in problems)


def test_index_works_when_the_reports_folder_is_copied_alone(tmp_path):
    import shutil

    _figures_json(tmp_path, ["a"])
    (tmp_path / "figures" / "a.png").write_bytes(PNG)
    (tmp_path / "figures" / "values.tex").write_text("% values\n")
    write_index(tmp_path / "reports", [], config_source="c", config_digest="d", simulated=True)
    shared = tmp_path / "elsewhere" / "reports"
    shutil.copytree(tmp_path / "reports", shared)
    assert (shared / "figures" / "a.png").read_bytes() == PNG and (shared / "figures" / "values.tex").is_file()
    assert check_reports.index_figure_problems(shared) == []
    assert check_reports.expected_figures(shared) == 1  # read from the copy of figures.json


def test_index_shows_the_demo_truth_check(tmp_path):
    check = {"true_crossover_date": "2025-07-16", "true_definition": {"measure": "downloads_30d", "rule": "lineage",
                                                                     "scope": "all"},
             "estimate_date": "2025-07-14", "lower_date": "2025-07-04", "upper_date": "2025-07-24",
             "interval_kind": "bounded", "error_weeks": -0.29, "truth_inside_interval": True}
    page = write_index(tmp_path, [], config_source="c", config_digest="d", simulated=True,
                       truth_check=check).read_text()
    assert "2025-07-16" in page and "inside the interval" in page and "30-day downloads, lineage rule" in page
    miss = dict(check, truth_inside_interval=False)
    assert "OUTSIDE the interval" in write_index(tmp_path, [], config_source="c", config_digest="d", simulated=True,
                                                 truth_check=miss).read_text()
    assert "simulation's truth" not in write_index(tmp_path, [], config_source="c", config_digest="d",
                                                   simulated=False).read_text()


def test_runner_tidies_what_it_leaves(tmp_path):
    from analysis.reports import tidy_executed, tidy_log

    log = tmp_path / "01_x.log"
    log.write_text("[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All ...\n")
    assert tidy_log(log) is False and not log.exists()  # only the start-up notice: no log is kept
    log.write_text("[IPKernelApp] WARNING | Kernel is running over TCP without encryption.\nSegmentation fault\n")
    assert tidy_log(log) is True and log.read_text() == "Segmentation fault\n"
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": str(tmp_path / "notebooks" / "01_x.ipynb"),
                                "output_path": str(tmp_path / "reports" / "01_x.ipynb")}
    nbformat.write(nb, str(tmp_path / "01_x.ipynb"))
    tidy_executed(tmp_path / "01_x.ipynb", tmp_path)
    pm = nbformat.read(str(tmp_path / "01_x.ipynb"), as_version=4).metadata["papermill"]
    assert (pm["input_path"], pm["output_path"]) == ("notebooks/01_x.ipynb", "reports/01_x.ipynb")


def test_default_tree_is_the_studys_when_it_has_an_index_else_the_demos(tmp_path, monkeypatch):
    from analysis import paths as P

    monkeypatch.setenv("STUDY_ROOT", str(tmp_path))
    study, demo = P.Paths.default(simulated=False).reports_dir, P.Paths.default(simulated=True).reports_dir
    assert check_reports.default_reports() == demo
    study.mkdir(parents=True)
    (study / "index.html").write_text("<html></html>")
    assert check_reports.default_reports() == study
    assert check_reports.default_reports("demo") == demo and check_reports.default_reports("study") == study


def test_index_carries_the_lineage_warning_and_the_side_by_side_readings(tmp_path):
    from analysis.reports import coverage_warnings, headline_notes

    cov = tmp_path / "tagging_coverage.json"
    cov.write_text(json.dumps({"lineage_absent": True, "lineage_warning": "LINEAGE ABSENT: no model names a parent"}))
    assert coverage_warnings(cov) == ["LINEAGE ABSENT: no model names a parent"]
    cov.write_text(json.dumps({"lineage_absent": False, "lineage_warning": ""}))
    assert coverage_warnings(cov) == [] and coverage_warnings(tmp_path / "missing.json") == []
    cross = tmp_path / "crossover.json"
    cross.write_text(json.dumps({"headline": {"scopes_reading": "all: X; generative models: Y",
                                              "contested_reading": "read the other way: Z",
                                              "definition_spread": {"n_rows": 48, "earliest_date": "2025-05-01",
                                                                    "latest_date": "2025-12-01"},
                                              "cumulative": {"kind": "bounded", "reading": "passed on W"}}}))
    notes = headline_notes(cross)
    assert notes[0].startswith("Which models: all: X") and "read the other way: Z" in notes[1]
    assert "from 2025-05-01 to 2025-12-01" in notes[2]
    assert notes[3] == "Cumulative downloads: passed on W"
    page = write_index(tmp_path, [], config_source="c.yaml", config_digest="d", simulated=False, headline="H",
                       notes=notes, warnings=["LINEAGE ABSENT: no model names a parent"]).read_text()
    assert "LINEAGE ABSENT" in page and "role='alert'" in page and "generative models: Y" in page
