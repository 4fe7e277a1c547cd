"""The runner: order, parameters handed over, failure handling, reports."""

from __future__ import annotations

import json

import nbformat
import pytest

from analysis.config import load_config
from analysis.paths import Paths
from analysis.pipeline import PipelineError, discover_notebooks, run_chain, select


def _nb(path, params_src, body_src):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(params_src)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), p, nbformat.v4.new_code_cell(body_src)]
    nbformat.write(nb, str(path))


@pytest.fixture
def toy_project(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "study.yaml").write_text("crossover:\n  k: 5\n")
    out = tmp_path / "out"
    out.mkdir()
    _nb(tmp_path / "notebooks" / "01_first.ipynb",
        'crossover_k: int = 3  # k\nsimulated: bool = False  # demo?\n',
        f'import json; json.dump({{"k": crossover_k, "simulated": simulated, "names": sorted(n for n in dir() '
        f'if n.startswith(("crossover_", "study_")))}}, open(r"{out}/first.json", "w"))')
    _nb(tmp_path / "notebooks" / "02_breaks.ipynb", 'study_start: str = ""  # start\n',
        'x = 1\nraise RuntimeError("boom in the second notebook")')
    _nb(tmp_path / "notebooks" / "03_after.ipynb", 'simulated: bool = False  # demo?\n',
        f'open(r"{out}/third.txt", "w").write("ran")')
    return tmp_path


def test_discovery_and_selection(toy_project):
    nbs = discover_notebooks(toy_project / "notebooks")
    assert [p.name for p in nbs] == ["01_first.ipynb", "02_breaks.ipynb", "03_after.ipynb"]
    assert [p.name[:2] for p in select(nbs, only=["3"])] == ["03"]
    assert [p.name[:2] for p in select(nbs, start_from="02")] == ["02", "03"]
    with pytest.raises(PipelineError, match="no notebook numbered '07'"):
        select(nbs, only=["07"])


def test_duplicate_numbers_are_refused(toy_project):
    _nb(toy_project / "notebooks" / "01_other.ipynb", "a: int = 1\n", "pass")
    with pytest.raises(PipelineError, match="share the number 01"):
        discover_notebooks(toy_project / "notebooks")


def test_failing_cell_stops_the_chain_and_keeps_the_partial_notebook(toy_project):
    cfg = load_config(toy_project / "config" / "study.yaml")
    lines = []
    result = run_chain(cfg, Paths(toy_project), simulated=True, log=lines.append)
    assert not result.ok
    assert [r.status for r in result.runs] == ["ok", "failed"]  # 03 never ran
    assert not (toy_project / "out" / "third.txt").exists()
    # only declared parameters were handed over, with the config's values
    first = json.loads((toy_project / "out" / "first.json").read_text())
    assert first == {"k": 5, "simulated": True, "names": ["crossover_k"]}
    # the failing notebook and cell are named; the partial executed notebook is kept and rendered
    failed = result.runs[-1]
    assert "02_breaks" in failed.name and "cell 3 (`x = 1`)" in failed.message and "boom" in failed.message
    assert any("02_breaks.ipynb" in l and "FAILED" in l for l in lines)
    partial = nbformat.read(str(toy_project / "reports" / "02_breaks.ipynb"), as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in partial.cells for o in c.get("outputs", []))
    assert (toy_project / "reports" / "01_first.html").is_file()
    index = (toy_project / "reports" / "index.html").read_text()
    assert "01_first" in index and "failed" in index and "SIMULATED DATA" in index
    # the notebook after the failure is listed, as not run, naming the failure
    row = next(r for r in index.split("<tr>") if "03_after" in r)
    assert "not run" in row and "stopped when 02_breaks failed" in row and "href" not in row


def test_only_runs_the_selected_notebook(toy_project):
    cfg = load_config(toy_project / "config" / "study.yaml")
    result = run_chain(cfg, Paths(toy_project), only=["03"], log=lambda s: None)
    assert result.ok and [r.number for r in result.runs] == ["03"]
    assert (toy_project / "out" / "third.txt").read_text() == "ran"


def _index_rows(reports) -> dict:
    index = (reports / "index.html").read_text()
    return {name: next(r for r in index.split("<tr>") if f">{name}<" in r) for name in
            ("01_first", "02_breaks", "03_after")}


def test_index_links_the_whole_chain_after_a_partial_run(toy_project):
    import os
    import time

    from devtools import check_reports as checker

    cfg = load_config(toy_project / "config" / "study.yaml")
    paths = Paths(toy_project)
    run_chain(cfg, paths, log=lambda s: None)  # 01 ok, 02 fails, 03 not reached
    assert checker.index_link_problems(paths.reports_dir)  # 03 has no page yet: the check fails
    paths.results_dir.mkdir(parents=True)
    paths.crossover_file.write_text(json.dumps({"headline": {"method": "fieller", "estimate_date": "2025-07-16",
                                                             "lower_date": "2025-07-01", "upper_date": "2025-08-01",
                                                             "kind": "bounded"}}))
    old = time.time() - 3600
    os.utime(paths.crossover_file, (old, old))
    result = run_chain(cfg, paths, only=["03"], log=lambda s: None)
    assert result.ok
    rows = _index_rows(paths.reports_dir)
    assert "ok (earlier run)" in rows["01_first"] and "href='01_first.html'" in rows["01_first"]
    assert "failed (earlier run)" in rows["02_breaks"] and "href='02_breaks.html'" in rows["02_breaks"]
    assert "<td>ok</td>" in rows["03_after"] and "href='03_after.html'" in rows["03_after"]
    assert checker.index_link_problems(paths.reports_dir) == []
    index = (paths.reports_dir / "index.html").read_text()
    assert "from crossover.json written before this run" in index  # an older headline says so


def test_only_on_a_fresh_project_lists_the_rest_as_not_run(toy_project):
    cfg = load_config(toy_project / "config" / "study.yaml")
    run_chain(cfg, Paths(toy_project), only=["01"], log=lambda s: None)
    rows = _index_rows(toy_project / "reports")
    assert "<td>ok</td>" in rows["01_first"]
    for name in ("02_breaks", "03_after"):
        assert "not run" in rows[name] and "href" not in rows[name]
