#!/usr/bin/env python
"""Check that the rendered reports show their figures, by loading every ``reports/*.html`` in headless Chromium.

For each page, a copy with a small checker script (and a ``<base>`` pointing at the reports folder, so relative
links still resolve) is opened with Debian's ``chromium`` in headless mode. After the page has loaded, the script
marks every ``<img>`` as loaded or not (``complete`` and ``naturalWidth > 0``); Chromium's ``--dump-dom`` output
is then read back. A page fails when

* any image did not load (a broken ``src``, a missing figure file, a corrupt embedded PNG),
* the checker did not run (the page could not be loaded),
* a figure was printed as text instead of drawn (``<Figure size ... with N Axes>``),
* it has fewer images than expected: the figures notebook's page and ``index.html`` must show every figure listed in
  ``figures/figures.json`` that has a PNG file;
* it is ``index.html`` and lacks a link to the rendered page of a notebook of the chain
  (``notebooks/NN_name.ipynb`` next to the reports folder), or links one that does not exist. This part needs no
  browser (:func:`index_link_problems`); a chain without ``index.html`` fails as well.

Usage::

    python -m devtools.check_reports [REPORTS_DIR] [--screenshots DIR] [--chromium PATH]

Exits 0 when every page passes, 1 when a page fails, 2 when Chromium or the reports are missing.
CI needs the Debian packages ``chromium`` (and ``fonts-dejavu-core`` for legible screenshots).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--allow-file-access-from-files", "--virtual-time-budget=15000")

CHECKER = """<script>
window.addEventListener('load', function () {
  var imgs = document.getElementsByTagName('img');
  var bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    var ok = imgs[i].complete && imgs[i].naturalWidth > 0;
    imgs[i].setAttribute('data-check-loaded', ok ? 'yes' : 'no');
    if (!ok) { bad++; }
  }
  document.body.setAttribute('data-check-done', 'yes');
  document.body.setAttribute('data-check-images', String(imgs.length));
  document.body.setAttribute('data-check-broken', String(bad));
});
</script>"""

FIGURE_REPR = "&lt;Figure size"
#: Notebooks of the chain, as :mod:`analysis.pipeline` finds them.
NOTEBOOK_RE = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")


@dataclass
class PageCheck:
    """Outcome of one page."""

    page: str
    images: int = 0
    broken: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _DomReader(HTMLParser):
    """Collect the checker's marks from a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict] = []
        self.body: dict = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        elif tag == "body":
            self.body = a


class _LinkReader(HTMLParser):
    """Collect the ``href`` of every ``<a>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def chain_notebooks(reports_dir: Path) -> list[str]:
    """Stems of the chain's notebooks (``notebooks/NN_name.ipynb`` beside the reports folder), in order."""
    nb_dir = Path(reports_dir).resolve().parent / "notebooks"
    if not nb_dir.is_dir():
        return []
    return sorted(p.stem for p in nb_dir.glob("*.ipynb") if NOTEBOOK_RE.match(p.name))


def index_link_problems(reports_dir: Path, chain: list[str] | None = None) -> list[str]:
    """Problems of ``index.html``'s links to the chain: a notebook of the chain without a link to its rendered
    page ``NN_name.html``, or a link to such a page that does not exist ([] when all is well)."""
    reports_dir = Path(reports_dir)
    chain = chain_notebooks(reports_dir) if chain is None else chain
    if not chain:
        return []
    index = reports_dir / "index.html"
    if not index.is_file():
        return [f"{index} not found: the reports have no index linking the chain's {len(chain)} notebook(s)"]
    reader = _LinkReader()
    reader.feed(index.read_text(encoding="utf-8"))
    hrefs = set(reader.hrefs)
    problems = []
    for stem in chain:
        page = f"{stem}.html"
        if page not in hrefs:
            problems.append(f"index.html has no link to {page} (notebook {stem} of the chain; run it, e.g. "
                            f"python -m analysis run --only {stem[:2]})")
        elif not (reports_dir / page).is_file():
            problems.append(f"index.html links {page}, which does not exist")
    return problems


def find_chromium(explicit: str | None = None) -> str | None:
    """Path of a Chromium binary (the given one, else the first of :data:`CHROMIUM_NAMES` on PATH)."""
    if explicit:
        return explicit if Path(explicit).exists() or shutil.which(explicit) else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def instrument(page_html: str, base_dir: Path) -> str:
    """The page with a ``<base>`` at ``base_dir`` and the checker script injected into its head."""
    head = f'<base href="{base_dir.resolve().as_uri()}/">' + CHECKER
    low = page_html.lower()
    i = low.find("<head")
    if i >= 0:
        j = page_html.find(">", i) + 1
        return page_html[:j] + head + page_html[j:]
    return head + page_html


