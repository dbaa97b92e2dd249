"""matcher: match enterprise technology needs with institute capabilities.

The supported public API is what ``__all__`` lists; everything else may change.

Examples
--------
>>> import matcher
>>> needs = matcher.load_needs("data/needs.csv")
>>> capabilities = matcher.load_capabilities("data/capabilities.csv")
>>> pairs = matcher.rank_pairs(needs, capabilities, top_k=5)
"""
import os

# PyTorch's OpenMP threads spin while they wait; on a 2-core machine shared with anything else
# that collapses encode throughput (measured 5-12 vs 36 texts/s, benchmarks/encode.py). Passive
# waiting only takes effect before torch starts its OpenMP runtime, and every matcher module
# imports torch lazily, so this is the one place that always runs first. An explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import evaluate
from .ann import VectorIndex
from .duplicates import NearDuplicateIndex
from .embed import Embedder
from .errors import DataWarning, InfeasibleScheduleError, InputError, MatcherError, ModelUnavailableError
from .planning import Schedule, agenda_frames, greedy_schedule, plan_roadshow, schedule_meetings, write_agenda
from .rank import (
    DEFAULT_WEIGHTS,
    LARGE_THRESHOLD,
    ScoreMatrix,
    rank_organisations,
    rank_pairs,
    score_matrix,
    search_pairs,
)
from .records import load_capabilities, load_needs
from .standing import StandingMatches
from .standing_strength import StandingStrength
from .taxonomy import CLASSIFICATIONS, CLEARANCES, DOMAINS, clearance_allows, infer_domains

__version__ = "0.1.0"

__all__ = [
    "CLASSIFICATIONS",
    "CLEARANCES",
    "DEFAULT_WEIGHTS",
    "DOMAINS",
    "LARGE_THRESHOLD",
    "DataWarning",
    "Embedder",
    "InfeasibleScheduleError",
    "InputError",
    "MatcherError",
    "ModelUnavailableError",
    "NearDuplicateIndex",
    "Schedule",
    "ScoreMatrix",
    "StandingMatches",
    "StandingStrength",
    "VectorIndex",
    "agenda_frames",
    "clearance_allows",
    "evaluate",
    "greedy_schedule",
    "infer_domains",
    "load_capabilities",
    "load_needs",
    "plan_roadshow",
    "rank_organisations",
    "rank_pairs",
    "schedule_meetings",
    "score_matrix",
    "search_pairs",
    "write_agenda",
]
