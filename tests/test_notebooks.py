"""The figure notebooks as files: paired, stripped, parameterised, logic-free.

Fast static checks (no kernel); `test_report.py` executes them.
"""

from __future__ import annotations

import ast
import json

import jupytext
import nbformat
import pytest

from rlboundary import params as P
from rlboundary.paths import NOTEBOOKS_DIR
from rlboundary.report import NOTEBOOK_INFO, NOTEBOOKS


def test_every_notebook_has_a_schema_and_an_info():
    assert [nb.name for nb in NOTEBOOKS] == list(P.NOTEBOOKS)


@pytest.mark.parametrize("name", P.NOTEBOOKS)
def test_notebook_is_paired_stripped_and_logic_free(name):
    ipynb = NOTEBOOKS_DIR / f"{name}.ipynb"
    py = NOTEBOOKS_DIR / f"{name}.py"
    nb = nbformat.read(ipynb, as_version=4)
    nbformat.validate(nb)
    # Committed without outputs (the report holds executed copies).
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, name
    # The .py (jupytext percent) and the .ipynb hold the same cells.
    paired = jupytext.read(py)
    assert [(c.cell_type, c.source) for c in paired.cells] == [(c.cell_type, c.source) for c in nb.cells]
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"

    # Opens with its title and the claim it tests.
    first = nb.cells[0]
    info = NOTEBOOK_INFO[name]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {info.title}")
    assert info.claim in first.source

    # Exactly one `parameters` cell: literal assignments only (derived values go in the next cell).
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    tree = ast.parse(tagged[0].source)
    values = {}
    for stmt in tree.body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, ast.dump(stmt)
        values[stmt.targets[0].id] = ast.literal_eval(stmt.value)
    # ... equal to its parameter set (the default one, or its own: params.HOME_SETS), so JupyterLab and the report agree.
    assert P.validate(name, values) == P.load_params(name, P.HOME_SETS.get(name, "default"))

    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for node in ast.walk(ast.parse(code)):
        assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                                     ast.For, ast.While, ast.ListComp, ast.DictComp, ast.SetComp,
                                     ast.GeneratorExp)), f"{name}: logic belongs in the package ({ast.dump(node)[:60]})"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            assert module.startswith("rlboundary"), f"{name} imports {module}: notebooks only call rlboundary"
    assert f'notebook_params("{name}", globals())' in code
    assert f'report.record_headlines("{name}"' in code
    assert "plots.save_figure(" in code
    # Never switch the backend: figures would not be embedded (FACTS.md).
    assert "matplotlib.use" not in code


def test_notebooks_dir_holds_only_paired_figure_notebooks():
    stems = {p.stem for p in NOTEBOOKS_DIR.iterdir() if p.suffix in (".ipynb", ".py")}
    assert stems == set(P.NOTEBOOKS)
    for p in NOTEBOOKS_DIR.glob("*.ipynb"):
        json.loads(p.read_text())  # valid JSON, no merge debris
