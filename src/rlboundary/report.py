"""The published report: run every figure notebook, convert it, index it.

    rlboundary report                       # params/default (the organism)
    rlboundary report --params paper        # the paper's models and scale (GPUs)
    rlboundary report --params micro --only horizon
    rlboundary report --params default --params my.yaml --show-code

For each notebook (in `NOTEBOOKS` order): validate its parameters (all of
them before anything runs), execute it with papermill in a kernel that runs
this very Python (a kernelspec written under outputs/, so a fresh venv needs
no `ipykernel install`), convert the executed notebook to HTML with nbconvert
(code hidden unless --show-code), and collect what the notebook saved: its
figures (PNG + PDF, `plots.save_figure`) and its headline numbers
and verdict (`record_headlines`). Then write outputs/report/index.html: a
table of every claim with its computed verdict (supported / contradicted /
inconclusive / not run), the numbers behind it and the rule that decided it
(`rlboundary.verdicts`), then each notebook's figures and headline table. A
notebook that fails, or records no verdict, is marked in the index and makes
the run fail (non-zero exit naming it and its error) after the remaining
notebooks have run. "ok" means the notebook ran; the verdict says what its
numbers say.

Layout under outputs/report/:
    index.html, run.json
    problems.html            every problem with its samples (problems_page.py; after fig05)
    notebooks/<name>.ipynb   executed notebooks
    <name>.html              converted notebooks
    figures/<name>/*.png|pdf figures
    headlines/<name>.json    headline numbers
Jupyter/IPython/matplotlib state goes to outputs/cache/jupyter, never ~.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .errors import UserError
from .machine import environ
from .params import Params, all_notebooks, load_params
from .paths import NOTEBOOKS_DIR, cache_dir, report_dir
from .plots import FIGURES_ENV
from .verdicts import CLAIMS, NOT_RUN, Verdict


@dataclass(frozen=True)
class NotebookInfo:
    name: str
    title: str

    @property
    def claim(self) -> str:
        """The claim the notebook tests (its opening line and its verdict's claim)."""
        return CLAIMS[self.name]


# Report order; the claims and the rules that decide them live in verdicts.py.
NOTEBOOKS = [
    NotebookInfo("fig01_passk_math", "Figures 1-2: pass@k on math, base vs RL"),
    NotebookInfo("fig03_passk_code", "Figures 3-4: pass@k on code, base vs RL"),
    NotebookInfo("fig05_accuracy_and_coverage", "Figure 5 and the coverage table"),
    NotebookInfo("fig06_perplexity", "Figure 6: perplexity of RL outputs under the base model"),
    NotebookInfo("fig07_distillation", "Figure 7: distillation vs RL"),
    NotebookInfo("fig08_rl_algorithms", "Figure 8: RL algorithms and training steps"),
    NotebookInfo("cot_validity", "Chain-of-thought validity"),
    NotebookInfo("horizon", "Long-horizon reasoning"),
    NotebookInfo("organism_reach", "The organism: does RL extend valid reach? (pre-registered rule)"),
    NotebookInfo("atlas", "The boundary atlas: under which conditions does RL extend the base's reach?"),
]
NOTEBOOK_INFO = {nb.name: nb for nb in NOTEBOOKS}
KERNEL_NAME = "rlboundary"
HEADLINES_ENV = "RLBOUNDARY_HEADLINES_FILE"


# --- what notebooks call -----------------------------------------------------

def headlines_path(notebook: str) -> Path:
    env = os.environ.get(HEADLINES_ENV)
    return Path(env) if env else report_dir() / "headlines" / "interactive" / f"{notebook}.json"


def record_headlines(notebook: str, table, note: str = "", *, verdict: Verdict) -> Path:
    """Save a notebook's headline numbers (a small DataFrame) and its computed
    verdict (`rlboundary.verdicts`) for the index page.

    Called once at the end of a notebook; the runner shows the verdict, the
    numbers behind it and its rule beside the notebook's claim, then the
    table. Non-finite numbers are kept as null."""
    import math

    if notebook not in NOTEBOOK_INFO:
        raise UserError(f"unknown notebook '{notebook}'.", f"use one of: {', '.join(NOTEBOOK_INFO)}.")
    if not isinstance(verdict, Verdict) or verdict.claim != CLAIMS[notebook]:
        raise UserError(f"{notebook}: the verdict recorded is not one computed for this notebook's claim.",
                        "pass the Verdict that a rule of rlboundary.verdicts returned for this notebook.")
    rows = []
    for row in table.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if hasattr(value, "item"):  # numpy scalar -> Python
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            clean[str(key)] = value
        rows.append(clean)
    path = headlines_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"notebook": notebook, "columns": [str(c) for c in table.columns],
                               "rows": rows, "note": note, "verdict": verdict.as_dict()}, indent=1))
    tmp.replace(path)
    return path


