"""Benchmark the event-day planner: two-sided wishes and a meeting floor vs today's planner, and re-planning
after 10% no-shows.

Usage::

    PYTHONPATH=. python benchmarks/event_day.py [--json] [--seed 0]

A 300-participant event (150 enterprises, 150 institutes, 12 candidate institutes each, from
``benchmarks/schedule.py``'s generator). Each enterprise marks two candidates 必见 and three 愿见
(drawn at random among its candidates, so not simply its strongest matches); each institute
marks one of its candidates 愿见; 3% of pairs get 不见 from one side.

* today: ``schedule_meetings`` on the scores alone (what the web app ran before wishes).
* wishes: ``wish_weights`` (enterprise weight 1.5), 不见 pairs removed, ``min_meetings=2``.
* replan: 10% of the wish plan's meetings become no-shows; ``replan_meetings`` from slot 1 with the
  left-out pairs as standby. Reported as seconds and as a ratio to the first plan's seconds.
"""
import json
import time

import click
import numpy as np
import pandas as pd
from schedule import make_pairs

from matcher.planning.replan import replan_meetings
from matcher.planning.schedule import schedule_meetings
from matcher.planning.wishes import wish_weights

GRID = {"slots": 10, "tables": 60, "max_meetings": 6}
COLUMNS = ["need_id", "capability_id", "need_org", "capability_org", "score"]


def make_wishes(pairs, seed):
    """``pairs`` with ``need_wish`` and ``capability_wish`` columns drawn as the module docstring says."""
    rng = np.random.default_rng(seed + 1)
    need_wish = np.full(len(pairs), "", dtype=object)
    capability_wish = np.full(len(pairs), "", dtype=object)
    for index in pairs.groupby("need_org").indices.values():
        chosen = rng.permutation(index)
        need_wish[chosen[:2]] = "must"
        need_wish[chosen[2:5]] = "want"
    for index in pairs.groupby("capability_org").indices.values():
        capability_wish[rng.choice(index)] = "want"
    never = rng.random(len(pairs)) < 0.03
    side = rng.random(len(pairs)) < 0.5
    need_wish[never & side] = "never"
    capability_wish[never & ~side] = "never"
    return pairs.assign(need_wish=need_wish, capability_wish=capability_wish)


def _figures(plan, wished, participants):
    met = {frozenset(p) for p in zip(plan.meetings["need_org"], plan.meetings["capability_org"])}
    counts = pd.concat([plan.meetings["need_org"], plan.meetings["capability_org"]]).value_counts()
    counts = counts.reindex(participants, fill_value=0)
    out = {"meetings": len(plan.meetings), "per_participant_min": int(counts.min()),
           "per_participant_median": float(counts.median()),
           "below_2": int((counts < 2).sum()), "status": plan.status}
    for level in ("must", "want"):
        rows = wished[(wished["need_wish"] == level) | (wished["capability_wish"] == level)]
        rows = rows[(rows["need_wish"] != "never") & (rows["capability_wish"] != "never")]
        hit = [frozenset(p) in met for p in zip(rows["need_org"], rows["capability_org"])]
        out[f"{level}_satisfied"] = round(float(np.mean(hit)), 4) if hit else None
    never = wished[(wished["need_wish"] == "never") | (wished["capability_wish"] == "never")]
    seated = set(zip(plan.meetings["need_id"], plan.meetings["capability_id"]))
    out["never_seated"] = sum(key in seated for key in zip(never["need_id"], never["capability_id"]))
    return out


def run(seed, time_limit):
    pairs = make_pairs(enterprises=150, institutes=150, candidates=12, seed=seed)
    wished = make_wishes(pairs, seed)
    participants = sorted(set(pairs["need_org"]) | set(pairs["capability_org"]))
    started = time.perf_counter()
    today = schedule_meetings(pairs[COLUMNS], time_limit=time_limit, random_state=seed, **GRID)
    today_seconds = time.perf_counter() - started
    weighted = wish_weights(wished, enterprise_weight=1.5)
    allowed = weighted[weighted["excluded_by"] == ""][COLUMNS + ["weight"]]
    started = time.perf_counter()
    plan = schedule_meetings(allowed, min_meetings=2, time_limit=time_limit, random_state=seed, **GRID)
    plan_seconds = time.perf_counter() - started
    rng = np.random.default_rng(seed + 2)
    no_shows = plan.meetings.sample(frac=0.10, random_state=rng.integers(1 << 31))[["need_id", "capability_id"]]
    seated = set(zip(plan.meetings["need_id"], plan.meetings["capability_id"]))
    standby = allowed[[key not in seated for key in zip(allowed["need_id"], allowed["capability_id"])]]
    started = time.perf_counter()
    replanned = replan_meetings(plan.meetings, standby, no_shows=no_shows, from_slot=1, time_limit=time_limit,
                                slots=GRID["slots"], tables=GRID["tables"], max_meetings=GRID["max_meetings"])
    replan_seconds = time.perf_counter() - started
    kept = plan.meetings.merge(replanned.meetings, on=["need_id", "capability_id", "slot", "table"])
    return {
        "seed": seed, "participants": len(participants), "pairs": len(pairs), **GRID,
        "today": {**_figures(today, wished, participants), "seconds": round(today_seconds, 3)},
        "wishes": {**_figures(plan, wished, participants), "seconds": round(plan_seconds, 3)},
        "replan": {"no_shows": len(no_shows), "meetings_before": len(plan.meetings),
                   "meetings_after": len(replanned.meetings), "published_kept_in_place": len(kept),
                   "refilled": len(replanned.meetings) - len(kept), "seconds": round(replan_seconds, 3),
                   "ratio_to_first_plan": round(replan_seconds / plan_seconds, 3)},
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True)
def main(as_json, seed, time_limit):
    """Compare today's planner with the wish-aware one and time re-planning after 10% no-shows."""
    result = run(seed, time_limit)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"{result['participants']} participants, {result['pairs']} pairs, {GRID['slots']} slots x "
               f"{GRID['tables']} tables")
    for name in ("today", "wishes"):
        r = result[name]
        click.echo(f"  {name:7s} {r['meetings']} meetings, per participant min {r['per_participant_min']} median "
                   f"{r['per_participant_median']}, below 2: {r['below_2']}, must {r['must_satisfied']}, want "
                   f"{r['want_satisfied']}, never seated {r['never_seated']}, {r['seconds']} s ({r['status']})")
    r = result["replan"]
    click.echo(f"  replan  {r['no_shows']} no-shows: {r['published_kept_in_place']} kept in place, {r['refilled']} "
               f"refilled, {r['seconds']} s = {r['ratio_to_first_plan']} x the first plan")


if __name__ == "__main__":
    main()
