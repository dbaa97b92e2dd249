"""Every analyst notebook runs top to bottom, as an analyst would run it (cwd = notebooks/)."""
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import matcher
from matcher import plots

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Seconds per cell; the first run builds the default model into ~/.cache/matcher.
CELL_TIMEOUT = 1800


def test_notebooks_are_stored_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01_explore.ipynb", "02_match_and_evaluate.ipynb", "03_plan_event.ipynb",
                                          "04_reports.ipynb"]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        executed = [i for i, cell in enumerate(notebook.cells)
                    if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
        assert not executed, f"{path.name}: clear the outputs of cells {executed} before committing"


def test_plots_draw_english_labels_without_a_cjk_font():
    # The path a machine without a CJK font takes; filterwarnings=error turns a missing glyph into a failure.
    import matplotlib.pyplot as plt

    needs = matcher.load_needs(ROOT / "data" / "needs.csv")
    capabilities = matcher.load_capabilities(ROOT / "data" / "capabilities.csv")
    scores = matcher.score_matrix(needs, capabilities, weights={"semantic": 0.0})
    pairs = matcher.rank_pairs(needs, capabilities, top_k=5, scores=scores)
    counts = plots.domain_counts(pairs)
    assert counts.shape == (len(matcher.DOMAINS), len(matcher.DOMAINS)) and counts.to_numpy().sum() == len(pairs)
    rng = np.random.default_rng(0)
    axes = [plots.domain_heatmap(counts, lang="en"),
            plots.embedding_map(needs, capabilities, rng.normal(size=(len(needs), 8)),
                                rng.normal(size=(len(capabilities), 8)), lang="en"),
            plots.score_histogram(scores, highlight=pairs[pairs["rank"] == 1], label="top-1", lang="en")]
    try:
        for ax in axes:
            ax.figure.canvas.draw()
        assert [t.get_text() for t in axes[0].get_xticklabels()] == list(plots.DOMAIN_LABELS_EN.values())
    finally:
        plt.close("all")
    with pytest.raises(matcher.InputError, match="unknown domain"):
        plots.domain_labels(["航天"], lang="en")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_errors_or_warnings(path):
    notebook = nbformat.read(path, as_version=4)
    # kernel "python3" resolves to this interpreter (jupyter_client swaps "python" for sys.executable).
    client = NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    noise = [(index, output.get("text", "")[:300])
             for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             for output in cell.outputs
             if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")]
    assert not noise, f"{path.name}: error or stderr output (e.g. warnings) in cells: {noise}"
