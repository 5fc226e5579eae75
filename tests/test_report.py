"""The report end to end: `rlboundary report --params micro` executes every
notebook for real (vLLM and transformers sampling, grading, metrics, the
atlas's RL training, papermill, nbconvert), then the index is opened in
headless Chromium. The micro organism comes from the session's build
(conftest `micro_organism`, copied into the report's outputs): building it is
`ensure_organism`'s path, tested in test_organism_build.py, and building it
again here cost the suite a minute.

One run of the whole report is shared by the tests of this module (a
module-scoped fixture), so the suite pays for it once. The screenshot of the
index is kept at outputs/test-artifacts/report-index.png (path printed).
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from browser_helpers import save_screenshot
from rlboundary.params import NOTEBOOKS
from rlboundary.report import NOTEBOOK_INFO

RLBOUNDARY = [sys.executable, "-m", "rlboundary.cli"]

CHROMIUM = "/usr/bin/chromium"


def _run(args, outputs: Path, home: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(outputs), "HOME": str(home)}
    # Nothing of the user's Jupyter set-up may leak in (or be written to).
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR",
                "JUPYTER_PATH"):
        env.pop(key, None)
    return subprocess.run(RLBOUNDARY + args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def micro_report(tmp_path_factory, micro_organism):
    from organism_helpers import copy_micro_organism

    outputs = tmp_path_factory.mktemp("report-outputs")
    copy_micro_organism(micro_organism, outputs)
    home = tmp_path_factory.mktemp("home")
    start = time.perf_counter()
    # Two notebooks side by side whatever the machine's cores (report_jobs; the default is one per core).
    proc = _run(["report", "--params", "micro", "--jobs", "2"], outputs, home)
    seconds = time.perf_counter() - start
    print(f"\n[micro report] {seconds:.0f} s, exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return {"proc": proc, "report": outputs / "report", "home": home, "seconds": seconds}


def test_every_notebook_executes_and_is_published(micro_report):
    proc, report = micro_report["proc"], micro_report["report"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((report / "run.json").read_text())
    assert [nb["name"] for nb in run["notebooks"]] == list(NOTEBOOKS)
    assert all(nb["ok"] for nb in run["notebooks"]), run
    index = (report / "index.html").read_text()
    for name in NOTEBOOKS:
        executed = json.loads((report / "notebooks" / f"{name}.ipynb").read_text())
        code = [c for c in executed["cells"] if c["cell_type"] == "code"]
        assert all(c.get("execution_count") for c in code), f"{name}: a cell did not run"
        assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", []))
        html = (report / f"{name}.html").read_text()
        assert "notebook_params(" not in html, f"{name}: code should be hidden by default"
        head = json.loads((report / "headlines" / f"{name}.json").read_text())
        verdict = head["verdict"]
        assert verdict["claim"] == NOTEBOOK_INFO[name].claim and verdict["rule"]
        assert f"href='{name}.html'" in index
        figures = sorted((report / "figures" / name).glob("*.png"))
        if name == "fig03_passk_code":  # micro lists no code benchmark: not run, and said so
            assert verdict["verdict"] == "not run" and verdict["reason"].startswith("not run: needs a code model")
            assert not figures and not head["rows"]
            continue
        assert verdict["verdict"] in ("supported", "contradicted", "inconclusive") and verdict["numbers"], name
        assert "<img" in html or "image/png" in html, f"{name}: no figure in its page"
        assert figures, f"{name}: no figure saved"
        for png in figures:
            pdf = png.with_suffix(".pdf")
            assert png.stat().st_size > 1000 and pdf.exists() and pdf.read_bytes()[:4] == b"%PDF"
            assert f"figures/{name}/{png.name}" in index
        assert head["rows"], f"{name}: empty headline table"
    # Jupyter, IPython and matplotlib wrote nothing under $HOME.
    home = micro_report["home"]
    for leak in (".jupyter", ".ipython", ".local/share/jupyter", ".cache/matplotlib", ".config/matplotlib"):
        assert not (home / leak).exists(), leak


def test_every_run_was_sampled_once_before_the_notebooks_which_then_ran_side_by_side(micro_report, monkeypatch):
    from rlboundary import report_jobs
    from rlboundary.report import report_params

    run = json.loads((micro_report["report"] / "run.json").read_text())
    assert run["jobs"] == 2
    params = report_params(("micro",))[0]
    tasks = report_jobs.presample_tasks(params)
    # Every run of the plan, each once, by the notebook asking for its largest n, none failed ...
    assert [(r["notebook"], r["model"], r["benchmark"], r["n"]) for r in run["runs"]] == tasks
    assert len({(r["model"], r["benchmark"]) for r in run["runs"]}) == len(run["runs"])
    assert not any(r["error"] for r in run["runs"]), run["runs"]
    # organism_reach reads the pass@k notebooks' runs (sample_source: study): its models are among them.
    reach_models = {m["name"] for m in params["organism_reach"]["models"]}
    assert reach_models <= {r["model"] for r in run["runs"]}
    for r in run["runs"]:  # stored to the run's n
        assert _stored_samples(micro_report["report"].parent, r["model"]) >= r["n"], r
    nbs = {nb["name"]: nb for nb in run["notebooks"]}
    first_notebook = min(nb["started_s"] for nb in nbs.values())
    assert first_notebook >= run["organism_build_seconds"] + run["atlas_units_seconds"] + run["runs_seconds"] - 0.5
    # The atlas's units ran before the notebooks, two at a time, recorded under the micro set's own name.
    from rlboundary.organism.atlas_plan import run_records, run_set
    from rlboundary.organism.schedule import default_workers

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro_report["report"].parent))
    atlas = params["atlas"]
    plan_file, run_file = run_records(atlas.organism_preset, run_set(atlas.arms, atlas.organism_seeds, atlas.n))
    atlas_run = json.loads(run_file.read_text()) if run_file.is_file() else {}
    assert run["atlas_units_seconds"] > 0 and atlas_run.get("arms") == atlas.arms
    assert atlas_run["workers"] == min(default_workers(), len(atlas.arms) * len(atlas.organism_seeds))
    # ... priced before they ran, from what the organism's build measured, for as many workers.
    plan = json.loads(plan_file.read_text())
    assert plan_file.stat().st_mtime < run_file.stat().st_mtime and plan["workers"] == atlas_run["workers"]
    assert plan["predicted_seconds"] > 0
    # ... and two notebooks did run at the same time.
    spans = sorted((nb["started_s"], nb["started_s"] + nb["seconds"]) for nb in run["notebooks"])
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


def _stored_samples(outputs: Path, model: str) -> int:
    """Samples per problem stored for `model` on the micro organism (the smallest over problems)."""
    import pandas as pd

    parts = sorted((outputs / "samples" / model / "organism-micro").glob("*-seed0/part-*.parquet"))
    assert parts, f"no stored samples of {model}"
    rows = pd.concat([pd.read_parquet(p, columns=["problem_id", "sample_idx"]) for p in parts])
    return int(rows.groupby("problem_id").size().min())


def _stored_counts(outputs: Path, model: str, n: int) -> dict[str, int]:
    """problem_id -> correct among the first n samples, read straight from the stored verdict files."""
    import pandas as pd

    parts = sorted((outputs / "samples" / model / "organism-micro").glob("*-seed0/verdicts/*/*.parquet"))
    assert parts, f"no stored verdicts of {model}"
    v = pd.concat([pd.read_parquet(p, columns=["problem_id", "sample_idx", "correct"]) for p in parts])
    v = v.drop_duplicates(["problem_id", "sample_idx"], keep="last")
    v = v[v["sample_idx"] < n]
    assert v.groupby("problem_id").size().eq(n).all()
    return {str(p): int(c) for p, c in v.groupby("problem_id")["correct"].sum().items()}


def _pass_at_k(n: int, c: int, k: int) -> float:
    return 1 - math.comb(n - c, k) / math.comb(n, k)  # Chen et al., by the binomials themselves


def test_headline_numbers_match_an_independent_count(micro_report):
    """fig01's headline and verdict numbers recomputed from the stored verdicts with math.comb."""
    outputs = micro_report["report"].parent
    head = json.loads((micro_report["report"] / "headlines" / "fig01_passk_math.json").read_text())
    rows = {r["model"]: r for r in head["rows"]}
    n = k = 4  # params/micro/fig01_passk_math.yaml: n 4, headline_k 4
    counts = {m: _stored_counts(outputs, m, n) for m in ("base", "rl-grpo")}
    assert counts["base"].keys() == counts["rl-grpo"].keys()
    mean = {m: {kk: sum(_pass_at_k(n, c, kk) for c in cs.values()) / len(cs) for kk in (1, k)} for m, cs in counts.items()}
    for m in counts:
        assert rows[m]["n"] == n and rows[m]["k"] == k
        assert rows[m]["pass@1"] == pytest.approx(mean[m][1], abs=1e-12)
        assert rows[m]["pass@k"] == pytest.approx(mean[m][k], abs=1e-12)
    assert rows["base"]["ΔSE@k"] is None
    assert rows["rl-grpo"]["ΔSE@k"] == pytest.approx(mean["base"][k] - mean["rl-grpo"][1], abs=1e-12)
    assert rows["rl-grpo"]["ΔSE named"].startswith("ΔSE@4 (k=4 < 256")
    (number,) = head["verdict"]["numbers"]
    assert number["value"] == pytest.approx(mean["base"][k] - mean["rl-grpo"][k], abs=1e-12)
    # The verdict follows from its interval by the rule's words.
    low, high = number["ci_low"], number["ci_high"]
    expected = "supported" if low > 0 else "contradicted" if high < 0 else "inconclusive"
    assert head["verdict"]["verdict"] == number["verdict"] == expected


