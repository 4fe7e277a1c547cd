"""The DuckDB yardstick of the benchmark: the panel computed by plain SQL over the same raw files.

Run by :mod:`devtools.bench` in a child process (so that its memory is measured apart from the pass), as
``python -m devtools.duckdb_sql SPEC.json``, where the JSON file gives the snapshot files, the thin-read rule, the
registry table, DuckDB's limits and the output file. It prints one JSON line: wall seconds, peak resident memory of
the child, rows. DuckDB is an optional, bench-only dependency (``pip install -e ".[bench]"``).

The SQL is what a user would write instead of the project's pass, with the project's definitions:

1. metadata of each model: the newest anchor snapshot holding it (``arg_max(..., date)``); every snapshot is an
   anchor under ``metadata_every = 1`` (the plain "newest metadata" union); the models no anchor holds (orphans)
   take their row in the newest of the fewest weeks that hold them all, chosen greedily forward in time by a
   recursive CTE (the catalog's rule, :func:`analysis.catalog.plan_metadata`). On a store written by the thin pull
   (the spec's ``metadata_parts``: the pull has already applied the rule), each model's row in the newest metadata
   part holding it;
2. parents: the ``baseModels`` ids, else the ``base_model:`` tags, in order; the first one that is another known
   model (matched exactly, then case-insensitively to the smallest id), else the first listed;
3. lineage roots by a recursive CTE (self references and dangling parents end a chain; a cycle's root is its
   smallest id); the root's account is the namespace of a dangling parent when that account is registered;
4. regions from the registry table; a join with every week's ``id, downloads, downloadsAllTime`` and a
   ``GROUP BY`` over date, rule, scope and region, the all-time increments by a window over each model's weeks.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

#: Recursion bound of the lineage walk: chains are far shorter; cycle members reach it and are resolved apart.
WALK_STEPS = 64


def _sql_list(items) -> str:
    return "[" + ", ".join("'" + str(x).replace("'", "''") + "'" for x in items) + "]"


def panel_sql(spec: dict) -> list[str]:
    """The statements computing the panel into the table ``panel`` (see the module docstring)."""
    files = spec["files"]            # [[date, path, is_anchor], ...]
    anchors = [p for _, p, a in files if a]
    rules = spec["rules"]
    scopes = spec["scopes"]
    llm = ", ".join("'" + t + "'" for t in spec["llm_pipeline_tags"])
    regions = ", ".join(f"('{r}')" for r in spec["regions"])
    rule_values = ", ".join(f"('{r}')" for r in rules)
    scope_values = ", ".join(f"('{s}')" for s in scopes)
    stmts = [
        "CREATE TEMP TABLE files AS SELECT * FROM (VALUES " +
        ", ".join(f"('{p}', DATE '{d}', {str(bool(a)).lower()})" for d, p, a in files) +
        ") t(path, date, anchor)",
    ]
    parts = spec.get("metadata_parts")       # [[date, path], ...] of a thin store, or None
    if parts:
        stmts += [
            # 1. metadata: the newest part holding the model (the pull stored the rows the rule reads)
            "CREATE TEMP TABLE parts AS SELECT * FROM (VALUES " +
            ", ".join(f"('{p}', DATE '{d}')" for d, p in parts) + ") t(path, date)",
            f"""CREATE TEMP TABLE meta_rows AS
            SELECT m.id, arg_max({{'author': m.author, 'pipeline_tag': m.pipeline_tag, 'tags': m.tags,
                                   'baseModels': m.baseModels}}, f.date) AS r
            FROM read_parquet({_sql_list([p for _, p in parts])}, filename = true) m JOIN parts f ON f.path = m.filename
            GROUP BY m.id""",
            "CREATE TEMP TABLE meta AS SELECT id, unnest(r) FROM meta_rows",
        ]
        return stmts + _from_meta(files, llm, regions, rule_values, scope_values)
    stmts += [
        # 1. metadata: newest anchor holding the model
        # one struct per row, so that a null field in the newest row is kept (arg_max skips null arguments)
        f"""CREATE TEMP TABLE meta_rows AS
            SELECT m.id, arg_max({{'author': m.author, 'pipeline_tag': m.pipeline_tag, 'tags': m.tags,
                                   'baseModels': m.baseModels}}, f.date) AS r
            FROM read_parquet({_sql_list(anchors)}, filename = true) m JOIN files f ON f.path = m.filename
            GROUP BY m.id""",
    ]
    others = [p for _, p, a in files if not a]
    if others:  # models no anchor holds (orphans): the fewest weeks that hold them all, chosen greedily
        stmts += [
            f"""CREATE TEMP TABLE orphan_rows AS
            SELECT m.id, f.date, {{'author': m.author, 'pipeline_tag': m.pipeline_tag, 'tags': m.tags,
                                  'baseModels': m.baseModels}} AS r
            FROM read_parquet({_sql_list(others)}, filename = true) m JOIN files f ON f.path = m.filename
            WHERE m.id NOT IN (SELECT id FROM meta_rows)""",
            "CREATE TEMP TABLE orphan_last AS SELECT id, max(date) AS k FROM orphan_rows GROUP BY id",
            # going forward in time, the orphan last seen earliest that no chosen week holds has its last week
            # chosen; each orphan then takes its row in the newest chosen week holding it
            """CREATE TEMP TABLE orphan_weeks AS
            WITH RECURSIVE g(p, picks) AS (
                SELECT min(k), [min(k)] FROM orphan_last HAVING count(*) > 0
                UNION ALL
                SELECT n.k, list_append(n.picks, n.k) FROM (
                    SELECT (SELECT min(o.k) FROM orphan_last o
                            WHERE o.k > g.p AND NOT EXISTS (SELECT 1 FROM orphan_rows r
                                                            WHERE r.id = o.id AND list_contains(g.picks, r.date)))
                           AS k, g.picks FROM g) n
                WHERE n.k IS NOT NULL)
            SELECT DISTINCT unnest(picks) AS date FROM g""",
            """INSERT INTO meta_rows
            SELECT r.id, arg_max(r.r, r.date) FROM orphan_rows r WHERE r.date IN (SELECT date FROM orphan_weeks)
            GROUP BY r.id""",
        ]
    stmts.append("CREATE TEMP TABLE meta AS SELECT id, unnest(r) FROM meta_rows")
    return stmts + _from_meta(files, llm, regions, rule_values, scope_values)


def _from_meta(files, llm: str, regions: str, rule_values: str, scope_values: str) -> list[str]:
    """The statements from the table ``meta`` (each model's metadata) to the table ``panel``: steps 2 to 4."""
    return [
        # 2. parents
        """CREATE TEMP TABLE models AS
           SELECT id,
                  CASE WHEN strpos(id, '/') > 1 THEN split_part(id, '/', 1)
                       WHEN author <> '' THEN author END AS uploader,
                  pipeline_tag,
                  CASE WHEN len([x.id FOR x IN coalesce(baseModels.models, []) IF x.id <> '']) > 0
                       THEN [x.id FOR x IN baseModels.models IF x.id <> '']
                       ELSE [p FOR p IN [regexp_extract(t, '^base_model:(?:(?:finetune|quantized|adapter|merge):)?([^:]+)$', 1)
                                         FOR t IN coalesce(tags, [])] IF p <> ''] END AS listed
           FROM meta""",
        "CREATE TEMP TABLE lower_ids AS SELECT lower(id) AS lid, min(id) AS id FROM models GROUP BY lower(id)",
        """CREATE TEMP TABLE cands AS
           SELECT c.id, c.k, c.cand, coalesce(e.id, l.id) AS match
           FROM (SELECT id, unnest(listed) AS cand, unnest(range(len(listed))) AS k FROM models) c
           LEFT JOIN models e ON e.id = c.cand
           LEFT JOIN lower_ids l ON e.id IS NULL AND l.lid = lower(c.cand)""",
        """CREATE TEMP TABLE chosen AS
           SELECT id, coalesce(arg_min(cand, k) FILTER (WHERE match IS NOT NULL AND match <> id), arg_min(cand, k))
                      AS parent_listed,
                  coalesce(arg_min(match, k) FILTER (WHERE match IS NOT NULL AND match <> id), arg_min(match, k))
                      AS parent
           FROM cands GROUP BY id""",
        """CREATE TEMP TABLE edges AS
           SELECT m.id, m.uploader, m.pipeline_tag,
                  CASE WHEN c.parent IS NOT NULL AND c.parent <> m.id THEN c.parent END AS parent,
                  CASE WHEN c.parent_listed IS NOT NULL AND c.parent IS NULL THEN c.parent_listed END AS dangling
           FROM models m LEFT JOIN chosen c USING (id)""",
        # 3. roots
        f"""CREATE TEMP TABLE walk AS
            WITH RECURSIVE w(id, node, steps) AS (
                SELECT id, id, 0 FROM edges
                UNION ALL
                SELECT w.id, e.parent, w.steps + 1 FROM w JOIN edges e ON e.id = w.node
                WHERE e.parent IS NOT NULL AND w.steps < {WALK_STEPS})
            SELECT id, arg_max(node, steps) AS last, max(steps) AS steps,
                   min(node) FILTER (WHERE steps >= {WALK_STEPS // 2}) AS cycle_root
            FROM w GROUP BY id""",
        """CREATE TEMP TABLE roots AS
           SELECT e.id, e.uploader, e.pipeline_tag,
                  CASE WHEN w.steps >= """ + str(WALK_STEPS) + """ THEN w.cycle_root ELSE w.last END AS root
           FROM edges e JOIN walk w USING (id)""",
        """CREATE TEMP TABLE tagged AS
           SELECT r.id, r.pipeline_tag,
                  r.uploader,
                  CASE WHEN rt.dangling LIKE '%/%' AND reg_d.account IS NOT NULL THEN split_part(rt.dangling, '/', 1)
                       ELSE rt.uploader END AS root_author
           FROM roots r JOIN edges rt ON rt.id = r.root
           LEFT JOIN registry reg_d ON reg_d.account = lower(split_part(rt.dangling, '/', 1))""",
        f"""CREATE TEMP TABLE tags AS
            SELECT t.id,
                   CASE WHEN t.uploader IS NULL THEN 'UNKNOWN' ELSE coalesce(ru.region, 'UNAFFILIATED') END AS u,
                   CASE WHEN t.root_author IS NULL THEN 'UNKNOWN' ELSE coalesce(rr.region, 'UNAFFILIATED') END AS l,
                   CASE WHEN t.uploader IS NULL THEN 'UNKNOWN' ELSE coalesce(ru.alt_region, 'UNAFFILIATED') END AS ua,
                   CASE WHEN t.root_author IS NULL THEN 'UNKNOWN' ELSE coalesce(rr.alt_region, 'UNAFFILIATED') END
                       AS la,
                   coalesce(ru.is_org AND ru.region IN ('CN', 'US', 'EU', 'OTHER'), false) AS fp,
                   coalesce(ru.kind = 'redistributor', false) AS redis,
                   coalesce(t.pipeline_tag IN ({llm}), false) AS llm
            FROM tagged t
            LEFT JOIN registry ru ON ru.account = lower(t.uploader)
            LEFT JOIN registry rr ON rr.account = lower(t.root_author)""",
        # 4. the panel
        f"""CREATE TEMP TABLE weekly_groups AS
            SELECT f.date, coalesce(t.u, 'UNKNOWN') AS u, coalesce(t.l, 'UNKNOWN') AS l,
                   coalesce(t.ua, 'UNKNOWN') AS ua, coalesce(t.la, 'UNKNOWN') AS la, coalesce(t.fp, false) AS fp,
                   coalesce(t.redis, false) AS redis, coalesce(t.llm, false) AS llm,
                   sum(w.downloads)::DOUBLE AS downloads, count(*) AS n
            FROM read_parquet({_sql_list([p for _, p, _ in files])}, filename = true) w
            JOIN files f ON f.path = w.filename
            LEFT JOIN tags t ON t.id = w.id
            WHERE w.downloads > 0
            GROUP BY ALL""",
        """CREATE TEMP TABLE dates AS
           SELECT date, lag(date) OVER (ORDER BY date) AS prev FROM files""",
        f"""CREATE TEMP TABLE alltime AS
            SELECT f.date, w.id, w.downloadsAllTime AS a,
                   lag(w.downloadsAllTime) OVER (PARTITION BY w.id ORDER BY f.date) AS prev_a,
                   lag(f.date) OVER (PARTITION BY w.id ORDER BY f.date) AS prev_date
            FROM read_parquet({_sql_list([p for _, p, _ in files])}, filename = true) w
            JOIN files f ON f.path = w.filename
            WHERE w.downloadsAllTime IS NOT NULL""",
        """CREATE TEMP TABLE alltime_dates AS
           SELECT d.date FROM dates d
           WHERE d.date IN (SELECT DISTINCT date FROM alltime) AND d.prev IN (SELECT DISTINCT date FROM alltime)""",
        """CREATE TEMP TABLE alltime_groups AS
           SELECT a.date, t.u, t.l, t.ua, t.la, t.fp, t.redis, t.llm,
                  sum((a.a - a.prev_a) / ((a.date - d.prev) / 7.0)) AS downloads, count(*) AS n
           FROM alltime a JOIN dates d ON d.date = a.date AND a.prev_date = d.prev
           JOIN tags t ON t.id = a.id
           WHERE a.a > a.prev_a
           GROUP BY ALL""",
        f"""CREATE TEMP TABLE expanded AS
            WITH g AS (
                SELECT 'downloads_30d' AS measure, * FROM weekly_groups
                UNION ALL SELECT 'downloads_alltime_increment', * FROM alltime_groups),
            r AS (SELECT * FROM (VALUES {rule_values}) t(rule)),
            s AS (SELECT * FROM (VALUES {scope_values}) t(scope))
            SELECT g.date, g.measure, r.rule, s.scope,
                   CASE r.rule WHEN 'uploader' THEN g.u WHEN 'lineage' THEN g.l
                               WHEN 'uploader_alt' THEN g.ua WHEN 'lineage_alt' THEN g.la
                               WHEN 'first_party_alt' THEN CASE WHEN g.fp THEN g.ua END
                               ELSE CASE WHEN g.fp THEN g.u END END AS region,
                   sum(g.downloads) AS downloads, sum(g.n) AS n_models
            FROM g, r, s
            WHERE (s.scope = 'all' OR (s.scope = 'llm' AND g.llm) OR (s.scope = 'first_party_llm' AND g.llm AND g.fp)
                   OR (s.scope = 'no_redistributors' AND NOT g.redis))
              AND (r.rule NOT IN ('first_party', 'first_party_alt') OR g.fp)
            GROUP BY ALL""",
        f"""CREATE TEMP TABLE panel AS
            WITH grid AS (
                SELECT f.date, 'downloads_30d' AS measure FROM files f
                UNION ALL SELECT date, 'downloads_alltime_increment' FROM alltime_dates),
            full_grid AS (
                SELECT grid.*, r.rule, s.scope, g.region
                FROM grid, (VALUES {rule_values}) r(rule), (VALUES {scope_values}) s(scope),
                     (VALUES {regions}) g(region)),
            joined AS (
                SELECT fg.date, fg.measure, fg.rule, fg.scope, fg.region,
                       coalesce(e.downloads, 0.0) AS downloads, coalesce(e.n_models, 0) AS n_models
                FROM full_grid fg LEFT JOIN expanded e USING (date, measure, rule, scope, region))
            SELECT date, measure, rule, scope, region, downloads,
                   downloads / nullif(sum(downloads) OVER (PARTITION BY date, measure, rule, scope), 0) AS share,
                   n_models
            FROM joined""",
    ]


def run(spec: dict) -> dict:
    """Compute the panel with DuckDB as ``spec`` says, write it to ``spec["out"]``, return timings."""
    import duckdb
    import pandas as pd

    t0, c0 = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{spec['memory_limit']}'")
    con.execute(f"SET threads = {int(spec['threads'])}")
    Path(spec["temp_directory"]).mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{spec['temp_directory']}'")
    con.execute("SET preserve_insertion_order = false")
    registry = pd.DataFrame(spec["registry"], columns=["account", "kind", "region", "is_org", "alt_region"])
    con.register("registry_df", registry)
    con.execute("CREATE TEMP TABLE registry AS SELECT * FROM registry_df")
    steps = {}
    for sql in panel_sql(spec):
        t = time.perf_counter()
        con.execute(sql)
        name = sql.split("TABLE", 1)[1].split()[0] if "TABLE" in sql.split("(", 1)[0] else sql.split()[0].lower()
        steps[name] = round(time.perf_counter() - t, 2)
    panel = con.execute("SELECT * FROM panel ORDER BY date, measure, rule, scope, region").df()
    models = con.execute("SELECT count(*) FROM tags").fetchone()[0]
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    panel.to_parquet(spec["out"], index=False)
    con.close()
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3), "peak_rss_mb": round(kb / 1024.0 / (1024.0 if sys.platform == "darwin" else 1.0), 1),
            "panel_rows": len(panel), "models": int(models), "steps_seconds": steps,
            "duckdb": duckdb.__version__, "memory_limit": spec["memory_limit"], "threads": int(spec["threads"])}


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.duckdb_sql SPEC.json``: run and print one JSON line."""
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text())
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
