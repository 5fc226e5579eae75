"""outputs/report/problems.html: every problem of a study, with its samples, in one static page.

    from rlboundary import problems_page
    problems_page.write_problems_page("micro", "problems.html")   # any `explore` source

`rlboundary report` writes it next to index.html from fig05's parameters
(after fig05 ran, so it only reads stored samples and verdicts) and links it
from the index and from fig05's coverage table.

The page is one self-contained file: inline CSS, inline JavaScript, the data
as inline JSON; nothing is fetched (no CDN, no server), so it works from
file://. One row per problem (`explore.problems`); sort by any column, filter
by coverage set, level and free text, pick one model; a click on a row shows
the question and the samples chosen by `explore.pick_samples`, each with its
extracted answer, how many samples gave it, the verdict of every grader, and
for the organism the first invalid step highlighted. Case studies
(`explore.case_studies`) follow the table, in plain HTML (no script needed).

Size cap (`PageLimits`, stated on the page): at most `samples_per_model`
samples per model and problem (default 4), each text at most `max_chars`
characters (default 3,000; the middle is cut, so the start and the final
answer stay), and the whole page at most `max_bytes` (default 16 MB): when
the texts would make it larger, every text is cut shorter until it fits.
A study too large even then is refused with a one-line error.
`benchmarks/problems_page.py` measures a 500-problem x 1,024-sample page.
"""

from __future__ import annotations

import html
import json
import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from . import explore
from .errors import UserError

PAGE_NAME = "problems.html"
REPORT_NOTEBOOK = explore.FIG05
MIN_CHARS = 200  # below this a text says too little to show: refuse the study instead
CUT_MARK = "\n[… {n:,} characters cut …]\n"


@dataclass(frozen=True)
class PageLimits:
    samples_per_model: int = 4
    max_chars: int = 3000
    max_bytes: int = 16_000_000
    case_studies: int = explore.DEFAULT_CASES

    def statement(self, chars: int) -> str:
        return (f"Size cap: at most {self.samples_per_model} samples per model and problem (correct ones first, then "
                f"the most common wrong answers), each text at most {chars:,} characters (the middle is cut), and the "
                f"page at most {self.max_bytes / 1e6:.0f} MB (texts are cut shorter to fit).")


@dataclass(frozen=True)
class PageInfo:
    path: Path
    bytes: int
    problems: int
    samples_shown: int
    max_chars: int  # the per-text cap that made the page fit


def cut_text(text: str, max_chars: int, span=None) -> tuple[str, int, list | None]:
    """(text cut to at most about max_chars by removing its middle, characters cut, span moved along).

    A highlighted span inside the removed middle is clipped to the cut mark."""
    if len(text) <= max_chars:
        return text, 0, span
    head = max_chars // 2
    tail = max_chars - head
    cut = len(text) - head - tail
    mark = CUT_MARK.format(n=cut)
    out = text[:head] + mark + text[len(text) - tail:]
    if span is not None:
        def move(x):
            if x <= head:
                return x
            if x >= len(text) - tail:
                return x - cut + len(mark)
            return head + len(mark) if x > head else head
        span = [move(span[0]), move(span[1])]
    return out, cut, span


