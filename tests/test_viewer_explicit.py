"""Who is looking is an argument, never a guess (issue 12).

Every service that returns records takes the viewer explicitly, with no default; outside a
request nothing falls back to "sees everything": calling without a viewer is an error, and so
is asking for the request's viewer where there is no request.
"""
import importlib
import inspect
import pkgutil
import re

import pytest

import webapp.services
from webapp import visibility

#: visibility helpers that decide nothing about a viewer (qualifications, building a viewer).
NOT_ABOUT_A_VIEWER = {"effective_clearance", "verified_clearances", "viewer_for", "allowed_tiers", "current_viewer"}
#: What a function may name from visibility without being about a viewer itself.
NEUTRAL = re.compile(r"visibility\.(SYSTEM|MEMBER_ROLES|effective_clearance|verified_clearances|Viewer)\b")


def service_functions():
    for info in pkgutil.iter_modules(webapp.services.__path__):
        module = importlib.import_module(f"webapp.services.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{info.name}.{name}", function


def reads_visibility(function):
    source = NEUTRAL.sub("", inspect.getsource(function))
    return "visibility." in source


def test_every_service_that_filters_by_viewer_takes_one_without_default():
    checked = []
    for name, function in service_functions():
        if not reads_visibility(function):
            continue
        parameters = inspect.signature(function).parameters
        assert "viewer" in parameters, f"{name} reads visibility but takes no viewer"
        assert parameters["viewer"].default is inspect.Parameter.empty, f"{name} gives the viewer a default"
        checked.append(name)
    assert len(checked) >= 15, checked  # the rule covers the record-returning services, not a handful


def test_visibility_rules_take_the_viewer_first_and_without_default():
    for name, function in inspect.getmembers(visibility, inspect.isfunction):
        if function.__module__ != visibility.__name__ or name.startswith("_") or name in NOT_ABOUT_A_VIEWER:
            continue
        first = next(iter(inspect.signature(function).parameters.values()))
        assert first.name == "viewer" and first.default is inspect.Parameter.empty, name


def test_outside_a_request_there_is_no_implicit_viewer(app):
    with app.app_context():
        with pytest.raises(RuntimeError, match="pass the viewer explicitly"):
            visibility.current_viewer()
        for name, function in service_functions():
            if "viewer" not in inspect.signature(function).parameters:
                continue
            with pytest.raises(TypeError, match="viewer"):
                function()  # every required argument is missing; the message names the viewer first


def test_jobs_pass_the_system_viewer_on_purpose():
    from webapp.services import planning, ranking

    # The ranking job reads every record, the scheduling job plans every accepted pair.
    assert "records_frame(visibility.SYSTEM" in inspect.getsource(ranking.run_ranking)
    assert "accepted_pairs(visibility.SYSTEM" in inspect.getsource(planning._candidate_pairs)
