"""JSON API: endpoints, the single error shape, and the OpenAPI document kept in step with the routes."""
import re

import pytest
from webapp_helpers import admin_client, create_event, csrf_login, load_sample, make_app, wait_for_job

ERROR_KEYS = {"ok", "error", "errors", "status"}


def assert_error(response, status):
    body = response.get_json()
    assert response.status_code == status and response.mimetype == "application/json"
    assert set(body) == ERROR_KEYS and body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"] and isinstance(body["errors"], list)
    return body


def test_events_list_create_and_get(client):
    assert client.get("/api/events").get_json() == {"ok": True, "events": []}
    response = client.post("/api/events", json={"name": "API 对接会", "date": "2025-06-01", "tracks": ["新材料"],
                                                 "slots": 6, "slot_minutes": 15, "tables": 10, "max_meetings": 4})
    assert response.status_code == 201
    event = response.get_json()["event"]
    assert event["name"] == "API 对接会" and event["tracks"] == ["新材料"] and not event["ranked"]
    listed = client.get("/api/events").get_json()["events"]
    assert listed[0]["id"] == event["id"] and listed[0]["needs"] == 0
    detail = client.get(f"/api/events/{event['id']}").get_json()
    assert detail["event"]["slot_minutes"] == 15 and detail["ranking"] is None


def test_create_event_validation_is_422_with_field_errors(client):
    body = assert_error(client.post("/api/events", json={"name": "", "tracks": ["火星"], "slots": 0}), 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"name", "tracks", "slots", "slot_minutes", "tables", "max_meetings"} <= fields


def test_records_suggestions_and_decisions(client, sample_event):
    needs = client.get(f"/api/events/{sample_event}/needs").get_json()["needs"]
    assert len(needs) == 82 and needs[0]["id"] == "N001" and needs[0]["clearance"] == "无"
    capabilities = client.get(f"/api/events/{sample_event}/capabilities").get_json()["capabilities"]
    assert len(capabilities) == 88 and {"classification", "domain", "trl"} <= set(capabilities[0])
    rows = client.get(f"/api/events/{sample_event}/suggestions?need_id=N001&limit=3").get_json()["suggestions"]
    assert [r["rank"] for r in rows] == [1, 2, 3] and rows[0]["capability_id"] == "C037"
    assert {"score", "reason", "shared_terms", "terms", "eligible", "decision"} <= set(rows[0])
    by_capability = client.get(f"/api/events/{sample_event}/suggestions?capability_id=C037").get_json()["suggestions"]
    assert by_capability and all(r["capability_id"] == "C037" for r in by_capability)
    response = client.post(f"/api/events/{sample_event}/decisions",
                           json={"need_id": "N001", "capability_id": "C037", "action": "lock"})
    assert response.get_json() == {"ok": True, "decision": {
        "need_id": "N001", "capability_id": "C037", "status": "accepted", "locked": True, "lock_slot": None,
        "lock_table": None, "source": "api"}}
    listed = client.get(f"/api/events/{sample_event}/decisions").get_json()["decisions"]
    assert [(d["need_id"], d["status"]) for d in listed] == [("N001", "accepted")]
    rows = client.get(f"/api/events/{sample_event}/suggestions?need_id=N001&limit=1").get_json()["suggestions"]
    assert rows[0]["decision"] == "accepted" and rows[0]["locked"] is True
    cleared = client.post(f"/api/events/{sample_event}/decisions",
                          json={"need_id": "N001", "capability_id": "C037", "action": "clear"})
    assert cleared.get_json() == {"ok": True, "decision": None}


def test_schedule_and_search_endpoints(client, app, sample_event):
    assert client.get(f"/api/events/{sample_event}/schedule").get_json() == {
        "ok": True, "run": None, "meetings": [], "unscheduled": []}
    client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    client.post(f"/events/{sample_event}/schedule/run")
    from webapp_helpers import latest_job_id

    wait_for_job(client, sample_event, latest_job_id(app, sample_event, "schedule"))
    body = client.get(f"/api/events/{sample_event}/schedule").get_json()
    assert body["run"]["status"] == "optimal" and body["meetings"]
    assert {"slot", "time", "table", "need_id", "capability_id", "locked"} <= set(body["meetings"][0])
    results = client.get(f"/api/events/{sample_event}/search", query_string={"q": "碳化硅外延缺陷", "target": "need"})
    assert results.get_json()["results"][0]["rank"] == 1