def _json_value(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def _sample_json(rec: dict, max_chars: int) -> dict:
    text, cut, span = cut_text(rec["text"], max_chars, rec["invalid_span"])
    return {"i": rec["sample_idx"], "a": rec["answer"], "x": rec["answer_count"], "ok": rec["correct"],
            "v": rec["verdicts"], "tv": rec["trace_valid"], "fi": span, "why": rec["invalid_reason"],
            "t": text, "cut": cut}


def page_data(study: explore.ProblemStudy, records: dict, limits: PageLimits, max_chars: int) -> dict:
    """The JSON the page's script renders (short keys: this is most of the page's bytes)."""
    t = study.table
    problems = []
    for row in t.to_dict("records"):
        key = (row["benchmark"], row["problem_id"])
        problems.append({
            "b": row["benchmark"], "id": row["problem_id"], "lv": _json_value(row["level"]),
            "sj": row["subject"], "g": row["gold"], "set": _json_value(row["coverage"]), "k": _json_value(row["k"]),
            "q": cut_text(row["question"], max(max_chars, 4000))[0],
            "m": [[_json_value(row[f"{m} n"]), _json_value(row[f"{m} c"]), _json_value(row[f"{m} pass@k"]),
                   _json_value(row.get(f"{m} valid share"))] for m in study.models],
            "s": [[_sample_json(r, max_chars) for r in records.get((m, *key), [])] for m in study.models],
        })
    return {
        "models": [{"name": m, "role": study.roles[m]} for m in study.models],
        "base": study.base, "rl": study.rl,
        "organism": any(k == "organism" for k in study.kinds.values()),
        "benchmarks": list(dict.fromkeys(t["benchmark"])),
        "coverage": list(explore.COVERAGE_LABELS.values()),
        "problems": problems,
    }


def shown_records(study: explore.ProblemStudy, limits: PageLimits) -> dict:
    """(model, benchmark, problem_id) -> the samples the page shows, with texts."""
    picked = explore.pick_samples(study.samples, limits.samples_per_model)
    picked = picked.assign(text=study.texts(picked))
    out: dict = {}
    for r in picked.to_dict("records"):
        out.setdefault((r["model"], r["benchmark"], r["problem_id"]), []).append(explore.sample_record(study, r))
    return out


def _asset(name: str) -> str:
    return resources.files("rlboundary").joinpath("data", name).read_text(encoding="utf-8")


def _script_json(data: dict) -> str:
    # "<" escaped: no model output can close the script element or open a comment in it.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def render_page(study: explore.ProblemStudy, limits: PageLimits = PageLimits()) -> tuple[str, int, int]:
    """(html, per-text character cap used, samples shown), within limits.max_bytes."""
    records = shown_records(study, limits)
    cases = case_studies_html(explore.case_studies(study, limits.case_studies)) if study.base and study.rl else ""
    n_shown = sum(len(v) for v in records.values())
    max_chars = limits.max_chars
    while True:
        page = _page_html(study, page_data(study, records, limits, max_chars), cases, limits.statement(max_chars))
        size = len(page.encode("utf-8"))
        if size <= limits.max_bytes:
            return page, max_chars, n_shown
        text_bytes = sum(min(len(r["text"]), max_chars) for v in records.values() for r in v) or 1
        over = size - limits.max_bytes
        new = int(max_chars * max(0.0, 1 - over / text_bytes) * 0.95)
        if new < MIN_CHARS:
            raise UserError(f"the problems page would exceed {limits.max_bytes / 1e6:.0f} MB even with "
                            f"{MIN_CHARS}-character samples ({len(study.table)} problems).",
                            "show fewer samples per model (PageLimits.samples_per_model) or fewer benchmarks.")
        max_chars = new


def _page_html(study, data: dict, cases_html: str, cap: str) -> str:
    title = "rlboundary: problems and samples"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><link rel='icon' href='data:,'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{_asset('problems_page.css')}</style></head><body>"
        "<p class='nav'><a href='index.html'>← report index</a>"
        f"{' · <a href=#case-studies>case studies ↓</a>' if cases_html else ''}</p><h1>Problems and samples</h1>"
        f"<p class='meta'>{html.escape(study.description)} · {len(study.table)} problems · generated {stamp}</p>"
        f"<p class='meta' id='cap'>{html.escape(cap)}</p>"
        "<section id='explorer'><h2>Every problem</h2>"
        "<p class='hint'>Click a column to sort, a row to see its question and samples. "
        "Pass rate is c/n; pass@k at the headline k; coverage compares the base and RL models "
        "(solved = at least one correct sample).</p>"
        "<div id='controls'></div><p id='count' class='meta'></p>"
        "<table id='problems'><thead></thead><tbody></tbody></table>"
        "<noscript>This table needs JavaScript; the case studies below do not.</noscript></section>"
        f"{cases_html}"
        f"<script type='application/json' id='problems-data'>{_script_json(data)}</script>"
        f"<script>{_asset('problems_page.js')}</script></body></html>")


