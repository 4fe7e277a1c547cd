"""The command line: ``python -m analysis <command>``.

Commands
--------
run       run the notebooks in order (the real study against the Hub, or ``--demo``)
demo      the offline demo: simulate a Hub (if absent), serve it locally, run the chain on it
simulate  write a simulated Hub with a known crossover
pull      pull raw snapshots (archive and live) into the immutable raw store
config    validate the configuration and print the parameters notebooks receive

Tools for developing the study (the Hub stand-in, benchmarks, validation studies) are in :mod:`devtools`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

from .config import ConfigError, cli_date, load_config, parse_overrides
from .paths import Paths


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="study configuration (default config/study.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one parameter for this run, e.g. --set crossover.k=6 (repeatable)")
    p.add_argument("--from", dest="start_from", metavar="NN", help="start the chain at notebook NN")
    p.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks")


def _load(args, *, simulated: bool | None = None) -> "object":
    """The validated configuration; for a run of the chain (``simulated`` given) its window is checked too."""
    from .config import check_window

    cfg = load_config(args.config, parse_overrides(args.overrides))
    if simulated is not None:
        check_window(cfg, cfg.source, simulated=simulated)
    return cfg


def _cmd_config(args) -> int:
    cfg = _load(args, simulated=False)
    print(f"# {cfg.source} is valid (digest {cfg.digest()})")
    print(json.dumps(cfg.notebook_parameters(), indent=1))
    return 0


def _cmd_run(args) -> int:
    from .pipeline import run_chain

    cfg = _load(args, simulated=bool(args.demo))
    if args.demo:
        return _run_demo(cfg, args)
    paths = Paths.default(simulated=False)
    needs_hub = args.only is None and (args.start_from is None or args.start_from <= "01") or \
        (args.only is not None and "01" in [n.zfill(2) for n in args.only])
    if needs_hub:
        from .hub.pull import HubUnreachableError, check_hub_reachable

        try:
            check_hub_reachable(repo_id=cfg.archive.repo_id)
        except HubUnreachableError as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
    print(f"study: running the chain on real Hub data ({cfg.source}, digest {cfg.digest()})", flush=True)
    result = run_chain(cfg, paths, only=args.only, start_from=args.start_from, simulated=False)
    print(f"report: {_shown(paths.reports_dir / 'index.html')}   figures: {_shown(paths.figures_dir)}/")
    return 0 if result.ok else 1


def _demo_hub(cfg, paths: Paths, log=print):
    """The simulated Hub of the demo, created if absent or if its parameters no longer match the config."""
    from .simulate import SimulationParams, load_truth, simulate_hub
    from .simulate.hub import HUB_GENERATOR_VERSION, SIMULATED_MARKER

    d = cfg.demo
    params = SimulationParams(models=d.models, weeks=d.weeks, start=d.start, crossover=d.crossover, seed=d.seed,
                              repo_id=cfg.archive.repo_id)
    hub = paths.sim_hub_dir
    if (hub / "truth.json").is_file():
        truth = load_truth(hub)
        old = truth["parameters"]
        want = json.loads(json.dumps({k: (v.isoformat() if isinstance(v, dt.date) else v)
                                      for k, v in params.__dict__.items()}))
        marked = (hub / "datasets" / params.repo_id / SIMULATED_MARKER).is_file()
        current = truth.get("generator_version") == HUB_GENERATOR_VERSION
        if old == want and marked and current:
            return hub
        why = ("the simulation parameters changed" if old != want else
               f"the simulated Hub predates its {SIMULATED_MARKER}" if not marked else
               "the simulated Hub was made by another version of the simulator")
        log(f"demo: {why}; rebuilding the simulated Hub and its (simulated) raw pulls")
        for sub in (hub, paths.raw_dir):  # both are under data/demo/: simulated and regenerable
            if sub.exists() and paths.demo_dir in sub.parents:
                shutil.rmtree(sub)
    log(f"demo: simulating a Hub of {d.models} models x {d.weeks} weeks (seed {d.seed}) in {hub}")
    simulate_hub(hub, params)
    return hub


def demo_truth_check(paths: Paths, ok: bool = True) -> dict | None:
    """Compare the demo's estimated crossover with the simulation's truth; written next to the results.

    The runner calls it before it writes the index, which shows the result. After a failed run (``ok`` False) no
    comparison is made and an earlier run's file is removed, so that the index never shows a stale check.
    """
    from .simulate.hub import load_truth, truth_check

    if not ok:
        paths.demo_truth_check_file.unlink(missing_ok=True)
        return None
    if not paths.crossover_file.is_file():
        return None
    out = truth_check(json.loads(paths.crossover_file.read_text()), load_truth(paths.sim_hub_dir))
    paths.results_dir.mkdir(parents=True, exist_ok=True)
    paths.demo_truth_check_file.write_text(json.dumps(out, indent=1) + "\n")
    return out


def _run_demo(cfg, args) -> int:
    from devtools.fakehub import FakeHub
    from .pipeline import run_chain

    paths = Paths.default(simulated=True)
    hub = _demo_hub(cfg, paths)
    with FakeHub(hub) as server:
        print(f"demo: local Hub stand-in serving {hub} at {server.endpoint} (SIMULATED DATA)", flush=True)
        result = run_chain(cfg, paths, only=args.only, start_from=args.start_from, simulated=True,
                           env={"HF_ENDPOINT": server.endpoint, "HF_HUB_DISABLE_TELEMETRY": "1"},
                           before_index=lambda r: demo_truth_check(paths, r.ok))
    check = result.before_index
    if check:
        print(f"demo: estimated crossover {check.get('estimate_date')} "
              f"[{check.get('lower_date')}, {check.get('upper_date')}] vs true {check['true_crossover_date']} "
              f"(error {check.get('error_weeks')} weeks; truth inside interval: {check['truth_inside_interval']})")
    print(f"demo report: {_shown(paths.reports_dir / 'index.html')}   figures: {_shown(paths.figures_dir)}/   "
          "(SIMULATED DATA; the real study's outputs were not touched)")
    return 0 if result.ok else 1


def _shown(path: Path) -> str:
    """A path as the user should type it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cmd_demo(args) -> int:
    args.demo = True
    return _cmd_run(args)


