"""The configuration loader: valid files load, every kind of bad value is refused with a message naming the key."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from analysis.config import ConfigError, StudyConfig, load_config, parse_overrides
from analysis.paths import REPO_ROOT


def test_repository_config_loads_and_flattens():
    cfg = load_config(REPO_ROOT / "config" / "study.yaml")
    assert isinstance(cfg, StudyConfig)
    assert cfg.study.start == dt.date(2024, 7, 24)
    assert cfg.archive.repo_id == "hfmlsoc/hub_weekly_snapshots"
    p = cfg.notebook_parameters()
    assert p["crossover_k"] == 3 and p["study_start"] == "2024-07-24" and p["study_end"] is None
    assert p["figures_formats"] == ["pdf", "svg", "png"]


def test_config_is_frozen():
    cfg = load_config()
    with pytest.raises(Exception):
        cfg.crossover.k = 5  # type: ignore[misc]


def test_overrides_are_typed_and_change_the_digest():
    base = load_config()
    cfg = load_config(overrides=parse_overrides(["crossover.k=6", "study.end=2025-12-31", "live.top_n=null"]))
    assert cfg.crossover.k == 6
    assert cfg.study.end == dt.date(2025, 12, 31)
    assert cfg.live.top_n is None
    assert cfg.digest() != base.digest()


def _write(tmp_path, text):
    f = tmp_path / "study.yaml"
    f.write_text(text)
    return f


@pytest.mark.parametrize("text, words", [
    ("study:\n  start: 2024-02-30\n", ["study.start", "date"]),
    ("study:\n  start: 2025-01-01\n  end: 2024-01-01\n", ["study.start", "after", "study.end"]),
    ("study:\n  strat: 2024-01-01\n", ["unknown key 'strat'", "start, end, frequency"]),
    ("crossover:\n  k: three\n", ["crossover.k", "integer"]),
    ("crossover:\n  k: 0\n", ["crossover.k", "minimum"]),
    ("origin:\n  rule: country\n", ["origin.rule", "uploader, lineage, first_party"]),
    ("live:\n  enabled: maybe\n", ["live.enabled", "true or false"]),
    ("figures:\n  formats: [pdf, gif]\n", ["figures.formats", "gif"]),
    ("colours: {}\n", ["unknown section 'colours'"]),
    ("study: [1, 2]\n", ["study", "mapping"]),
    ("study:\n  start: [unclosed\n", ["not valid YAML"]),
])
def test_bad_configs_name_file_key_and_allowed(tmp_path, text, words):
    f = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(f)
    msg = str(e.value)
    assert str(f) in msg
    for w in words:
        assert w in msg


def test_missing_file_and_bad_override(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_overrides(["k=6"])
    with pytest.raises(ConfigError, match="unknown section 'nosuch'"):
        load_config(overrides={"nosuch.k": 1})
    # a bad value that came from an override says so (the file itself is fine)
    with pytest.raises(ConfigError, match=r"crossover\.k \(set by an override.*expected an integer"):
        load_config(overrides={"crossover.k": "three"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("crossover:\n  k: three\n")
    with pytest.raises(ConfigError, match="crossover.k: expected an integer") as e:
        load_config(bad)
    assert "override" not in str(e.value)


def test_cli_refuses_bad_config_before_running_anything(project_copy):
    tmp_path = project_copy
    r = subprocess.run([sys.executable, "-m", "analysis", "run", "--set", "study.start=2024-13-01"],
                       capture_output=True, text=True, env={"STUDY_ROOT": str(tmp_path), "PATH": ""},
                       cwd=REPO_ROOT, timeout=120)
    assert r.returncode == 2
    assert "study.start" in r.stderr and "nothing was run" in r.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("override, words", [
    ("crossover.alpha=nan", ["crossover.alpha", "not a finite number"]),
    ("trends.bandwidth=nan", ["trends.bandwidth", "not a finite number"]),
    ("trends.bandwidth=inf", ["trends.bandwidth", "not a finite number"]),
    ("pull.deadline=-inf", ["pull.deadline", "not a finite number"]),
    ("crossover.k=100000000000000000000", ["crossover.k", "above the maximum 52"]),
    ("crossover.k=1e20", ["crossover.k", "expected an integer"]),
    ("crossover.bootstrap_reps=1000000000000", ["crossover.bootstrap_reps", "above the maximum 100000"]),
    ("demo.weeks=1000000000", ["demo.weeks", "above the maximum 520"]),
    ("demo.models=100000000", ["demo.models", "above the maximum 5000000"]),
    ("crossover.seed=99999999999", ["crossover.seed", "above the maximum"]),
    ("figures.formats=", ["figures.formats", "the list is empty", "pdf, svg, png"]),
    ("figures.formats=pdf,pdf", ["figures.formats", "repeats a value"]),
    ("archive.repo_id=just-a-name", ["archive.repo_id", "not a dataset id owner/name"]),
    ("pull.read_timeout=0", ["pull.read_timeout", "below the minimum 0.1"]),
    ("pull.max_retry_after=1e9", ["pull.max_retry_after", "above the maximum 86400"]),
])
def test_absurd_values_are_refused_before_anything_runs(override, words):
    with pytest.raises(ConfigError) as e:
        load_config(overrides=parse_overrides([override]))
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_nan_in_the_file_is_refused_with_its_key(tmp_path):
    f = _write(tmp_path, "crossover:\n  alpha: .nan\ntrends:\n  bandwidth: 0.5\n")
    with pytest.raises(ConfigError, match=r"study\.yaml: crossover\.alpha: nan is not a finite number"):
        load_config(f)


def test_pull_limits_come_from_the_config():
    cfg = load_config(REPO_ROOT / "config" / "study.yaml")
    assert (cfg.pull.connect_timeout, cfg.pull.read_timeout, cfg.pull.deadline, cfg.pull.max_retry_after) == \
        (10.0, 60.0, 28800.0, 300.0)
    assert load_config(overrides={"pull.deadline": "null"}).pull.deadline is None