def test_index_shows_each_claim_beside_its_computed_verdict_and_rule(micro_report):
    index = (micro_report["report"] / "index.html").read_text()
    table = index[index.index("<table class='verdicts'>"):]
    table = table[:table.index("</table>")]
    for name in NOTEBOOKS:
        verdict = json.loads((micro_report["report"] / "headlines" / f"{name}.json").read_text())["verdict"]
        row = table[table.index(f"href='#{name}'"):]
        row = row[:row.index("</tr>")]
        assert html.escape(NOTEBOOK_INFO[name].claim) in row
        assert f">{verdict['verdict']}</span>" in row
        assert html.escape(verdict["rule"]) in row and html.escape(verdict["reason"]) in row
    assert "not run: needs a code model" in index
    assert ">ok<" not in index  # "ran ok" says a notebook executed, never that a claim holds


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_index_opens_in_headless_chromium(micro_report):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package `chromium`; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    report = micro_report["report"]
    assert (report / "index.html").exists(), "the report did not produce an index"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(report)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    errors: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda req: errors.append(f"failed request {req.url}"))
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html", wait_until="load")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])")
            save_screenshot(page, "report-index.png")
            # Every notebook page opens too (nbconvert's HTML, code hidden).
            for name in NOTEBOOKS:
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/{name}.html", wait_until="load")
                assert page.title(), name
            browser.close()
    finally:
        server.shutdown()
    n_figures = sum(len(list((report / "figures" / nb).glob("*.png"))) for nb in NOTEBOOKS)
    assert len(images) == n_figures and n_figures >= len(NOTEBOOKS)
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert not broken, broken
    assert not errors, errors