def expected_figures(reports_dir: Path) -> int:
    """Number of figures with a PNG listed in ``figures/figures.json`` next to the reports folder (0 if none)."""
    fj = reports_dir.resolve().parent / "figures" / "figures.json"
    if not fj.is_file():
        return 0
    try:
        doc = json.loads(fj.read_text(encoding="utf-8"))
    except ValueError:
        return 0
    return sum(1 for f in doc.get("figures", []) if "png" in f.get("files", {}))


def read_dom(dom: str, page: str, expect_images: int = 0) -> PageCheck:
    """Judge a dumped DOM (see the module docstring)."""
    check = PageCheck(page)
    reader = _DomReader()
    reader.feed(dom)
    check.images = len(reader.images)
    if reader.body.get("data-check-done") != "yes":
        check.problems.append("the page did not finish loading in Chromium (checker script did not run)")
    for img in reader.images:
        if img.get("data-check-loaded") != "yes":
            src = img.get("src", "")
            check.broken.append(src[:80] + ("..." if len(src) > 80 else ""))
    if check.broken:
        check.problems.append(f"{len(check.broken)} image(s) did not load: {', '.join(check.broken[:5])}")
    if FIGURE_REPR in dom:
        check.problems.append("a figure was printed as text (<Figure size ...>) instead of drawn")
    if expect_images and check.images - len(check.broken) < expect_images:
        check.problems.append(f"shows {check.images - len(check.broken)} image(s); expected at least "
                              f"{expect_images} (one per figure in figures/figures.json)")
    return check


def check_page(page: Path, chromium: str, *, expect_images: int = 0, screenshot: Path | None = None,
               timeout: float = 120.0) -> PageCheck:
    """Load one HTML page in headless Chromium and judge it."""
    with tempfile.TemporaryDirectory(prefix="check-reports-") as tmp:
        tmp = Path(tmp)
        copy = tmp / page.name
        copy.write_text(instrument(page.read_text(encoding="utf-8"), page.parent), encoding="utf-8")
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", "--dump-dom", copy.as_uri()]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            c = PageCheck(page.name)
            c.problems.append(f"Chromium did not finish within {timeout:.0f} s")
            return c
        check = read_dom(res.stdout, page.name, expect_images)
        if res.returncode != 0 and not res.stdout:
            check.problems.append(f"Chromium exited with status {res.returncode}: {res.stderr.strip()[-300:]}")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile2'}",
                            "--window-size=1280,2400", "--hide-scrollbars", f"--screenshot={screenshot.resolve()}",
                            copy.as_uri()], capture_output=True, timeout=timeout)
            if not screenshot.is_file():
                check.problems.append(f"screenshot {screenshot} was not written")
    return check


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports_dir", nargs="?", default=None, help="folder of rendered reports (default: reports/)")
    p.add_argument("--screenshots", type=Path, default=None, help="also write a PNG screenshot of each page here")
    p.add_argument("--chromium", default=None, help="Chromium binary (default: chromium on PATH)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per page")
    args = p.parse_args(argv)
    if args.reports_dir is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from analysis.paths import Paths

        reports = Paths.default().reports_dir
    else:
        reports = Path(args.reports_dir)
    pages = sorted(reports.glob("*.html"))
    if not pages:
        print(f"{reports}: no *.html reports found; run `python -m analysis run` (or the demo) first", file=sys.stderr)
        return 2
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("Chromium not found; install Debian's package with `apt-get install -y chromium` or pass --chromium",
              file=sys.stderr)
        return 2
    n_fig = expected_figures(reports)
    failed = 0
    no_index = [] if (reports / "index.html").is_file() else index_link_problems(reports)
    for prob in no_index:
        print(f"FAIL {prob}")
    for page in pages:
        expect = n_fig if page.name == "index.html" or page.name.endswith("_figures.html") else 0
        shot = args.screenshots / (page.stem + ".png") if args.screenshots else None
        c = check_page(page, chromium, expect_images=expect, screenshot=shot, timeout=args.timeout)
        if page.name == "index.html":
            c.problems += index_link_problems(reports)
        status = "ok  " if c.ok else "FAIL"
        print(f"{status} {page.name}: {c.images} image(s), {len(c.broken)} broken")
        for prob in c.problems:
            print(f"     - {prob}")
        failed += not c.ok
    print(f"{len(pages) - failed}/{len(pages)} report page(s) passed")
    return 1 if failed or no_index else 0


if __name__ == "__main__":
    sys.exit(main())
