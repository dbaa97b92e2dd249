"""Each role sees only what it may do (issue 13): no page shows a form, button or link its viewer may not use.

Every page of the sample event is opened as an organiser of the event, an organiser of another event, an
institute member, an enterprise member, an analyst and a security officer; every form's target (with its
method) and every link on it is matched to its endpoint and checked against the access table. A control
the viewer would get a 403 for is a failure.
"""
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from webapp_helpers import create_event, ensure_user, login
from werkzeug.exceptions import MethodNotAllowed, NotFound

from webapp.access import ACCESS, ADMIN, _permitted
from webapp.db import db
from webapp.models import Capability, Need
from webapp.visibility import viewer_for

PASSWORD = "controls-password-1"


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("action"):
            self.found.append((attrs.get("method", "get").upper(), attrs["action"]))
        elif tag == "a" and attrs.get("href", "").startswith("/"):
            self.found.append(("GET", attrs["href"]))


def pages(app, event_id):
    with app.app_context():
        need = db.session.scalar(select(Need.need_id).where(Need.event_id == event_id).order_by(Need.need_id))
        capability = db.session.scalar(select(Capability.capability_id).where(Capability.event_id == event_id)
                                       .order_by(Capability.capability_id))
        org = db.session.scalar(select(Need.org).where(Need.need_id == need))
    base = f"/events/{event_id}"
    return ["/", "/account", "/history", "/admin/organisations", base, f"{base}/imports", f"{base}/needs",
            f"{base}/capabilities", f"{base}/needs/{need}", f"{base}/capabilities/{capability}", f"{base}/orgs",
            f"{base}/orgs/{org}", f"{base}/search?q=碳化硅", f"{base}/pairings", f"{base}/requests",
            f"{base}/schedule", f"{base}/agendas", f"{base}/roadshow", f"{base}/exports", f"{base}/settings",
            f"{base}/library/draw"]


@pytest.fixture
def people(app, sample_event):
    from webapp.models import Organisation

    with app.app_context():
        enterprise = db.session.scalar(select(Need.org).where(Need.event_id == sample_event, Need.clearance == "二级"))
        institute = db.session.scalar(select(Capability.org).where(Capability.event_id == sample_event))
        assert db.session.scalar(select(Organisation).where(Organisation.name == enterprise)) is not None
    other = create_event(login(app.test_client(), "test-admin", "admin-password-1"), "别的对接会")
    users = {"organiser": ("organiser", {"event_ids": [sample_event]}),
             "other-organiser": ("organiser", {"event_ids": [other]}),
             "enterprise": ("enterprise", {"org": enterprise}), "institute": ("institute", {"org": institute}),
             "analyst": ("analyst", {}), "officer": ("security", {})}
    for name, (role, options) in users.items():
        ensure_user(app, name, role, PASSWORD, **options)
    # A schedule and a request exist, so the pages show their controls.
    organiser = login(app.test_client(), "organiser", PASSWORD)
    organiser.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    from webapp_helpers import latest_job_id, wait_for_job

    organiser.post(f"/events/{sample_event}/schedule/run")
    assert wait_for_job(organiser, sample_event, latest_job_id(app, sample_event, "schedule"))["status"] == "done"
    return list(users)


def test_no_page_shows_a_control_its_viewer_may_not_use(app, sample_event, people):
    from webapp.models import User

    adapter = app.url_map.bind("localhost")
    checked, offending = 0, []
    for name in people:
        client = login(app.test_client(), name, PASSWORD)
        with app.app_context():
            viewer = viewer_for(db.session.scalar(select(User).where(User.username == name)))
        for page in pages(app, sample_event):
            response = client.get(page)
            if response.status_code != 200 or "text/html" not in response.content_type:
                continue
            parser = Controls()
            parser.feed(response.get_data(as_text=True))
            for method, target in parser.found:
                parts = urlsplit(target)
                try:
                    endpoint, args = adapter.match(parts.path, method=method)
                except (NotFound, MethodNotAllowed):
                    continue
                checked += 1
                with app.test_request_context():
                    if not _permitted(ACCESS.get(endpoint, ADMIN), viewer, args.get("event_id")):
                        offending.append((name, page, method, target, endpoint))
    assert checked > 500
    assert offending == [], "\n".join(sorted({f"{n} {e} on {p}" for n, p, _m, _t, e in offending}))