def test_a_failing_notebook_fails_the_run_loudly(tmp_path):
    bad = tmp_path / "bad.yaml"
    # A known benchmark whose data is not on this offline machine: the parameters load, the notebook fails.
    # Hub model ids instead of the organism's, so that no organism is built first (the suite's time): the
    # notebook fails on the benchmark before it would load a model.
    bad.write_text("benchmarks: [math500]\nmodels:\n"
                   "  - {name: base, path: HuggingFaceTB/SmolLM2-135M, role: base, template: raw}\n"
                   "  - {name: rl, path: HuggingFaceTB/SmolLM2-135M-Instruct, role: rl, template: raw}\n")
    proc = _run(["report", "--params", "micro", "--params", str(bad), "--only", "horizon"],
                tmp_path / "out", tmp_path / "home", timeout=300)
    assert proc.returncode != 0
    assert "horizon" in proc.stderr and "math500" in proc.stderr
    index = (tmp_path / "out" / "report" / "index.html").read_text()
    assert "FAILED" in index
    # The failed notebook is still converted, so its traceback can be read.
    assert (tmp_path / "out" / "report" / "horizon.html").exists()


def test_bad_parameters_stop_before_any_notebook_runs(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("temprature: 0.7\n")
    proc = _run(["report", "--params", str(bad)], tmp_path / "out", tmp_path / "home", timeout=120)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.strip().splitlines() if l]
    assert len(lines) == 1 and "unknown key 'temprature'" in lines[0] and "allowed keys" in lines[0]
    assert not (tmp_path / "out" / "report" / "notebooks").exists()


