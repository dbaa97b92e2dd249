"""The command line end to end on the sample data."""
import pandas as pd
import pytest
from click.testing import CliRunner
from webapp_helpers import SAMPLE

from matcher import load_needs
from matcher.cli import cli


def test_rank_lexical_only_writes_xlsx(tmp_path):
    out = tmp_path / "pairs.xlsx"
    result = CliRunner().invoke(cli, ["rank", str(SAMPLE / "needs.csv"), str(SAMPLE / "capabilities.csv"),
                                      "--top-k", "3", "--lexical-only", "-o", str(out)])
    assert result.exit_code == 0, result.output
    pairs = pd.read_excel(out, dtype={"need_id": str, "capability_id": str})
    needs = load_needs(SAMPLE / "needs.csv")
    # Nothing lost: every need has exactly its top 3 (the sample allows at least 3 partners for each).
    assert set(pairs["need_id"]) == set(needs["id"])
    assert (pairs.groupby("need_id")["rank"].apply(list) == pd.Series([[1, 2, 3]] * len(needs))
            .set_axis(sorted(needs["id"]))).all()
    assert (pairs.groupby("need_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    assert pairs["reason"].str.contains("需求「").all()


def test_rank_direction_capability_to_stdout():
    result = CliRunner().invoke(cli, ["rank", str(SAMPLE / "needs.csv"), str(SAMPLE / "capabilities.csv"),
                                      "--top-k", "2", "--lexical-only", "--direction", "capability"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("need_id,need_org")


def test_bad_input_gives_one_line_error(tmp_path):
    bad = tmp_path / "needs.csv"
    bad.write_text("编号,需求名称\nN1,标题\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["rank", str(bad), str(SAMPLE / "capabilities.csv"), "--lexical-only"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: needs.csv: missing required column(s) for needs: description")


def test_bad_output_extension(tmp_path):
    result = CliRunner().invoke(cli, ["rank", str(SAMPLE / "needs.csv"), str(SAMPLE / "capabilities.csv"),
                                      "--lexical-only", "-o", str(tmp_path / "pairs.pdf")])
    assert result.exit_code == 1 and "output must end in .csv or .xlsx" in result.output


@pytest.mark.slow
def test_demo_with_default_model(tmp_path):
    out = tmp_path / "pairings.xlsx"
    result = CliRunner().invoke(cli, ["demo", "--output", str(out), "--show", "2"])
    assert result.exit_code == 0, result.output
    needs = load_needs(SAMPLE / "needs.csv")
    assert f"{len(needs)} needs × top 5 → {len(needs) * 5} suggested pairs written to" in result.output
    blocks = [b for b in result.output.split("■ ")[1:]]
    assert len(blocks) == 2  # --show 2
    for block in blocks:
        lines = block.strip().splitlines()
        assert [line.strip()[:2] for line in lines[1::2]] == ["1.", "2.", "3."]
        assert all(line.strip().startswith("理由：") and "匹配强度" in line for line in lines[2::2])
    pairs = pd.read_excel(out, dtype={"need_id": str, "capability_id": str})
    assert set(pairs["need_id"]) == set(needs["id"]) and len(pairs) == len(needs) * 5
    assert pairs["score_semantic"].between(-1, 1).all() and pairs["score_semantic"].std() > 0


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::ResourceWarning")
def test_encode_fills_the_cache_once_and_names_bad_input(tmp_path):
    pytest.importorskip("ray", reason="Ray is the optional 'cluster' extra (make setup installs it)")
    from matcher import Embedder, load_capabilities
    from matcher.records import record_texts

    records = tmp_path / "capabilities.csv"
    pd.read_csv(SAMPLE / "capabilities.csv", dtype=str).head(5).to_csv(records, index=False)
    cache = tmp_path / "cache"
    command = ["encode", str(records), "--kind", "capability", "--workers", "1", "--cache-dir", str(cache)]
    first = CliRunner().invoke(cli, command)
    assert first.exit_code == 0, first.output
    assert "encoded 5 of 5 capability texts" in first.output
    again = CliRunner().invoke(cli, command)
    assert "encoded 0 of 5 capability texts" in again.output
    cached = Embedder(cache_dir=cache)
    cached.encode(record_texts(load_capabilities(records)), role="passage")
    assert cached.n_encoded_ == 0  # the ranking reads what the command wrote

    broken = tmp_path / "broken.csv"
    broken.write_text("id,org,title\nc1,,\n", encoding="utf-8")
    bad = CliRunner().invoke(cli, ["encode", str(broken), "--cache-dir", str(cache)])
    assert bad.exit_code != 0 and "broken.csv" in bad.output and "Traceback" not in bad.output
