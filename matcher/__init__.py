"""matcher: match enterprise technology needs with institute capabilities.

The supported public API is what ``__all__`` lists; everything else may change.

Examples
--------
>>> import matcher
>>> needs = matcher.load_needs("data/needs.csv")
>>> capabilities = matcher.load_capabilities("data/capabilities.csv")
>>> pairs = matcher.rank_pairs(needs, capabilities, top_k=5)
"""
from . import evaluate
from .agenda import agenda_frames, write_agenda
from .embed import Embedder
from .errors import DataWarning, InfeasibleScheduleError, InputError, MatcherError, ModelUnavailableError
from .rank import DEFAULT_WEIGHTS, ScoreMatrix, rank_organisations, rank_pairs, score_matrix
from .records import load_capabilities, load_needs
from .roadshow import plan_roadshow
from .schedule import Schedule, greedy_schedule, schedule_meetings
from .taxonomy import CLASSIFICATIONS, CLEARANCES, DOMAINS, clearance_allows, infer_domains

__version__ = "0.1.0"

__all__ = [
    "load_needs",
    "load_capabilities",
    "Embedder",
    "score_matrix",
    "rank_pairs",
    "rank_organisations",
    "ScoreMatrix",
    "schedule_meetings",
    "greedy_schedule",
    "Schedule",
    "plan_roadshow",
    "agenda_frames",
    "write_agenda",
    "evaluate",
    "DEFAULT_WEIGHTS",
    "DOMAINS",
    "CLEARANCES",
    "CLASSIFICATIONS",
    "clearance_allows",
    "infer_domains",
    "MatcherError",
    "InputError",
    "ModelUnavailableError",
    "InfeasibleScheduleError",
    "DataWarning",
]