def _cmd_simulate(args) -> int:
    from .simulate import SimulationParams, simulate_hub

    kw = {k: getattr(args, k) for k in ("models", "weeks", "start", "crossover", "seed") if getattr(args, k) is not None}
    try:
        params = SimulationParams(**kw)
        hub = simulate_hub(args.out, params, progress=True)
    except (ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"simulated Hub written to {hub.root}: {len(hub.snapshot_dates)} snapshots, "
          f"true crossover {hub.crossover} (see truth.json)")
    return 0


def _delegate(module: str):
    """Commands implemented in other modules expose ``add_arguments(parser)`` and ``run(args)``."""
    import importlib

    return importlib.import_module(module)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Chinese vs US open models on the Hugging Face Hub: the study, its offline demo and its tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the notebooks in order (real Hub; --demo for the simulated one)")
    _add_run_args(p)
    p.add_argument("--demo", action="store_true", help="offline demo on a simulated Hub (same as `demo`)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("demo", help="offline demo: simulated Hub + local stand-in + the whole chain")
    _add_run_args(p)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("config", help="validate the configuration and print the notebook parameters")
    _add_run_args(p)
    p.set_defaults(func=_cmd_config)

    p = sub.add_parser("simulate", help="write a simulated Hub with a known crossover")
    p.add_argument("--out", type=Path, required=True, help="destination folder (must not hold a simulated Hub)")
    p.add_argument("--models", type=int, help="number of model repos (default 20000)")
    p.add_argument("--weeks", type=int, help="number of weekly snapshots (default 80)")
    p.add_argument("--start", type=cli_date, help="first snapshot date YYYY-MM-DD (default 2024-07-24)")
    p.add_argument("--crossover", type=cli_date, help="true crossover date YYYY-MM-DD (default 2025-07-16)")
    p.add_argument("--seed", type=int, help="random seed")
    p.set_defaults(func=_cmd_simulate)

    for name, module, help_ in (("pull", "analysis.hub.pull", "pull raw snapshots into the immutable raw store"),):
        try:
            mod = _delegate(module)
        except ImportError as e:
            p = sub.add_parser(name, help=f"{help_} (unavailable: {e})")
            p.set_defaults(func=lambda a, e=e: (print(f"error: {e}", file=sys.stderr), 2)[1])
            continue
        p = sub.add_parser(name, help=help_)
        mod.add_arguments(p)
        p.set_defaults(func=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        print("nothing was run; fix the configuration and try again", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; raw files already written are complete (writes are atomic)", file=sys.stderr)
        return 130
