"""Planning the docking sessions: who meets whom, in which slot, at which table; the roadshow; agendas.

Modules
-------
``schedule``
    :func:`schedule_meetings` (exact b-matching + slot colouring, MILP fallback), :class:`Schedule`,
    the greedy baseline; encode → solve → decode.
``inputs``
    Validation and encoding of pairs, limits, availability, locks and vetoes.
``solver``
    The HiGHS models (LP, MILP, fairness levels) on the encoded problem.
``colouring``
    Edge colouring of the chosen meetings into slots, and tables per slot.
``roadshow``
    :func:`plan_roadshow`: tracks, talk order and invitations.
``agenda``
    :func:`write_agenda` / :func:`agenda_frames`: the workbook or CSVs a clerk prints.
"""
from .agenda import agenda_frames, write_agenda
from .roadshow import plan_roadshow
from .schedule import Schedule, greedy_schedule, schedule_meetings

__all__ = ["Schedule", "agenda_frames", "greedy_schedule", "plan_roadshow", "schedule_meetings", "write_agenda"]