# --- the runner ----------------------------------------------------------------

@dataclass
class NotebookResult:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    html: Path | None = None
    figures: list[Path] = field(default_factory=list)
    headlines: dict | None = None
    started_at: float = 0.0  # wall clock (time.time()) when the notebook started: comparable across processes


def jupyter_env(root: Path) -> dict[str, str]:
    """Environment that keeps Jupyter, IPython and matplotlib out of ~."""
    dirs = {
        "JUPYTER_CONFIG_DIR": root / "config",
        "JUPYTER_DATA_DIR": root / "data",
        "JUPYTER_RUNTIME_DIR": root / "runtime",
        "IPYTHONDIR": root / "ipython",
        "MPLCONFIGDIR": root / "matplotlib",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env = {k: str(v) for k, v in dirs.items()}
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    # vLLM in the kernel's own process with a bounded CPU KV cache (the
    # package's engine defaults, vllm_backend.engine_env_defaults), quiet
    # start-up logs. Only defaults: a user's setting wins.
    from .vllm_backend import engine_env_defaults

    defaults = {**engine_env_defaults(), "TOKENIZERS_PARALLELISM": "false", "VLLM_LOGGING_LEVEL": "WARNING"}
    for key, value in defaults.items():
        env[key] = os.environ.get(key) or value
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning in every kernel
    return env


def install_kernelspec(data_dir: Path) -> str:
    """A kernelspec that runs this interpreter, in the Jupyter data dir we own.

    Writing kernel.json ourselves (rather than relying on whatever `python3`
    kernel a machine has) makes the kernel always the current venv's Python."""
    spec_dir = Path(data_dir) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "rlboundary (this venv)", "language": "python",
            "metadata": {"debugger": False}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return KERNEL_NAME


def _error_line(err: BaseException) -> str:
    """One line for a failed notebook: papermill's ename: evalue."""
    ename = getattr(err, "ename", type(err).__name__)
    evalue = str(getattr(err, "evalue", err)).strip().splitlines()
    return f"{ename}: {evalue[0] if evalue else ''}"[:400]


# nbconvert's lab template with nothing fetched from a CDN (require.js, MathJax,
# mermaid): the published pages open offline with no console errors. The
# notebooks use no LaTeX math, so MathJax has nothing to render.
_OFFLINE_TEMPLATE_NAME = "rlboundary_offline.html.j2"
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_css -%}<link rel="icon" href="data:,">{%- endblock html_head_css -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _to_html(executed: Path, target: Path, show_code: bool) -> None:
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    # The page shows results: engine logs and library warnings (stderr) stay in
    # the executed .ipynb linked from the index; errors are kept on the page.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    exporter = HTMLExporter(template_name="lab", template_file=_OFFLINE_TEMPLATE_NAME,
                            extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
                            exclude_input=not show_code, exclude_input_prompt=not show_code,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def injected_parameters(source: Path, name: str, params: Params) -> dict:
    """The values papermill injects: every key the notebook's `parameters`
    cell sets, plus any key whose value differs from the schema default (the
    notebook's `notebook_params` fills in the rest with the same defaults)."""
    import papermill as pm

    from .params import schema

    in_cell = set(pm.inspect_notebook(str(source)))
    fields = schema(name)
    return {k: v for k, v in params.items() if k in in_cell or v != fields[k].default}


def run_notebook(name: str, params: Params, out: Path, kernel: str, show_code: bool) -> NotebookResult:
    import papermill as pm

    source = NOTEBOOKS_DIR / f"{name}.ipynb"
    if not source.exists():
        raise UserError(f"notebook {source} is missing.", "run from a source checkout of rlboundary.")
    executed = out / "notebooks" / f"{name}.ipynb"
    fig_dir = out / "figures" / name
    headlines = out / "headlines" / f"{name}.json"
    # Stale outputs of an earlier run must not be shown as this run's.
    shutil.rmtree(fig_dir, ignore_errors=True)
    headlines.unlink(missing_ok=True)
    executed.parent.mkdir(parents=True, exist_ok=True)
    started_at = time.time()
    start = time.perf_counter()
    error = ""
    with environ({FIGURES_ENV: str(fig_dir), HEADLINES_ENV: str(headlines)}):
        try:
            pm.execute_notebook(str(source), str(executed), parameters=injected_parameters(source, name, params), kernel_name=kernel,
                                cwd=str(NOTEBOOKS_DIR), progress_bar=False, log_output=False)
        except Exception as err:  # a failing notebook is reported, never hidden
            if not executed.exists():
                raise
            error = _error_line(err)
    seconds = time.perf_counter() - start
    page = out / f"{name}.html"
    _to_html(executed, page, show_code)
    figures = sorted(fig_dir.glob("*.png")) if fig_dir.exists() else []
    head = json.loads(headlines.read_text()) if headlines.exists() else None
    not_run = head is not None and (head.get("verdict") or {}).get("verdict") == NOT_RUN
    if not error and head is None:
        error = "the notebook recorded no headline numbers (report.record_headlines)"
    if not error and not head.get("verdict"):
        error = "the notebook recorded no verdict (report.record_headlines(..., verdict=...))"
    if not error and not figures and not not_run:
        error = "the notebook saved no figure (plots.save_figure)"
    return NotebookResult(name, not error, seconds, error, page, figures, head, started_at)


def result_line(res: NotebookResult) -> str:
    """The console line for a finished notebook."""
    status = "ok" if res.ok else f"FAILED: {res.error}"
    return f"[report] {res.name}: {status} ({res.seconds:.1f} s, {len(res.figures)} figures)"


def report_params(sources: Sequence[str] = ("default",), only: Iterable[str] | None = None
                  ) -> tuple[dict[str, Params], dict[str, str]]:
    """The validated parameters of every notebook the report runs, and the
    notebooks it leaves out with the reason.

    A parameter-set directory parameterises the notebooks it has a
    `<notebook>.yaml` for (params/onegpu has no file for the organism-only
    notebooks): the others are left out, unless named with `only`, where a
    missing file is an error. Every kept notebook is validated here, before
    anything runs."""
    from .params import resolve_source

    names = all_notebooks(only)
    skipped: dict[str, str] = {}
    if not only:
        dirs = [resolve_source(s) for s in sources]
        dirs = [d for d in dirs if d.is_dir()]
        for name in names:
            missing = [d for d in dirs if not (d / f"{name}.yaml").exists()]
            if missing:
                skipped[name] = f"{_shown(missing[0])} has no {name}.yaml"
        if len(skipped) == len(names):
            raise UserError(f"no notebook has parameters in {', '.join(map(str, sources))}.",
                            "add <notebook>.yaml files to the directory, or pass a named set (default, paper, onegpu, micro).")
    params = {name: load_params(name, *sources) for name in names if name not in skipped}
    return params, skipped


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_report(sources: Sequence[str] = ("default",), only: Iterable[str] | None = None,
               show_code: bool = False, echo=print, jobs: int | None = None) -> list[NotebookResult]:
    """Execute, convert and index the notebooks; raise UserError if any failed.

    The organisms the notebooks read are built first; with `jobs` > 1 every run the notebooks sample
    is then sampled, up to `jobs` at a time (`report_jobs.sample_runs_first`), and up to `jobs`
    notebooks run side by side (default `report_jobs.default_jobs()`: one per core on a CPU, one at a
    time with a GPU)."""
    from . import report_jobs

    # Validate every notebook's parameters before spending time on any of them.
    params, skipped = report_params(sources, only)
    names = list(params)
    jobs = min(report_jobs.default_jobs() if jobs is None else report_jobs.check_jobs(jobs), max(1, len(names)))
    for name, why in skipped.items():
        echo(f"[report] {name}: skipped ({why})")
    out = report_dir()
    out.mkdir(parents=True, exist_ok=True)
    env = jupyter_env(cache_dir() / "jupyter")
    started = time.perf_counter()
    report_started_at = time.time()
    build_seconds = report_jobs.build_organisms(params, echo)
    atlas_seconds = report_jobs.run_atlas_units(params, echo)
    runs_started = time.perf_counter()
    runs = report_jobs.sample_runs_first(params, jobs, echo) if jobs > 1 else []
    runs_seconds = time.perf_counter() - runs_started
    notebooks_started = time.perf_counter()
    with environ(env):
        kernel = install_kernelspec(Path(env["JUPYTER_DATA_DIR"]))
        if jobs > 1:
            results = report_jobs.run_side_by_side(params, out, kernel, show_code, jobs, echo,
                                                   runs_sampled=bool(runs) and not any(r["error"] for r in runs))
        else:
            results = []
            for name in names:
                echo(f"[report] {name} ...")
                res = run_notebook(name, params[name], out, kernel, show_code)
                results.append(res)
                echo(result_line(res))
    notebook_seconds = time.perf_counter() - notebooks_started
    from .problems_page import write_for_report

    page_error = write_for_report(out, params, results, echo)  # problems.html, from fig05's samples
    total = time.perf_counter() - started
    write_index(out, results, sources, total, skipped)
    (out / "run.json").write_text(json.dumps({
        "params": list(map(str, sources)), "seconds": round(total, 1), "skipped": skipped,
        "organism_build_seconds": round(build_seconds, 1), "atlas_units_seconds": round(atlas_seconds, 1),
        "runs_seconds": round(runs_seconds, 1),
        "notebooks_seconds": round(notebook_seconds, 1), "jobs": jobs, "runs": runs,
        "notebooks": [{"name": r.name, "ok": r.ok, "seconds": round(r.seconds, 1), "error": r.error,
                       "started_s": round(r.started_at - report_started_at, 1),  # from the report's start
                       "figures": [f.name for f in r.figures]} for r in results]}, indent=1))
    echo(f"[report] {out / 'index.html'} ({total:.0f} s)")
    failed = [r for r in results if not r.ok]
    if failed:
        raise UserError(f"{len(failed)} of {len(results)} notebooks failed: "
                        + "; ".join(f"{r.name} ({r.error})" for r in failed),
                        f"open {out}/<name>.html or notebooks/<name>.ipynb there for the traceback.")
    if page_error:
        raise UserError(page_error, "call rlboundary.problems_page.write_problems_page(<params>, <path>) for the traceback.")
    return results


# --- the index page ----------------------------------------------------------

def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def headline_table_html(head: dict) -> str:
    cols = head["columns"]
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in head["rows"])
    note = f"<p class='note'>{html.escape(head['note'])}</p>" if head.get("note") else ""
    return (f"<table><thead><tr>{''.join(f'<th>{html.escape(c)}</th>' for c in cols)}</tr></thead>"
            f"<tbody>{rows}</tbody></table>{note}")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.claim{font-style:italic;color:#444} .fail{color:#b00020;font-weight:bold} .ok{color:#1b7f3b}
.figs{display:flex;flex-wrap:wrap;gap:12px} .figs figure{margin:0;width:520px;max-width:100%}
.figs img{width:100%;border:1px solid #eee} figcaption{font-size:.8em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f5f5f5} .note{font-size:.85em;color:#555} .meta{font-size:.85em;color:#666}
.verdicts td{text-align:left;vertical-align:top} .verdicts ul{margin:0;padding-left:1.1em}
.rule{font-size:.85em;color:#444} .v{font-weight:bold;white-space:nowrap}
.v-supported{color:#1b7f3b} .v-contradicted{color:#b00020} .v-inconclusive{color:#8a6d00} .v-not-run{color:#666}
"""


def _verdict_badge(verdict: dict | None) -> str:
    if not verdict:
        return "<span class='v v-not-run'>no verdict</span>"
    v = verdict["verdict"]
    return f"<span class='v v-{v.replace(' ', '-')}'>{html.escape(v)}</span>"


def _verdict_numbers(verdict: dict) -> str:
    """The numbers behind a verdict: one line per comparison, value [CI] → its verdict."""
    from .verdicts import number_line

    items = "".join(f"<li>{html.escape(number_line(row))}</li>" for row in verdict.get("numbers", []))
    return f"<ul>{items}</ul>" if items else ""


def verdict_html(verdict: dict | None) -> str:
    """A notebook's verdict block: verdict and reason, the numbers, the rule."""
    if not verdict:
        return "<p class='fail'>no verdict recorded</p>"
    return (f"<p>Verdict: {_verdict_badge(verdict)} — {html.escape(verdict['reason'])}</p>"
            f"{_verdict_numbers(verdict)}<p class='rule'>Rule: {html.escape(verdict['rule'])}</p>")


def verdict_table_html(results: list[NotebookResult]) -> str:
    """The index's summary: every claim beside its computed verdict, the numbers and the rule."""
    rows = []
    for r in results:
        info = NOTEBOOK_INFO[r.name]
        verdict = (r.headlines or {}).get("verdict")
        if not r.ok:
            cell = f"<span class='fail'>FAILED</span>"
        else:
            cell = _verdict_badge(verdict)
        rows.append(f"<tr><td><a href='#{r.name}'>{html.escape(r.name)}</a></td><td>{html.escape(info.claim)}</td>"
                    f"<td>{cell}</td><td>{html.escape(verdict['reason']) if verdict else ''}"
                    f"{_verdict_numbers(verdict) if verdict else ''}</td>"
                    f"<td class='rule'>{html.escape(verdict['rule']) if verdict else ''}</td></tr>")
    return ("<table class='verdicts'><thead><tr><th>notebook</th><th>claim tested</th><th>verdict</th>"
            "<th>numbers behind it</th><th>rule</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _earlier_page(out: Path, name: str) -> str:
    """A link to a skipped notebook's page left by an earlier report run (e.g. the default
    set's pages after `--params atlas`), dated, so it stays reachable but is not shown as this run's."""
    page = out / f"{name}.html"
    if not page.is_file():
        return ""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(page.stat().st_mtime))
    return f" · <a href='{name}.html'>its page from an earlier run ({when})</a>"


def write_index(out: Path, results: list[NotebookResult], sources: Sequence[str], seconds: float,
                skipped: dict[str, str] | None = None) -> Path:
    """outputs/report/index.html: every claim with its verdict, numbers and rule; then each
    notebook's status, figures and headline table.

    Self-contained (inline CSS, relative links, no scripts or web fonts) so it
    opens from disk or any static server with nothing fetched from outside."""
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>rlboundary report</title><link rel='icon' href='data:,'><style>{_CSS}</style></head><body>",
             "<h1>rlboundary: does RL expand the base model's reasoning boundary?</h1>",
             f"<p class='meta'>parameters: {html.escape(' + '.join(map(str, sources)))} · "
             f"{sum(r.ok for r in results)}/{len(results)} notebooks ran · {seconds:.0f} s · "
             f"{html.escape(time.strftime('%Y-%m-%d %H:%M'))}</p>",
             "<p class='note'>Each notebook tests one claim of the paper. Its verdict is computed from its own "
             "numbers and confidence intervals by the rule shown beside it (rlboundary.verdicts); "
             "\"ran ok\" below only means the notebook executed.</p>",
             verdict_table_html(results)]
    if skipped:
        parts.append("<p class='meta'>not run with these parameters: "
                     + "; ".join(f"{html.escape(NOTEBOOK_INFO[n].title)} ({html.escape(why)}){_earlier_page(out, n)}"
                                 for n, why in skipped.items())
                     + "</p>")
    if (out / "problems.html").exists():
        parts.append("<p><a href='problems.html'>Every problem with its samples and case studies (problems.html)</a></p>")
    for r in results:
        info = NOTEBOOK_INFO[r.name]
        status = "<span class='ok'>ran ok</span>" if r.ok else f"<span class='fail'>FAILED: {html.escape(r.error)}</span>"
        verdict = (r.headlines or {}).get("verdict")
        parts.append(f"<section id='{r.name}'><h2><a href='{r.name}.html'>{html.escape(info.title)}</a></h2>"
                     f"<p class='claim'>Claim tested: {html.escape(info.claim)}</p>"
                     + (verdict_html(verdict) if r.ok else "")
                     + f"<p class='meta'>{status} · {r.seconds:.1f} s · <a href='notebooks/{r.name}.ipynb'>executed notebook</a></p>")
        if r.headlines and r.headlines.get("rows"):
            parts.append(headline_table_html(r.headlines))
        if r.figures:
            parts.append("<div class='figs'>")
            for png in r.figures:
                rel_png = png.relative_to(out).as_posix()
                rel_pdf = png.with_suffix(".pdf").relative_to(out).as_posix()
                parts.append(f"<figure><a href='{rel_png}'><img src='{rel_png}' alt='{html.escape(png.stem)}'></a>"
                             f"<figcaption>{html.escape(png.stem)} · <a href='{rel_pdf}'>PDF</a></figcaption></figure>")
            parts.append("</div>")
        parts.append("</section>")
    parts.append("</body></html>")
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