def _trace_html(rec: dict) -> str:
    text, span = rec["text"], rec["invalid_span"]
    if not span:
        return html.escape(text)
    a, b = span
    return (html.escape(text[:a]) + f"<mark class='first-invalid' title='{html.escape(rec['invalid_reason'])}'>"
            + html.escape(text[a:b]) + "</mark>" + html.escape(text[b:]))


def _sample_html(rec: dict, n, label: str, max_chars: int) -> str:
    rec = {**rec}
    rec["text"], cut, rec["invalid_span"] = cut_text(rec["text"], max_chars, rec["invalid_span"])
    verdicts = ", ".join(f"{g}: {v}" for g, v in rec["verdicts"].items() if v)
    trace = ""
    if rec["trace_valid"] is not None:
        trace = " · trace valid" if rec["trace_valid"] else f" · trace invalid: {rec['invalid_reason']}"
    answer = rec["answer"] if rec["answer"] is not None else explore.NO_ANSWER
    return (f"<div class='sample {'ok' if rec['correct'] else 'bad'}'><div class='sample-head'><b>{html.escape(label)}</b>"
            f" · sample #{rec['sample_idx']} · answer <code>{html.escape(str(answer)[:200])}</code>"
            f" · given by {rec['answer_count']} of {n} samples · {html.escape(verdicts)}{html.escape(trace)}</div>"
            f"<pre class='text'>{_trace_html(rec)}</pre></div>")


def case_studies_html(cases: "explore.CaseStudies", max_chars: int = 3000) -> str:
    """The case studies as static HTML (the page, and the notebook's display)."""
    parts = ["<section id='case-studies'><h2>Case studies: base-only problems (computed, not hand-picked)</h2>",
             f"<p class='rule'>Rule: {html.escape(cases.rule)}</p>"]
    if cases.table.empty:
        parts.append("<p class='none'>No base-only problem in this study, so no case study.</p>")
    for r in cases.table.to_dict("records"):
        level = "" if r["level"] is None or pd.isna(r["level"]) else f" · level {r['level']}"
        parts.append(
            f"<article class='case' data-problem='{html.escape(str(r['problem_id']))}'>"
            f"<h3>{html.escape(r['benchmark'])} / {html.escape(str(r['problem_id']))}{html.escape(level)}"
            f" · gold <code>{html.escape(str(r['gold']))}</code> · base {r['base_c']} of {r['base_n']} correct,"
            f" RL 0 of {r['rl_n']}</h3><pre class='question'>{html.escape(str(r['question']))}</pre><div class='pair'>"
            + _sample_html(r["base_sample"], r["base_n"], f"{cases.base}: a correct sample", max_chars)
            + _sample_html(r["rl_sample"], r["rl_n"], f"{cases.rl}: its most common answer", max_chars)
            + "</div></article>")
    parts.append("</section>")
    return "".join(parts)


def write_problems_page(source, path, limits: PageLimits = PageLimits()) -> PageInfo:
    """Render `source` (anything `explore.load` takes) to `path`, atomically."""
    study = explore.load(source)
    page, max_chars, shown = render_page(study, limits)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return PageInfo(path, path.stat().st_size, len(study.table), shown, max_chars)


def write_for_report(out: Path, params: dict, results, echo=print) -> str | None:
    """The report's step: write out/problems.html from fig05's parameters when
    fig05 ran and succeeded (its samples and verdicts are then stored).
    Returns an error line, or None."""
    ok = any(r.name == REPORT_NOTEBOOK and r.ok for r in results)
    if REPORT_NOTEBOOK not in params or not ok:
        return None
    start = time.perf_counter()
    try:
        info = write_problems_page(params[REPORT_NOTEBOOK], Path(out) / PAGE_NAME)
    except Exception as err:  # reported beside the notebooks' failures, never hidden
        message = f"{PAGE_NAME}: {type(err).__name__}: {err}"
        echo(f"[report] {message}")
        return message
    echo(f"[report] {PAGE_NAME}: {info.problems} problems, {info.samples_shown} samples shown, "
         f"{info.bytes / 1e6:.2f} MB ({time.perf_counter() - start:.1f} s)")
    return None
