"""``matcher schedule``: plan meetings from a pairs file and write the agenda."""
from __future__ import annotations

import pathlib

import click

from matcher import sources
from matcher.agenda import write_agenda
from matcher.errors import InputError, MatcherError
from matcher.schedule import schedule_meetings

__all__ = ["read_table", "schedule_command"]

TABLE_SUFFIXES = (".csv", ".xlsx")


def read_table(path, *, name="file"):
    """Read a CSV (UTF-8, UTF-8 with BOM, UTF-16 or GB18030) or XLSX table with every cell as text.

    Decoding and parsing are :func:`matcher.sources.read_table`'s; this only restricts the
    suffixes and names the table in the errors it raises itself.

    Parameters
    ----------
    path : str or os.PathLike
    name : str, default "file"
        What the table is, for error messages ("pairs", "availability", ...).

    Returns
    -------
    pandas.DataFrame
        Cells as strings (``str`` dtype, stripped); empty cells are NaN. Ids keep leading zeros.

    Raises
    ------
    InputError
        The file is missing, has another suffix, or cannot be decoded or parsed.

    Examples
    --------
    >>> pairs = read_table("pairs.csv", name="pairs")
    >>> pairs.columns[:2].tolist()
    ['need_id', 'capability_id']
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"{name} file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"{name} file {str(path)!r} must be {' or '.join(TABLE_SUFFIXES)}; "
                         f"got {path.suffix or 'no suffix'!r}")
    frame = sources.read_table(path, aliases={}).frame
    return frame.mask(frame.eq("")).astype(str)


def _optional(path, name):
    return None if path is None else read_table(path, name=name)


def _one_line(text):
    return " ".join(str(text).split())


@click.command("schedule")
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
def schedule_command(pairs, slots, tables, max_meetings, min_meetings, availability, locked,
                     vetoed, fairness, time_limit, output):
    """Schedule one-to-one meetings from the ranked PAIRS file (CSV or XLSX)."""
    try:
        plan = schedule_meetings(
            read_table(pairs, name="pairs"), slots=slots, tables=tables,
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
