"""Which benchmark problem a source record is: by question text, then by id.

    matcher = matcher_for("math500", data_dir, need_gold=True)
    problem_id = matcher.match(source_problem)    # None: remembered as unmatched
    matcher.finish(path)                          # one UserError for all failures

A registered benchmark (or one imported before, see `adhoc`) is matched
first by normalised question text (case, whitespace and the Qwen2.5-Math
"(True or False)" hints ignored; a templated prompt that contains exactly
one benchmark question also matches), then by id (the source's key, or an
id field of the source's document). Anything else is unmatched; a
question that equals several problems' questions and whose id settles
nothing is ambiguous. A name that is no benchmark yet makes an ad-hoc
benchmark from the file's own questions and gold answers.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UserError
from .records import SourceProblem

HINTS = re.compile(r"\s*\((true or false|yes or no)\)\s*$")
EXAMPLES = 3


def normalise(text: str) -> str:
    text = " ".join(str(text).split()).lower()
    return HINTS.sub("", text).strip()


class RegisteredMatcher:
    """Matches records to the problems of an existing benchmark."""

    adhoc = False

    def __init__(self, bench):
        self.bench = bench
        self.by_id = {p.id: p for p in bench.problems}
        self.by_text: dict[str, list[str]] = {}
        for p in bench.problems:
            if p.prompt:
                self.by_text.setdefault(normalise(p.prompt), []).append(p.id)
        self._contained: dict[str, tuple[str | None, list[str]]] = {}
        self.unmatched: list[SourceProblem] = []
        self.ambiguous: list[tuple[SourceProblem, list[str]]] = []
        self.n_unmatched = self.n_ambiguous = 0

    def _by_containment(self, q: str) -> list[str]:
        """Benchmark questions inside a templated prompt: the longest, if unique."""
        if q not in self._contained:
            inside = [t for t in self.by_text if len(t) >= 20 and t in q]
            best = max((len(t) for t in inside), default=0)
            longest = [pid for t in inside if len(t) == best for pid in self.by_text[t]]
            self._contained[q] = longest
        return self._contained[q]

    def match(self, sp: SourceProblem) -> str | None:
        ids = [sp.key, sp.metadata.get("doc_key")]
        if sp.question:
            q = normalise(sp.question)
            found = self.by_text.get(q) or self._by_containment(q)
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                settled = [i for i in ids if i in found]
                if settled:
                    return settled[0]
                self.n_ambiguous += 1
                if len(self.ambiguous) < EXAMPLES:
                    self.ambiguous.append((sp, found))
                return None
        for i in ids:
            if i is not None and i in self.by_id:
                return i
        self.n_unmatched += 1
        if len(self.unmatched) < EXAMPLES:
            self.unmatched.append(sp)
        return None

    def finish(self, path: Path, matched: int) -> None:
        if not (self.n_unmatched or self.n_ambiguous):
            return
        parts = []
        if self.n_unmatched:
            eg = "; ".join(f"line {sp.line} id {sp.key!r}" + (f" {_short(sp.question)!r}" if sp.question else "")
                           for sp in self.unmatched)
            parts.append(f"{self.n_unmatched} record(s) match no problem of benchmark {self.bench.name!r} "
                         f"by question text or id (e.g. {eg})")
        if self.n_ambiguous:
            eg = "; ".join(f"line {sp.line} id {sp.key!r} could be {', '.join(found[:3])}" for sp, found in self.ambiguous)
            parts.append(f"{self.n_ambiguous} record(s) are ambiguous (e.g. {eg})")
        raise UserError(
            f"{path}: {'; '.join(parts)}; {matched} matched.",
            f"check --benchmark (and --data-dir: the data the file was generated from), or import under a new "
            f"--benchmark name to make an ad-hoc benchmark from the file's own questions and gold answers.",
        )


class AdhocMatcher:
    """Every record is its own problem; collects questions and gold answers."""

    adhoc = True

    def __init__(self, name: str):
        self.name = name
        self.problems: dict[str, dict] = {}

    def match(self, sp: SourceProblem) -> str:
        if sp.key not in self.problems:
            meta = {k: v for k, v in sp.metadata.items() if k not in ("grouped", "doc_key")}
            self.problems[sp.key] = {"id": sp.key, "question": sp.question or "", "answer": sp.gold, "metadata": meta}
        else:
            have = self.problems[sp.key]
            if sp.gold is not None and have["answer"] is None:
                have["answer"] = sp.gold
        return sp.key

    def finish(self, path: Path, matched: int) -> None:
        return None


def _short(text: str | None, width: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def matcher_for(benchmark: str, data_dir: str | None):
    """A RegisteredMatcher when `benchmark` names a registered or imported
    benchmark, else an AdhocMatcher building one under that name."""
    from ..benchmarks import get_benchmark, is_known_benchmark

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", benchmark):
        raise UserError(f"benchmark name {benchmark!r} may hold only letters, digits, '_', '.', '-'.",
                        "pick a name like my_math or aime24.")
    if is_known_benchmark(benchmark):
        return RegisteredMatcher(get_benchmark(benchmark, data_dir=data_dir))
    return AdhocMatcher(benchmark)
