"""pyproject.toml and environment.yml list the same direct dependencies (with the same lower bounds)."""

from __future__ import annotations

import re
import tomllib

import yaml

from analysis.paths import REPO_ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return _norm(m.group(1)), m.group(2).replace(" ", "")


def test_pyproject_and_environment_agree():
    py = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = dict(_split(s) for s in py["dependencies"] + py["optional-dependencies"]["test"])
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    conda_deps = dict(_split(s) for s in env["dependencies"] if isinstance(s, str))
    conda_deps.pop("python")
    conda_deps.pop("pip")
    assert pip_deps == conda_deps
    for must in ("jupyterlab", "pandas", "matplotlib", "seaborn", "statsmodels", "papermill", "huggingface-hub",
                 "pyarrow"):
        assert must in pip_deps


def test_environment_installs_the_package_itself():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section


#: Declared dependencies that no module imports, and why they are needed anyway.
NOT_IMPORTED = {
    "jupyterlab": "the interface readers open the notebooks in",
    "ipykernel": "the kernel papermill runs the notebooks on",
}


def _imported_distributions(files) -> set[str]:
    import ast
    import importlib.metadata as md
    import sys

    dists = md.packages_distributions()
    out = set()
    for f in files:
        source = f.read_text()
        if f.suffix == ".ipynb":
            import nbformat

            source = "\n".join(c.source for c in nbformat.reads(source, as_version=4).cells if c.cell_type == "code")
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                top = name.split(".")[0]
                local = (REPO_ROOT / "tests" / f"{top}.py").is_file()  # a test module shared by other tests
                if top in sys.stdlib_module_names or top in ("analysis", "devtools") or local:
                    continue
                assert top in dists, f"{f}: imports {top!r}, which no installed distribution provides"
                out.update(_norm(d) for d in dists[top])
    return out


def test_declared_dependencies_are_the_imported_ones():
    py = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_split(s)[0] for s in py["dependencies"]}
    test_extra = {_split(s)[0] for s in py["optional-dependencies"]["test"]}
    bench_extra = {_split(s)[0] for s in py["optional-dependencies"].get("bench", [])}
    # the benchmark's optional yardstick (devtools/duckdb_sql.py) may import the bench extra; nothing else may
    bench_tools = [REPO_ROOT / "devtools" / "duckdb_sql.py"]
    lib = [f for f in (REPO_ROOT / "analysis").rglob("*.py")] + \
        [f for f in (REPO_ROOT / "devtools").rglob("*.py") if f not in bench_tools] + \
        list((REPO_ROOT / "notebooks").glob("*.ipynb"))
    used = _imported_distributions(lib)
    used_by_bench = _imported_distributions(bench_tools)
    assert used_by_bench <= runtime | bench_extra, \
        f"the bench yardstick imports undeclared packages: {sorted(used_by_bench - runtime - bench_extra)}"
    assert bench_extra <= test_extra, "the test extra must install the bench extra (a test runs the yardstick)"
    used_by_tests = _imported_distributions(list((REPO_ROOT / "tests").rglob("*.py")))
    assert used <= runtime, f"imported but not declared in [project] dependencies: {sorted(used - runtime)}"
    unused = runtime - used - {_norm(n) for n in NOT_IMPORTED}
    assert not unused, f"declared but never imported (drop them or say why in NOT_IMPORTED): {sorted(unused)}"
    assert used_by_tests <= runtime | test_extra, \
        f"the tests import undeclared packages: {sorted(used_by_tests - runtime - test_extra)}"
    assert not (test_extra & used), f"the library imports test-only packages: {sorted(test_extra & used)}"
