#!/usr/bin/env python
"""Check the rendered reports as a reader gets them: every figure shown, nothing broken, nothing leaked.

Which reports: the real study's (``reports/``) when it has an ``index.html``, else the demo's
(``data/demo/reports/``); ``--study`` or ``--demo`` choose, a folder given on the command line wins. The tree
checked is printed first.

Every ``*.html`` page is loaded in headless Chromium (a copy with a checker script and a ``<base>`` at the reports
folder); after the page has loaded, the script marks every ``<img>`` as loaded or not and lists the resources the
page fetched, and Chromium's ``--dump-dom`` output is read back. A report fails when

* an image did not load (a broken ``src``, a missing figure file, a corrupt embedded PNG), or the page did not
  load, or a figure was printed as text (``<Figure size ... with N Axes>``);
* it loads anything from the network (an external URL): a ``script``, ``link``, ``img``, ``iframe``, ``source``,
  ``video``, ``audio``, ``embed`` or ``object`` pointing at ``http(s)://`` or ``//`` other than a loopback host,
  a CSS ``url(...)`` or ``@import`` of one, a JavaScript ``import(...)`` of one, or a fetch Chromium recorded.
  Hyperlinks (``<a href>``) and URLs in the text are citations a reader may follow; they are counted, not failed;
* it shows a Python warning (``SomethingWarning:``), a traceback, or output written to standard error (an
  executed notebook's ``stderr`` stream or ``error`` output);
* it holds a local path of the machine that made it: the project's own absolute path, the home or temporary
  folder, the Python environment, ``site-packages``, a kernel's temporary file (``ipykernel_NNN``) or a
  ``file://`` URL;
* it is ``index.html`` and lacks a link to the rendered page of a notebook of the chain, links one that does not
  exist, does not link (and show) every figure of ``figures/figures.json``, or links a file outside the reports
  folder (then the folder does not work when shared alone).

The same warning, traceback and path checks apply to the executed notebooks (``*.ipynb``) and the kernel logs
(``*.log``) of the folder, and the path check to every other text file in it.

Usage::

    python -m devtools.check_reports [REPORTS_DIR] [--study | --demo] [--screenshots DIR] [--chromium PATH]

Exits 0 when every page passes, 1 when one fails, 2 when Chromium or the reports are missing.
CI needs the Debian packages ``chromium`` (and ``fonts-dejavu-core`` for legible screenshots).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

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
  var fetched = [];
  if (window.performance && performance.getEntriesByType) {
    performance.getEntriesByType('resource').forEach(function (e) {
      if (!/^(file|data|blob|about|chrome):/.test(e.name)) { fetched.push(e.name); }
    });
  }
  document.body.setAttribute('data-check-done', 'yes');
  document.body.setAttribute('data-check-images', String(imgs.length));
  document.body.setAttribute('data-check-broken', String(bad));
  document.body.setAttribute('data-check-fetched', JSON.stringify(fetched));
});
</script>"""

FIGURE_REPR = "&lt;Figure size"
#: Notebooks of the chain, as :mod:`analysis.pipeline` finds them.
NOTEBOOK_RE = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")
#: Hosts that are this machine (a demo's local Hub stand-in), not the network.
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Tags and the attribute through which they load a resource.
LOADING = {"script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "source": ("src", "srcset"),
           "video": ("src", "poster"), "audio": ("src",), "embed": ("src",), "object": ("data",),
           "input": ("src",), "track": ("src",)}
#: ``<link rel=...>`` values that make the browser fetch the target.
LOADING_LINK_RELS = {"stylesheet", "preload", "prefetch", "icon", "shortcut", "modulepreload", "manifest",
                     "apple-touch-icon", "import"}
