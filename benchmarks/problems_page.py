"""problems.html at the paper's scale: page size and load time in headless Chromium.

    .venv/bin/python benchmarks/problems_page.py [--problems 500] [--n 1024] [--repeats 5] [--keep PATH]
    .venv/bin/python benchmarks/problems_page.py --page outputs/report/problems.html --screenshot shot.png

A SIZE/SPEED TEST OF THE PAGE, NOT A RESULT: the study is synthetic. 500 math
problems, a base and an RL model with n = 1,024 samples each (1,024,000
verdict rows; per-problem accuracies from a Beta-Binomial, wrong answers from
a Zipf-like spread, response lengths log-normal with median ~2,500 characters
and a long tail to 60,000), built into an `explore.ProblemStudy` and rendered
by the same code as the report's page (`problems_page.render_page`, default
`PageLimits`). Texts are generated only for the samples the page shows.

Prints `name=value` lines (for `make bench`): the time to build the study and
the page, the page size, and the load time in headless Chromium from file://
(navigation start to the table rendered, the page's own performance.now()
mark, and the wall time of the load), median and worst of --repeats fresh
pages; then one filter + expand + sort interaction. `--page` measures a
page the report wrote instead, and `--screenshot` saves it filtered to
`--coverage` (default "base only") with its first row expanded.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from rlboundary import explore, problems_page
from rlboundary.benchmarks import Benchmark, Problem
from rlboundary.figures import GradedRun

CHROMIUM = "/usr/bin/chromium"
BENCH = "synthetic"
WORDS = ("we", "have", "the", "sum", "so", "let", "then", "equation", "substitute", "gives", "therefore",
         "factor", "root", "since", "both", "sides", "divide", "value", "check", "square", "x", "y", "=", "+")


def synthetic_study(n_problems: int, n: int, seed: int = 0) -> explore.ProblemStudy:
    rng = np.random.default_rng(seed)
    problems = [Problem(f"p{i:04d}", f"Problem {i}: " + " ".join(rng.choice(WORDS, 60)) + " Find x.", str(i % 97),
                        {"level": int(1 + i % 5), "subject": ("Algebra", "Geometry", "Number Theory")[i % 3]})
                for i in range(n_problems)]
    bench = Benchmark(BENCH, "math", problems)
    base_acc = rng.beta(0.6, 0.9, n_problems)
    rl_acc = np.clip(base_acc ** 0.6 * (rng.random(n_problems) > 0.08), 0, 1)  # sharper, loses a few problems
    runs = []
    for name, acc in (("base", base_acc), ("rl", rl_acc)):
        correct = rng.random((n_problems, n)) < acc[:, None]
        wrong = np.minimum(rng.zipf(1.6, (n_problems, n)), 40)  # a few common wrong answers, a long tail
        gold = np.array([int(p.reference) for p in problems])[:, None]
        answer = np.where(correct, gold, gold + wrong).astype(str).ravel()
        v = pd.DataFrame({"problem_id": np.repeat([p.id for p in problems], n),
                          "sample_idx": np.tile(np.arange(n, dtype=np.int64), n_problems),
                          "extracted": answer, "verdict": np.where(correct.ravel(), "correct", "incorrect"),
                          "correct": correct.ravel()})
        runs.append(GradedRun({"name": name, "role": "base" if name == "base" else "rl"}, BENCH, 0, 0, n,
                              Path("/nonexistent-synthetic-run"), "math-verify-synthetic", v))
    return explore.build_study(runs, {"base": "base", "rl": "rl"}, "base", "rl", {BENCH: bench}, 256,
                               f"SYNTHETIC size test: {n_problems} problems x {n} samples", texts=synthetic_texts)


_CORPUS = " ".join(np.random.default_rng(1).choice(WORDS, 40_000))


def synthetic_texts(rows: pd.DataFrame) -> list[str]:
    """Reasoning-like text per sample, deterministic in (model, problem, sample), log-normal lengths."""
    out = []
    for model, pid, idx, answer in zip(rows["model"], rows["problem_id"], rows["sample_idx"], rows["answer"]):
        rng = np.random.default_rng(zlib.crc32(f"{model}|{pid}|{int(idx)}".encode()))
        length = int(min(60_000, rng.lognormal(np.log(2500), 0.9)))
        start = int(rng.integers(0, len(_CORPUS) - 1))
        words = (_CORPUS[start:] + " " + _CORPUS) * (1 + length // len(_CORPUS))
        out.append(f"{words[:length]}\nSo the answer is \\boxed{{{answer}}}.")
    return out


def measure_in_chromium(path: Path, repeats: int, screenshot: Path | None = None, coverage: str = "base only") -> dict:
    """Load times of `repeats` fresh pages, one filter + expand + sort, and optionally a screenshot
    filtered to `coverage` with its first row expanded."""
    from playwright.sync_api import sync_playwright

    rendered, wall = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            start = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_selector("body[data-ready='1']")
            wall.append(time.perf_counter() - start)
            rendered.append(page.evaluate("window.problemsPageRenderedMs") / 1000)
            rows = page.locator("tr.problem").count()
            page.close()
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        start = time.perf_counter()
        if page.locator("#f-coverage").count():
            page.select_option("#f-coverage", coverage)
        shown = page.locator("tr.problem").count()
        if shown:
            page.locator("tr.problem").first.click()
            page.wait_for_selector("tr.detail .model-samples")
        page.locator("#problems th").nth(2).click()  # a sort, with the row still expanded
        interaction = time.perf_counter() - start
        if screenshot is not None:
            page.locator("#explorer").scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot), full_page=shown <= 50)
        browser.close()
    return {"rendered": rendered, "wall": wall, "rows": rows, "shown": shown, "interaction": interaction}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="also copy the synthetic page here")
    parser.add_argument("--page", type=Path, help="measure this page (e.g. outputs/report/problems.html) instead of a synthetic one")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot filtered to --coverage with its first row expanded")
    parser.add_argument("--coverage", default="base only", help="the coverage filter of the screenshot")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.page:
            path, tag = args.page.resolve(), "page"
            print(f"# {path}: {path.stat().st_size / 1e6:.2f} MB")
        else:
            path, tag = Path(tmp) / "problems.html", f"{args.problems}x{args.n}"
            synthetic_page(args, path, tag)
        if not Path(CHROMIUM).exists():
            print(f"# {CHROMIUM} missing: no load time (Debian package chromium)")
            return
        m = measure_in_chromium(path, args.repeats, args.screenshot, args.coverage)
    if args.page:
        print(f"problems_page_{tag}_megabytes={path.stat().st_size / 1e6:.2f}")
    print(f"problems_page_{tag}_load_seconds={statistics.median(m['rendered']):.2f}  "
          f"(median of {args.repeats}, navigation start to table rendered; worst {max(m['rendered']):.2f}; target < 2)")
    print(f"problems_page_{tag}_load_wall_seconds={statistics.median(m['wall']):.2f}  "
          f"(goto + rendered, measured by the driver; worst {max(m['wall']):.2f})")
    print(f"problems_page_{tag}_interaction_seconds={m['interaction']:.2f}  "
          f"(filter '{args.coverage}' ({m['shown']} of {m['rows']} rows) + expand the first + sort)")
    if args.screenshot:
        print(f"# screenshot: {args.screenshot} ('{args.coverage}', {'first row expanded' if m['shown'] else 'no row to expand'})")


def synthetic_page(args, path: Path, tag: str) -> None:
    print(f"# SYNTHETIC {args.problems} problems x {args.n} samples x 2 models: a size/speed test of the page, not a result")
    start = time.perf_counter()
    study = synthetic_study(args.problems, args.n)
    build = time.perf_counter() - start
    start = time.perf_counter()
    page, chars, shown = problems_page.render_page(study, problems_page.PageLimits())
    render = time.perf_counter() - start
    print(f"problems_page_{tag}_study_seconds={build:.2f}  (1 table from {len(study.samples):,} verdict rows)")
    print(f"problems_page_{tag}_render_seconds={render:.2f}  ({shown:,} samples shown, texts cut to {chars:,} chars)")
    size = len(page.encode("utf-8"))
    print(f"problems_page_{tag}_megabytes={size / 1e6:.2f}  (cap {problems_page.PageLimits().max_bytes / 1e6:.0f} MB; target < 20)")
    path.write_text(page, encoding="utf-8")
    if args.keep:
        args.keep.write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main()
