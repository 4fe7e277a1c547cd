"""The notebooks are thin drivers: clean, parameterized from the config, no definitions."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from analysis.config import load_config
from analysis.paths import REPO_ROOT
from analysis.pipeline import declared_parameters, discover_notebooks

NOTEBOOKS = discover_notebooks(REPO_ROOT / "notebooks")
RUNNER_PARAMETERS = {"simulated", "run_config_digest"}


def test_the_chain_is_the_declared_stages_in_order():
    from analysis.contracts import STAGES

    assert [p.stem for p in NOTEBOOKS] == list(STAGES.values())
    assert NOTEBOOKS[0].name == "01_pull.ipynb" and NOTEBOOKS[-1].name.endswith("_figures.ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_thin(path):
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, "commit notebooks without outputs"
        tree = ast.parse(c.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        assert not defs, "no def/class in notebooks: move code into the analysis package"
        assert not re.search(r"hf_[A-Za-z0-9]{20,}|HF_TOKEN\s*=", c.source), "no tokens in notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_are_typed_commented_and_known_to_the_config(path):
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    known = set(load_config().notebook_parameters()) | RUNNER_PARAMETERS
    for line in cell.source.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert re.match(r"^\w+\s*:\s*[^=]+=.+#\s*\S", line), f"parameter without type or comment: {line!r}"
    names = set(declared_parameters(path))
    assert names, "declares at least one parameter"
    # papermill must see every assignment, or the runner silently won't pass it (it cannot parse `str | None`
    # annotations nor lines with a second '='; write nullable types as "Optional[str]")
    assigned = {t.id for n in ast.parse(cell.source).body if isinstance(n, (ast.Assign, ast.AnnAssign))
                for t in ([n.target] if isinstance(n, ast.AnnAssign) else n.targets) if isinstance(t, ast.Name)}
    assert assigned == names, f"papermill cannot parse {sorted(assigned - names)}"
    assert names <= known, f"parameters unknown to config/study.yaml: {sorted(names - known)}"
    assert not {n for n in names if "token" in n.lower()}, "secrets come from the environment, not parameters"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_and_its_paired_script_agree(path):
    """Each notebook has a py:percent twin (jupytext.toml) with the same cells; `jupytext --sync` mends a drift."""
    import jupytext

    script = path.with_suffix(".py")
    assert script.is_file(), f"{script.name} is missing: run `jupytext --sync {path.relative_to(REPO_ROOT)}`"

    def cells(nb):
        return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]

    assert cells(jupytext.read(script)) == cells(nbformat.read(str(path), as_version=4)), \
        f"{path.name} and {script.name} differ: edit one, then run `jupytext --sync notebooks/*.ipynb`"


def test_no_stray_notebook_scripts():
    scripts = {p.stem for p in (REPO_ROOT / "notebooks").glob("*.py")}
    assert scripts == {p.stem for p in NOTEBOOKS}
