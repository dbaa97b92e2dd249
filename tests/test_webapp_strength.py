"""Pages and the API show the calibrated match strength (band + number), never the per-query score, and flag
needs whose best suggestion is weak."""
import re

from sqlalchemy import func, select

from matcher.strength import BANDS, strength_band
from webapp.db import db
from webapp.models import Suggestion

MEDIUM = dict(BANDS)["中"]


def best_strengths(app, event_id):
    with app.app_context():
        return dict(db.session.execute(select(Suggestion.need_id, func.max(Suggestion.strength)).where(
            Suggestion.event_id == event_id, Suggestion.direction == "need").group_by(Suggestion.need_id)).all())


def test_stored_strength_is_calibrated_and_banded(app, sample_event):
    with app.app_context():
        rows = db.session.scalars(select(Suggestion).where(Suggestion.event_id == sample_event)).all()
    assert rows and all(0.0 <= r.strength <= 1.0 for r in rows)
    assert [r.strength_band for r in rows] == strength_band([r.strength for r in rows]).tolist()
    # Unlike the per-query score, the strength of rank 1 is not 1.00 everywhere.
    firsts = [r.strength for r in rows if r.rank == 1]
    assert min(firsts) < 0.9 and len({round(s, 2) for s in firsts}) > 5


def test_need_page_shows_band_and_strength_not_the_score(client, app, sample_event):
    with app.app_context():
        first = db.session.scalar(select(Suggestion).where(Suggestion.event_id == sample_event,
                                                          Suggestion.direction == "need", Suggestion.need_id == "N001",
                                                          Suggestion.rank == 1))
    page = client.get(f"/events/{sample_event}/needs/N001").get_data(as_text=True)
    shown = re.findall(r'<span class="badge">(强|中|弱)</span> <span class="score-value">([0-9.]+)</span>', page)
    assert len(shown) == 10
    assert shown[0] == (first.strength_band, f"{first.strength:.2f}")
    assert not re.search(r"词汇匹配 [0-9.]+", page)  # the parts that contradicted the total are gone


def test_no_strong_match_flag_fires_only_when_the_best_is_weak(client, app, sample_event):
    best = best_strengths(app, sample_event)
    weak = sorted(n for n, s in best.items() if s < MEDIUM)
    strong = sorted(n for n, s in best.items() if s >= dict(BANDS)["强"])
    assert weak and strong
    for need_id in weak[:2]:
        assert 'id="no-strong-match"' in client.get(f"/events/{sample_event}/needs/{need_id}").get_data(as_text=True)
    for need_id in strong[:2]:
        assert 'id="no-strong-match"' not in client.get(f"/events/{sample_event}/needs/{need_id}").get_data(as_text=True)
    listing = client.get(f"/events/{sample_event}/needs?per_page=200").get_data(as_text=True)
    assert listing.count("暂无强匹配") >= min(len(weak), 1)


def test_english_pages_translate_bands(client, sample_event):
    client.get("/lang/en", follow_redirects=True)
    page = client.get(f"/events/{sample_event}/needs/N001").get_data(as_text=True)
    assert re.search(r'<span class="badge">(strong|medium|weak)</span>', page)


def test_api_returns_strength_and_band(client, sample_event):
    rows = client.get(f"/api/events/{sample_event}/suggestions?need_id=N001").get_json()["suggestions"]
    assert rows and all({"strength", "strength_band"} <= set(r) for r in rows)
    assert all(r["strength_band"] == strength_band([r["strength"]])[0] for r in rows)