def _embedded_page_data(page: Path) -> dict:
    """The JSON problems.html renders (its inline script element), read as the browser reads it."""
    text = page.read_text()
    start = text.index("id='problems-data'>") + len("id='problems-data'>")
    return json.loads(text[start:text.index("</script>", start)])


def test_problems_page_sorts_filters_and_expands_in_headless_chromium(micro_report):
    """problems.html from file://: sort by id, filter to "base only", expand a row, check what it shows."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package `chromium`; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    report = micro_report["report"]
    page_file = report / "problems.html"
    assert page_file.exists(), "the report wrote no problems.html"
    assert "href='problems.html'" in (report / "index.html").read_text()
    assert "problems.html#coverage=base_only" in (report / "fig05_accuracy_and_coverage.html").read_text()
    data = _embedded_page_data(page_file)
    # The page's coverage sets are fig05's: same counts as the notebook's headline table.
    fig05 = json.loads((report / "headlines" / "fig05_accuracy_and_coverage.json").read_text())["rows"]
    sets = {"both": "both", "base_only": "base only", "rl_only": "RL only", "neither": "neither"}
    for key, label in sets.items():
        assert sum(p["set"] == label for p in data["problems"]) == sum(r[key] for r in fig05), label
    ids = [p["id"] for p in data["problems"]]
    base_only = [p for p in data["problems"] if p["set"] == "base only"]
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("requestfailed", lambda req: errors.append(f"failed request {req.url}"))
        page.goto(page_file.as_uri(), wait_until="load")  # file://: no server
        page.wait_for_selector("body[data-ready='1']")
        rows = page.locator("tr.problem")
        assert rows.count() == len(ids)

        # Sort: ids ascending, then descending (natural order, as the page sorts).
        page.click("th[data-col='id']")
        assert page.get_attribute("th[data-col='id']", "aria-sort") == "ascending"
        shown = rows.evaluate_all("rs => rs.map(r => r.dataset.id)")
        assert shown == sorted(ids, key=_natural)
        page.click("th[data-col='id']")
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.id)") == sorted(ids, key=_natural, reverse=True)

        # Filter to "base only": exactly fig05's base-only problems.
        page.select_option("#f-coverage", "base only")
        assert rows.count() == len(base_only)
        assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.id)")) == {p["id"] for p in base_only}
        assert page.text_content("#count") == f"{len(base_only)} of {len(ids)} problems shown"
        if not base_only:
            # The micro organism is untrained and solves nothing; expand a row of the whole
            # table instead (test_explore.py expands a base-only row on written samples).
            page.select_option("#f-coverage", "all")
        target = rows.first
        pid = target.get_attribute("data-id")
        expected = next(p for p in data["problems"] if p["id"] == pid)
        target.click()
        detail = page.locator("tr.detail")
        assert detail.count() == 1
        assert detail.locator(".question pre").text_content() == expected["q"]
        for j, model in enumerate(data["models"]):
            section = detail.locator(f"section[data-model='{model['name']}']")
            n, c = expected["m"][j][0], expected["m"][j][1]
            assert f"{c} of {n} correct" in section.locator("h4").text_content()
            cards = section.locator(".sample")
            assert cards.count() == len(expected["s"][j]) <= 4
            assert len(expected["s"][j]) >= min(n, 1)  # a model with samples shows at least one
            for k, s in enumerate(expected["s"][j]):
                card = cards.nth(k)
                assert card.locator("pre.text").text_content() == s["t"]
                assert f"given by {s['x']} of {n} samples" in card.locator(".sample-head").text_content()
                marks = card.locator("mark.first-invalid")
                assert marks.count() == (1 if s["fi"] else 0)
                if s["fi"]:
                    assert marks.text_content() == s["t"][s["fi"][0]:s["fi"][1]]
        # Free text narrows to the problem searched for.
        page.fill("#f-text", pid)
        assert pid in rows.evaluate_all("rs => rs.map(r => r.dataset.id)")
        save_screenshot(page, "problems-page.png")
        browser.close()
    assert not errors, errors


def _natural(value: str):
    """The page's sort order for ids (localeCompare with numeric: true) on ASCII ids."""
    import re

    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.findall(r"\d+|\D+", value)]
