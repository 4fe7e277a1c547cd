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