PY_WARNING = re.compile(r"\b[A-Z][A-Za-z]*Warning: ")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
DATA_URI = re.compile(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+")
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])((?:https?:)?//[^'")\s]+)""", re.I)
JS_IMPORT = re.compile(r"""\bimport\s*\(\s*['"]((?:https?:)?//[^'"]+)['"]""")
STYLE_OR_SCRIPT = re.compile(r"<(style|script)\b[^>]*>(.*?)</\1>", re.S | re.I)


@dataclass
class PageCheck:
    """Outcome of one page."""

    page: str
    images: int = 0
    broken: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    citations: int = 0

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
    """Collect what a page links (``<a href>``) and what it loads (see :data:`LOADING`)."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.loads: list[tuple[str, str]] = []  # (tag, url)
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "link" and a.get("href"):
            rels = set(a.get("rel", "").lower().split())
            if rels & LOADING_LINK_RELS or not rels:  # fetched by the browser
                self.loads.append(("link", a["href"]))
            else:  # rel="canonical", "author", ...: a link like <a href>
                self.hrefs.append(a["href"])
        for attr in LOADING.get(tag, ()):
            for url in re.split(r",\s*", a.get(attr, "")) if attr == "srcset" else [a.get(attr, "")]:
                if url.strip():
                    self.loads.append((tag, url.strip().split()[0]))
        if a.get("style"):
            self.styles.append(a["style"])


def is_external(url: str) -> bool:
    """Whether a URL points at another machine (http(s) or protocol-relative, not a loopback host)."""
    url = url.strip()
    if not (url.lower().startswith(("http://", "https://")) or url.startswith("//")):
        return False
    host = urlsplit(url if not url.startswith("//") else "http:" + url).hostname or ""
    return host not in LOOPBACK and not host.startswith("127.")


def external_loads(page_html: str) -> list[str]:
    """Every external URL the page would load (see the module docstring)."""
    reader = _LinkReader()
    reader.feed(page_html)
    urls = [u for _, u in reader.loads if is_external(u)]
    for kind, body in STYLE_OR_SCRIPT.findall(page_html):
        pattern = CSS_URL if kind.lower() == "style" else JS_IMPORT
        urls += [u for u in pattern.findall(body) if is_external(u)]
    for style in reader.styles:
        urls += [u for u in CSS_URL.findall(style) if is_external(u)]
    return list(dict.fromkeys(urls))


def citation_links(page_html: str) -> list[str]:
    """External hyperlinks of a page (citations a reader may follow; allowed)."""
    reader = _LinkReader()
    reader.feed(page_html)
    return [h for h in reader.hrefs if isinstance(h, str) and is_external(h)]


def local_path_markers(project_root: Path | None = None) -> list[str]:
    """Strings that give away a local path of this machine: the project's absolute path, the home and temporary
    folders, the Python environment (longest first, so the most specific is named)."""
    out = set()
    for p in (project_root, Path.home(), Path(tempfile.gettempdir()), Path(sys.prefix),
              Path(sysconfig.get_paths().get("purelib", sys.prefix))):
        if p is None:
            continue
        s = str(Path(p).resolve())
        if len(s) > 4:  # never "/" or "/tmp"-less roots
            out.add(s)
    return sorted(out, key=len, reverse=True)


#: Local paths that are wrong anywhere, whoever made them.
GENERIC_LOCAL = re.compile(r"site-packages/|ipykernel_\d+|file://|/home/[A-Za-z0-9._-]+/|/Users/[A-Za-z0-9._-]+/|"
                           r"[A-Z]:\\Users\\")


def path_problems(text: str, markers: list[str]) -> list[str]:
    """Local paths found in a text (without its embedded ``data:`` images)."""
    text = DATA_URI.sub("", text)
    found = [m for m in markers if re.search(re.escape(m) + r"(?=[/\\\s'\"<,;:)]|$)", text)]
    found += sorted(set(GENERIC_LOCAL.findall(text)))
    return [f"holds a local path: {f}" for f in dict.fromkeys(found)][:5]


def text_of(page_html: str) -> str:
    """The text a reader sees (tags dropped, entities left), for the warning and traceback checks."""
    return re.sub(r"<[^>]+>", " ", STYLE_OR_SCRIPT.sub(" ", page_html))


def warning_problems(text: str) -> list[str]:
    """Python warnings and tracebacks in a text."""
    out = []
    m = PY_WARNING.search(text)
    if m:
        line = text[max(0, m.start() - 40):m.end() + 60].replace("\n", " ").strip()
        out.append(f"shows a Python warning: ...{line}...")
    if TRACEBACK.search(text):
        out.append("shows a traceback")
    return out


def notebook_problems(ipynb: Path) -> list[str]:
    """Warnings, tracebacks and standard-error output of an executed notebook."""
    import nbformat

    try:
        nb = nbformat.read(str(ipynb), as_version=4)
    except Exception as e:  # an unreadable notebook is a problem of its own
        return [f"cannot be read ({type(e).__name__})"]
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            kind = o.get("output_type")
            if kind == "error":
                out.append(f"cell {i} raised {o.get('ename')}")
            elif kind == "stream" and o.get("name") == "stderr":
                first = "".join(o.get("text", "")).strip().splitlines()[:1]
                out.append(f"cell {i} wrote to standard error: {first[0][:120] if first else ''}")
            else:
                text = "".join(o.get("text", "")) + "".join((o.get("data") or {}).get("text/plain", ""))
                out += [f"cell {i} {p}" for p in warning_problems(text)]
    return out


def chain_notebooks(reports_dir: Path) -> list[str]:
    """Stems of the chain's notebooks (``notebooks/NN_name.ipynb`` of the project the reports belong to)."""
    root = project_root_of(reports_dir)
    nb_dir = root / "notebooks" if root is not None else None
    if nb_dir is None or not nb_dir.is_dir():
        return []
    return sorted(p.stem for p in nb_dir.glob("*.ipynb") if NOTEBOOK_RE.match(p.name))


def project_root_of(reports_dir: Path) -> Path | None:
    """The project a reports folder belongs to: the nearest parent with a ``notebooks`` folder (``reports/`` of
    the study, or ``data/demo/reports/`` of the demo)."""
    for p in Path(reports_dir).resolve().parents:
        if (p / "notebooks").is_dir():
            return p
    return None


def index_link_problems(reports_dir: Path, chain: list[str] | None = None) -> list[str]:
    """Problems of ``index.html``'s links to the chain: a notebook of the chain without a link to its rendered
    page ``NN_name.html``, or a link to such a page that does not exist ([] when all is well)."""
    reports_dir = Path(reports_dir)
    chain = chain_notebooks(reports_dir) if chain is None else chain
    if not chain:
        return []
    index = reports_dir / "index.html"
    if not index.is_file():
        return [f"{index.name} not found: the reports have no index linking the chain's {len(chain)} notebook(s)"]
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


def figures_doc(reports_dir: Path) -> dict | None:
    """``figures.json`` of the run: the copy in the reports folder, else the figures folder beside it."""
    for fj in (Path(reports_dir) / "figures" / "figures.json", Path(reports_dir).resolve().parent / "figures" /
               "figures.json"):
        if fj.is_file():
            try:
                return json.loads(fj.read_text(encoding="utf-8"))
            except ValueError:
                return None
    return None


def index_figure_problems(reports_dir: Path) -> list[str]:
    """Problems of ``index.html`` as the page of the figures: a figure of ``figures.json`` it does not show or link,
    and any link or image that leaves the reports folder or points at a missing file."""
    reports_dir = Path(reports_dir)
    index = reports_dir / "index.html"
    if not index.is_file():
        return []
    reader = _LinkReader()
    reader.feed(index.read_text(encoding="utf-8"))
    targets = [h for h in reader.hrefs if isinstance(h, str)] + [u for t, u in reader.loads if t == "img"]
    problems = []
    base = reports_dir.resolve()
    for t in targets:
        parts = urlsplit(t)
        if parts.scheme or t.startswith(("#", "//")) or not parts.path:
            continue
        target = (reports_dir / unquote(parts.path)).resolve()
        if base not in target.parents and target != base:
            problems.append(f"index.html links {t}, outside the reports folder (it breaks when reports/ is shared "
                            "alone)")
        elif not target.exists():
            problems.append(f"index.html links {t}, which does not exist")
    doc = figures_doc(reports_dir) or {}
    shown = {Path(urlsplit(u).path).name for t, u in reader.loads if t == "img"}
    linked = {Path(urlsplit(h).path).name for h in reader.hrefs if isinstance(h, str)}
    for f in doc.get("figures", []):
        files = {k: Path(v["path"]).name for k, v in (f.get("files") or {}).items() if isinstance(v, dict)}
        if not files:
            continue
        if not (set(files.values()) & linked):
            problems.append(f"index.html does not link figure {f.get('number')} ({f.get('name')})")
        if "png" in files and files["png"] not in shown:
            problems.append(f"index.html does not show figure {f.get('number')} ({files['png']})")
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
    """Number of figures with a PNG listed in ``figures.json`` of the run (0 if none)."""
    doc = figures_doc(reports_dir) or {}
    return sum(1 for f in doc.get("figures", []) if "png" in f.get("files", {}))


def read_dom(dom: str, page: str, expect_images: int = 0) -> PageCheck:
    """Judge a dumped DOM: images, loading, figures printed as text, what Chromium fetched."""
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
    try:
        fetched = [u for u in json.loads(reader.body.get("data-check-fetched") or "[]") if is_external(u)]
    except ValueError:
        fetched = []
    if fetched:
        check.problems.append(f"fetched from the network: {', '.join(fetched[:3])}")
    return check


def static_problems(page: Path, markers: list[str]) -> tuple[list[str], int]:
    """What a page holds without loading it: external resources, warnings, tracebacks, standard error, local
    paths; and its number of external hyperlinks."""
    text = page.read_text(encoding="utf-8", errors="replace")
    problems = [f"loads from the network: {u}" for u in external_loads(text)][:5]
    problems += warning_problems(text_of(text))
    if re.search(r"data-mime-type=['\"]application/vnd\.jupyter\.stderr", STYLE_OR_SCRIPT.sub(" ", text)):
        problems.append("shows output written to standard error")
    problems += path_problems(text, markers)
    return problems, len(citation_links(text))


def check_page(page: Path, chromium: str, *, expect_images: int = 0, screenshot: Path | None = None,
               timeout: float = 120.0, window: str = "1280,2400") -> PageCheck:
    """Load one HTML page in headless Chromium and judge what it shows."""
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
                            f"--window-size={window}", "--hide-scrollbars", f"--screenshot={screenshot.resolve()}",
                            copy.as_uri()], capture_output=True, timeout=timeout)
            if not screenshot.is_file():
                check.problems.append(f"screenshot {screenshot} was not written")
    return check


