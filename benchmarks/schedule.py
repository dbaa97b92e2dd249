"""Benchmark the meeting planner against the round-robin greedy baseline.

Usage::

    PYTHONPATH=. python benchmarks/schedule.py --scale ccn [--json] [--seed 0]
    PYTHONPATH=. python benchmarks/schedule.py --scale bio --json

Instances are random but shaped like real docking events: every enterprise picks candidate
institutes with a popularity skew (a few institutes are wanted by many), each pair links one of
the enterprise's needs to one of the institute's capabilities, and scores follow a Beta
distribution nudged up for popular institutes.
"""
import json
import time

import click
import numpy as np
import pandas as pd

from matcher.planning.schedule import greedy_schedule, schedule_meetings

SCALES = {
    # 125 + 125 participants, 6 meetings each: 750 meetings need 24 slots of 32 tables.
    "ccn": {"enterprises": 125, "institutes": 125, "candidates": 20, "slots": 24, "tables": 32},
    # 8,000 + 8,000 participants, ~48,000 meetings over 64 slots of 1,000 tables.
    "bio": {"enterprises": 8000, "institutes": 8000, "candidates": 30, "slots": 64,
            "tables": 1000},
}


def make_pairs(*, enterprises, institutes, candidates, seed=0):
    """Random candidate pairs: DataFrame need_id, capability_id, need_org, capability_org, score."""
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.5, institutes) + 1.0
    weights = popularity / popularity.sum()
    needs_per = rng.integers(1, 4, enterprises)
    capabilities_per = rng.integers(1, 4, institutes)
    chunks = []
    for e in range(enterprises):
        chosen = rng.choice(institutes, size=candidates, replace=False, p=weights)
        chunks.append(np.c_[np.full(candidates, e), chosen,
                            rng.integers(0, needs_per[e], candidates),
                            rng.integers(0, capabilities_per[chosen])])
    e, i, need, capability = np.concatenate(chunks).T
    boost = np.log1p(popularity[i]) / np.log1p(popularity).max()
    frame = pd.DataFrame({
        "need_id": [f"N{a:05d}-{b}" for a, b in zip(e, need)],
        "capability_id": [f"C{a:05d}-{b}" for a, b in zip(i, capability)],
        "need_org": [f"企业{a:05d}" for a in e],
        "capability_org": [f"院所{a:05d}" for a in i],
        "score": np.round(0.8 * rng.beta(2.0, 5.0, len(e)) + 0.2 * boost, 6),
    })
    return frame.drop_duplicates(["need_id", "capability_id"], ignore_index=True)


def run(scale, seed, time_limit):
    """Solve one instance with the planner and the greedy baseline; return the figures."""
    spec = SCALES[scale]
    pairs = make_pairs(enterprises=spec["enterprises"], institutes=spec["institutes"],
                       candidates=spec["candidates"], seed=seed)
    grid = {"slots": spec["slots"], "tables": spec["tables"], "max_meetings": 6}
    started = time.perf_counter()
    plan = schedule_meetings(pairs, time_limit=time_limit, random_state=seed, **grid)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    greedy = greedy_schedule(pairs, **grid)
    greedy_seconds = time.perf_counter() - started
    return {
        "scale": scale, "seed": seed,
        "participants": spec["enterprises"] + spec["institutes"], "pairs": len(pairs),
        "slots": spec["slots"], "tables": spec["tables"],
        "meetings": len(plan.meetings), "seconds": round(seconds, 3),
        "objective": round(plan.objective, 6), "bound": round(plan.bound, 6),
        "gap": plan.gap, "status": plan.status, "fairness_level": plan.fairness_level,
        "greedy_meetings": len(greedy.meetings), "greedy_seconds": round(greedy_seconds, 3),
        "greedy_objective": round(greedy.objective, 6),
        "greedy_fairness_level": greedy.fairness_level,
        "ratio": round(plan.objective / greedy.objective, 4) if greedy.objective else None,
    }


@click.command()
@click.option("--scale", type=click.Choice(sorted(SCALES)), required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True)
def main(scale, as_json, seed, time_limit):
    """Time schedule_meetings and greedy_schedule on a generated instance."""
    result = run(scale, seed, time_limit)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"{scale}: {result['participants']} participants, {result['pairs']} pairs, "
               f"{result['slots']} slots x {result['tables']} tables")
    click.echo(f"  planner: {result['meetings']} meetings, objective {result['objective']:.3f}, "
               f"bound {result['bound']:.3f}, gap {result['gap']:.2e}, {result['status']}, "
               f"fairness {result['fairness_level']}, {result['seconds']:.2f} s")
    click.echo(f"  greedy:  {result['greedy_meetings']} meetings, objective "
               f"{result['greedy_objective']:.3f}, fairness {result['greedy_fairness_level']}, "
               f"{result['greedy_seconds']:.2f} s")
    click.echo(f"  ratio planner / greedy: {result['ratio']}")


if __name__ == "__main__":
    main()