def test_rank_endpoint_returns_a_job_to_poll(client):
    event_id = create_event(client)
    load_sample(client, event_id)
    response = client.post(f"/api/events/{event_id}/rank")
    assert response.status_code == 202
    job = response.get_json()["job"]
    assert job["kind"] == "rank" and job["status"] in ("queued", "running", "done")
    assert wait_for_job(client, event_id, job["id"])["status"] == "done"
    assert client.get(f"/api/events/{event_id}").get_json()["ranking"]["status"] == "done"


def test_error_404_unknown_route_event_and_job(client):
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.get("/api/events/4242"), 404)
    event_id = create_event(client)
    assert_error(client.get(f"/api/events/{event_id}/jobs/77"), 404)


def test_error_400_malformed_json(client):
    event_id = create_event(client)
    response = client.post(f"/api/events/{event_id}/decisions", data='{"need_id": "N1",',
                           content_type="application/json")
    body = assert_error(response, 400)
    assert body["error"] == "请求体不是有效的 JSON。"


def test_error_415_without_json_content_type(client):
    event_id = create_event(client)
    response = client.post(f"/api/events/{event_id}/decisions", data={"need_id": "N1"})
    assert_error(response, 415)


def test_error_422_validation(client, sample_event):
    body = assert_error(client.post(f"/api/events/{sample_event}/decisions", json={"need_id": "N001"}), 422)
    assert {e["field"] for e in body["errors"]} == {"capability_id", "action"}
    body = assert_error(client.post(f"/api/events/{sample_event}/decisions",
                                    json={"need_id": "N001", "capability_id": "C037", "action": "explode"}), 422)
    assert body["errors"][0]["field"] == "action"
    assert_error(client.post(f"/api/events/{sample_event}/decisions", json=["not", "an", "object"]), 422)
    assert_error(client.get(f"/api/events/{sample_event}/suggestions"), 422)
    body = assert_error(client.get(f"/api/events/{sample_event}/search?q=x"), 422)
    assert body["errors"][0]["field"] == "q"
    empty = create_event(client, "空")
    assert_error(client.post(f"/api/events/{empty}/rank"), 422)


def test_error_500_uses_the_same_shape(tmp_path):
    app = make_app(tmp_path)

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret detail")

    client = admin_client(app)
    body = assert_error(client.get("/api/boom"), 500)
    assert "secret detail" not in body["error"]
    page = client.get("/api/boom", headers={"Accept": "text/html"})
    assert page.mimetype == "application/json"  # /api is always JSON
    app.extensions["matcher_jobs"].shutdown()


def test_json_errors_for_json_clients_on_pages(client):
    response = client.get("/events/999", headers={"Accept": "application/json"})
    assert_error(response, 404)
    assert client.get("/events/999").mimetype == "text/html"


def openapi_path(rule):
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_openapi_documents_every_api_route(app, client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routed = {(openapi_path(rule.rule), method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


def test_openapi_references_resolve(client):
    document = client.get("/api/openapi.json").get_json()
    text = str(document)
    for ref in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert ref[1] in document["components"][ref[0]], ref
    for path, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, declared)


def test_api_state_changes_need_the_csrf_header(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    client, token = csrf_login(app)
    body = {"name": "x", "tracks": ["新材料"], "slots": 2, "slot_minutes": 10, "tables": 2, "max_meetings": 2}
    refused = assert_error(client.post("/api/events", json=body), 400)
    assert "表单已过期" in refused["error"]
    assert client.post("/api/events", json=body, headers={"X-CSRFToken": token}).status_code == 201
    assert client.get("/api/events").status_code == 200  # reads need no token
    app.extensions["matcher_jobs"].shutdown()


@pytest.mark.parametrize("lang,expected", [("zh_Hans", "页面或数据不存在。"), ("en", "Not found.")])
def test_error_messages_follow_the_language(client, lang, expected):
    client.get(f"/lang/{lang}")
    assert client.get("/api/events/999").get_json()["error"] == expected