def default_reports(which: str | None = None) -> Path:
    """The reports folder to check: ``"study"``, ``"demo"``, or the study's when it has an index, else the demo's."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from analysis.paths import Paths

    study, demo = Paths.default(simulated=False).reports_dir, Paths.default(simulated=True).reports_dir
    if which == "study":
        return study
    if which == "demo":
        return demo
    return study if (study / "index.html").is_file() else demo


def check_reports(reports: Path, chromium: str | None, *, screenshots: Path | None = None, timeout: float = 120.0,
                  log=print) -> int:
    """Check a reports folder (see the module docstring); returns the number of files that failed."""
    reports = Path(reports)
    root = project_root_of(reports)
    markers = local_path_markers(root)
    n_fig = expected_figures(reports)
    failed = 0
    for prob in ([] if (reports / "index.html").is_file() else index_link_problems(reports)):
        log(f"FAIL {prob}")
        failed += 1
    for page in sorted(reports.glob("*.html")):
        expect = n_fig if page.name == "index.html" or page.name.endswith("_figures.html") else 0
        shot = screenshots / (page.stem + ".png") if screenshots else None
        c = check_page(page, chromium, expect_images=expect, screenshot=shot, timeout=timeout) if chromium else \
            PageCheck(page.name)
        static, c.citations = static_problems(page, markers)
        c.problems += static
        if page.name == "index.html":
            c.problems += index_link_problems(reports) + index_figure_problems(reports)
        cites = f", {c.citations} citation link(s)" if c.citations else ""
        log(f"{'ok  ' if c.ok else 'FAIL'} {page.name}: {c.images} image(s), {len(c.broken)} broken{cites}")
        for prob in c.problems:
            log(f"     - {prob}")
        failed += not c.ok
    others = sorted(p for p in reports.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".log", ".json", ".tex",
                                                                                  ".csv", ".svg"))
    for f in others:
        problems = path_problems(f.read_text(encoding="utf-8", errors="replace"), markers)
        if f.suffix == ".ipynb":
            problems = notebook_problems(f) + problems
        elif f.suffix == ".log":
            problems = warning_problems(f.read_text(encoding="utf-8", errors="replace")) + problems
        if problems:
            log(f"FAIL {f.relative_to(reports).as_posix()}")
            for prob in problems:
                log(f"     - {prob}")
            failed += 1
    n = len(list(reports.glob("*.html"))) + len(others)
    log(f"{n - failed}/{n} report file(s) passed")
    return failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports_dir", nargs="?", default=None,
                   help="folder of rendered reports (default: the study's reports/ when it has an index, else the "
                        "demo's data/demo/reports/)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--study", dest="which", action="store_const", const="study", help="check reports/")
    which.add_argument("--demo", dest="which", action="store_const", const="demo", help="check data/demo/reports/")
    p.add_argument("--screenshots", type=Path, default=None, help="also write a PNG screenshot of each page here")
    p.add_argument("--chromium", default=None, help="Chromium binary (default: chromium on PATH)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per page")
    args = p.parse_args(argv)
    reports = Path(args.reports_dir) if args.reports_dir else default_reports(args.which)
    pages = sorted(reports.glob("*.html"))
    shown = os.path.relpath(reports) if not os.path.relpath(reports).startswith("..") else str(reports)
    if not pages:
        print(f"{shown}: no *.html reports found; run `make demo` (or `python -m analysis run`) first",
              file=sys.stderr)
        return 2
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("Chromium not found; install Debian's package with `apt-get install -y chromium` or pass --chromium",
              file=sys.stderr)
        return 2
    print(f"checking {shown}/")
    return 1 if check_reports(reports, chromium, screenshots=args.screenshots, timeout=args.timeout) else 0


if __name__ == "__main__":
    sys.exit(main())
