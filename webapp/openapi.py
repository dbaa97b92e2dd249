"""The OpenAPI 3 document of ``/api``, written as a dict (a test keeps it in step with ``app.url_map``)."""
from __future__ import annotations

import matcher

ERROR_RESPONSES = {
    "400": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
    "422": {"$ref": "#/components/responses/Error"},
    "500": {"$ref": "#/components/responses/Error"},
}


def _ok(schema_name, key, *, array=False, status="200", description="OK"):
    item = {"$ref": f"#/components/schemas/{schema_name}"}
    body = {"type": "object", "required": ["ok", key],
            "properties": {"ok": {"type": "boolean", "const": True},
                           key: {"type": "array", "items": item} if array else item}}
    return {status: {"description": description, "content": {"application/json": {"schema": body}}}, **ERROR_RESPONSES}


def _path_param(name, kind="integer"):
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _query(name, kind="string", description=""):
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": description}


EVENT = [_path_param("event_id")]


def _schemas():
    string, integer, number, boolean = ({"type": t} for t in ("string", "integer", "number", "boolean"))
    nullable_int = {"type": ["integer", "null"]}
    record = {"id": string, "org": string, "title": string, "description": string,
              "domain": {"type": "string", "enum": list(matcher.DOMAINS)}, "domain_inferred": boolean,
              "keywords": string, "region": string, "contact": string, "trl": nullable_int, "cooperation": string}
    return {
        "Error": {"type": "object", "required": ["ok", "error", "errors", "status"], "properties": {
            "ok": {"type": "boolean", "const": False}, "error": string, "status": integer,
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}}},
        "Problem": {"type": "object", "required": ["message"], "description": (
            "One problem, the same shape as matcher's validation problems; unknown parts are null."),
            "properties": {"file": {"type": ["string", "null"]}, "row": {"type": ["integer", "string", "null"]},
                           "column": {"type": ["string", "null"]}, "field": {"type": ["string", "null"]},
                           "value": {}, "allowed": {}, "message": string}},
        "Event": {"type": "object", "properties": {
            "id": integer, "name": string, "date": {"type": ["string", "null"], "format": "date"}, "venue": string,
            "tracks": {"type": "array", "items": string}, "slots": integer, "slot_minutes": integer,
            "start_time": string, "tables": integer, "max_meetings": integer, "ranked": boolean,
            "ranking_stale": boolean, "needs": integer, "capabilities": integer}},
        "EventInput": {"type": "object", "required": ["name", "tracks", "slots", "slot_minutes", "tables",
                                                      "max_meetings"], "properties": {
            "name": string, "date": {"type": "string", "format": "date"}, "venue": string,
            "tracks": {"type": "array", "items": {"type": "string", "enum": list(matcher.DOMAINS)}},
            "slots": integer, "slot_minutes": integer, "start_time": {"type": "string", "pattern": "^\\d{2}:\\d{2}$"},
            "tables": integer, "max_meetings": integer}},
        "Need": {"type": "object", "properties": {
            **record, "clearance": {"type": "string", "enum": list(matcher.CLEARANCES)}}},
        "Capability": {"type": "object", "properties": {
            **record, "classification": {"type": "string", "enum": list(matcher.CLASSIFICATIONS)}}},
        "Suggestion": {"type": "object", "properties": {
            "need_id": string, "capability_id": string, "direction": {"type": "string", "enum": ["need", "capability"]},
            "rank": integer, "score": number, "score_semantic": number, "score_lexical": number,
            "strength": number, "strength_band": {"type": "string", "enum": ["强", "中", "弱", ""]},
            "domain_match": boolean, "reason": string, "shared_terms": string,
            "terms": {"type": "array", "items": string}, "need_org": string, "capability_org": string,
            "need_title": string, "capability_title": string, "need_domain": string, "capability_domain": string,
            "need_clearance": string, "capability_classification": string,
            "decision": {"type": ["string", "null"], "enum": ["accepted", "rejected", None]}, "locked": boolean,
            "eligible": boolean}},
        "Decision": {"type": "object", "properties": {
            "need_id": string, "capability_id": string, "status": {"type": "string", "enum": ["accepted", "rejected"]},
            "locked": boolean, "lock_slot": nullable_int, "lock_table": nullable_int, "source": string}},
        "DecisionInput": {"type": "object", "required": ["need_id", "capability_id", "action"], "properties": {
            "need_id": string, "capability_id": string,
            "action": {"type": "string", "enum": ["accept", "reject", "lock", "unlock", "clear"]}}},
        "Job": {"type": "object", "properties": {
            "id": integer, "event_id": integer, "kind": {"type": "string", "enum": ["rank", "schedule"]},
            "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]}, "progress": integer,
            "stage": string, "stage_label": string, "error": {"type": ["string", "null"]}, "finished": boolean}},
        "Meeting": {"type": "object", "properties": {
            "id": integer, "slot": integer, "time": string, "table": integer, "need_id": string,
            "capability_id": string, "need_org": string, "capability_org": string, "score": number, "locked": boolean}},
        "Unscheduled": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["pair", "participant"]}, "need_id": string, "capability_id": string,
            "need_org": string, "capability_org": string, "org": string, "score": {"type": ["number", "null"]},
            "reason": string}},
        "Deal": {"type": "object", "description": "A pair's deal; amount and registration number are null/empty "
                 "unless the caller organises the event or belongs to one of the two organisations.",
                 "properties": {
            "id": integer, "need_id": string, "capability_id": string, "need_org": string, "capability_org": string,
            "description": string, "domain": string, "stage": {"type": "string", "enum": ["意向", "洽谈", "签约", "登记"]},
            "next_stage": {"type": ["string", "null"]}, "count": integer, "contract_type": string,
            "amount": {"type": ["number", "null"], "description": "成交额, 万元"}, "amount_visible": boolean,
            "signed_on": {"type": ["string", "null"], "format": "date"}, "registration_no": string,
            "registered_on": {"type": ["string", "null"], "format": "date"},
            "may_advance": {"type": "boolean", "description": "The caller may move the deal to its next stage "
                            "(organisers: any; the two parties: 意向 → 洽谈 only)."},
            "may_note": {"type": "boolean", "description": "The caller may write notes (organisers, the two parties)."},
            "party": {"type": "boolean", "description": "The caller belongs to one of the two organisations."}}},
        "Tier": {"type": "object", "properties": {
            "tier": string, "number": string, "valid_from": {"type": ["string", "null"], "format": "date"},
            "valid_until": {"type": ["string", "null"], "format": "date"},
            "status": {"type": "string", "enum": ["valid", "expiring", "expired", "pending"]}}},
        "Organisation": {"type": "object", "properties": {
            "id": integer, "name": string, "kind": {"type": "string", "enum": ["enterprise", "institute"]},
            "credit_code": {"type": ["string", "null"]}, "industry_code": string, "town": string,
            "rd_staff": nullable_int, "revenue_band": string, "main_products": string, "institute_type": string,
            "disciplines": string, "teams": string,
            "tiers": {"type": "array", "items": {"$ref": "#/components/schemas/Tier"}}}},
        "LibraryItem": {"type": "object", "description": "A standing need or achievement (contact null unless "
                        "the viewer owns it, reviews it or the owner accepted the viewer's contact request)",
                        "properties": {
            "id": integer, "kind": {"type": "string", "enum": ["need", "capability"]}, "org": string,
            "title": string, "description": string, "domain": string, "keywords": string, "region": string,
            "trl": nullable_int, "cooperation": string, "ip_status": string, "price": string,
            "classification": string, "status": {"type": "string", "enum": [
                "draft", "pending", "published", "matched", "dealt", "withdrawn", "expired"]},
            "published_at": {"type": ["string", "null"]}, "expires_on": {"type": ["string", "null"]},
            "contact": {"type": ["string", "null"]}}},
        "ChallengeCall": {"type": "object", "description": "A 揭榜挂帅 call; every logged-in member sees calls",
                          "properties": {
            "id": integer, "org": string, "title": string, "requirements": string, "budget": string,
            "domain": string, "deadline": {"type": "string", "format": "date"},
            "status": {"type": "string", "enum": ["open", "closed"]}, "created_at": string,
            "poster": {"type": "boolean", "description": "the caller posts this call (shortlists, picks, exports)"}}},
        "Proposal": {"type": "object", "description": "An institute's answer; seen by the poster, the bureau's "
                     "reviewers and the proposing organisation only", "properties": {
            "id": integer, "call_id": integer, "org": string, "summary": string, "contact": string,
            "status": {"type": "string", "enum": ["submitted", "shortlisted", "picked", "declined"]},
            "created_at": string, "roadshow_event_id": nullable_int}},
        "ProposalInput": {"type": "object", "required": ["summary"], "properties": {
            "summary": string, "contact": string}},
        "Notice": {"type": "object", "properties": {
            "id": integer, "kind": string, "text": string, "link": string, "created_at": string, "read": boolean}},
        "SearchResult": {"type": "object", "properties": {
            "id": string, "org": string, "title": string, "description": string, "domain": string, "rank": integer,
            "score": number, "reason": string, "terms": {"type": "array", "items": string}}},
    }


def _paths():
    schedule_body = {"type": "object", "properties": {
        "ok": {"type": "boolean"}, "run": {"type": ["object", "null"]},
        "meetings": {"type": "array", "items": {"$ref": "#/components/schemas/Meeting"}},
        "unscheduled": {"type": "array", "items": {"$ref": "#/components/schemas/Unscheduled"}}}}
    market_body = {"type": "object", "properties": {
        "ok": {"type": "boolean"}, "total": {"type": "integer"}, "page": {"type": "integer"},
        "page_size": {"type": "integer"}, "items": {"type": "array", "items": {"$ref": "#/components/schemas/LibraryItem"}}}}
    item_body = {"type": "object", "properties": {
        "ok": {"type": "boolean"}, "item": {"$ref": "#/components/schemas/LibraryItem"},
        "suggestions": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"}, "org": {"type": "string"},
            "kind": {"type": "string"}, "score": {"type": "number", "description": "cosine; orders the list"},
            "strength": {"type": ["number", "null"], "description": "calibrated strength (matcher.strength)"},
            "strength_band": {"type": "string", "enum": ["强", "中", "弱", ""]},
            "met": {"type": "boolean", "description": "the organisations met at an event (only with met=1)"}}}}}}
    call_body = {"type": "object", "properties": {
        "ok": {"type": "boolean"}, "call": {"$ref": "#/components/schemas/ChallengeCall"},
        "proposals": {"type": "array", "items": {"$ref": "#/components/schemas/Proposal"}},
        "invite": {"type": "array", "items": {"type": "object", "properties": {
            "org": {"type": "string"}, "strength": {"type": "number"},
            "band": {"type": "string", "enum": ["强", "中", "弱"]}}}}}}
    return {
        "/api/market": {"get": {
            "summary": "The public catalogue: listed items the viewer may see (anonymous: 公开 only), no contacts",
            "operationId": "searchCatalogue",
            "parameters": [_query(name) for name in ("q", "kind", "domain", "cooperation", "region", "since", "sort")]
            + [_query("trl_min", "integer"), _query("page", "integer")],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": market_body}}},
                          **ERROR_RESPONSES}}},
        "/api/library/{item_id}": {"get": {
            "summary": "One library item and (for owners and reviewers) its stored best matches",
            "operationId": "getLibraryItem", "parameters": [_path_param("item_id"), _query(
                "met", "string", "'1' also lists organisations that already met at an event")],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": item_body}}},
                          **ERROR_RESPONSES}}},
        "/api/calls": {"get": {"summary": "Challenge calls (揭榜挂帅), newest first", "operationId": "listCalls",
                               "responses": _ok("ChallengeCall", "calls", array=True)}},
        "/api/calls/{call_id}": {"get": {
            "summary": "One call, the proposals the caller may see (all for its poster and reviewers, else the "
                       "caller's organisation's own) and, for the poster and reviewers, institutes to invite",
            "operationId": "getCall", "parameters": [_path_param("call_id")],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": call_body}}},
                          **ERROR_RESPONSES}}},
        "/api/calls/{call_id}/proposals": {"post": {
            "summary": "An institute member answers an open call (once per organisation, before the deadline)",
            "operationId": "propose", "parameters": [_path_param("call_id")],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ProposalInput"}}}},
            "responses": _ok("Proposal", "proposal", status="201", description="Created")}},
        "/api/inbox": {"get": {"summary": "The viewer's newest notices", "operationId": "listNotices",
                               "responses": _ok("Notice", "messages", array=True)}},
        "/api/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                      "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
        "/api/events": {
            "get": {"summary": "List events", "operationId": "listEvents", "responses": _ok("Event", "events", array=True)},
            "post": {"summary": "Create an event", "operationId": "createEvent",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/EventInput"}}}},
                     "responses": _ok("Event", "event", status="201", description="Created")}},
        "/api/events/{event_id}": {"get": {"summary": "One event and its ranking status", "operationId": "getEvent",
                                           "parameters": EVENT, "responses": _ok("Event", "event")}},
        "/api/events/{event_id}/needs": {"get": {"summary": "Needs of the event", "operationId": "listNeeds",
                                                 "parameters": EVENT, "responses": _ok("Need", "needs", array=True)}},
        "/api/events/{event_id}/capabilities": {"get": {
            "summary": "Capabilities of the event", "operationId": "listCapabilities", "parameters": EVENT,
            "responses": _ok("Capability", "capabilities", array=True)}},
        "/api/events/{event_id}/suggestions": {"get": {
            "summary": "Precomputed suggestions for one need (ranked capabilities) or one capability (ranked needs)",
            "operationId": "listSuggestions",
            "parameters": EVENT + [_query("need_id"), _query("capability_id"), _query("domain"),
                                   _query("min_score", "number"), _query("eligible", "string", "'0' to include "
                                                                         "pairs the clearance rule now forbids"),
                                   _query("hide_rejected", "string", "'1' hides rejected pairs"),
                                   _query("limit", "integer", "1–100, default 10")],
            "responses": _ok("Suggestion", "suggestions", array=True)}},
        "/api/events/{event_id}/decisions": {
            "get": {"summary": "Decisions on pairs", "operationId": "listDecisions", "parameters": EVENT,
                    "responses": _ok("Decision", "decisions", array=True)},
            "post": {"summary": "Accept, reject, lock, unlock or clear a pair", "operationId": "decide",
                     "parameters": EVENT, "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/DecisionInput"}}}},
                     "responses": _ok("Decision", "decision")}},
        "/api/events/{event_id}/rank": {"post": {
            "summary": "Start (or join) the background ranking job", "operationId": "startRanking",
            "parameters": EVENT, "responses": _ok("Job", "job", status="202", description="Accepted")}},
        "/api/events/{event_id}/jobs/{job_id}": {"get": {
            "summary": "Status and progress of a background job", "operationId": "getJob",
            "parameters": EVENT + [_path_param("job_id")], "responses": _ok("Job", "job")}},
        "/api/events/{event_id}/schedule": {"get": {
            "summary": "The latest meeting schedule", "operationId": "getSchedule", "parameters": EVENT,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schedule_body}}},
                          **ERROR_RESPONSES}}},
        "/api/events/{event_id}/deals": {"get": {
            "summary": "Deal pipeline of the event's pairs (意向 → 洽谈 → 签约 → 登记)", "operationId": "listDeals",
            "parameters": EVENT, "responses": _ok("Deal", "deals", array=True)}},
        "/api/organisations": {"get": {
            "summary": "The district's organisation database (organisers), filtered",
            "operationId": "listOrganisations",
            "parameters": [_query("kind", "string", "enterprise or institute"), _query("tier"), _query("town"),
                           _query("industry", "string", "industry-code prefix, e.g. C39"), _query("text")],
            "responses": _ok("Organisation", "organisations", array=True)}},
        "/api/organisations/{org_id}": {"get": {
            "summary": "One organisation's profile and tiers (organisers; members their own)",
            "operationId": "getOrganisation", "parameters": [_path_param("org_id")],
            "responses": _ok("Organisation", "organisation")}},
        "/api/events/{event_id}/search": {"get": {
            "summary": "Free-text search: ranked capabilities (target=capability) or needs (target=need)",
            "operationId": "search",
            "parameters": EVENT + [{**_query("q"), "required": True},
                                   _query("target", "string", "capability (default) or need"),
                                   _query("limit", "integer", "1–50, default 10")],
            "responses": _ok("SearchResult", "results", array=True)}},
    }


def document():
    """The OpenAPI 3.1 document of the JSON API."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "matcher web API", "version": matcher.__version__,
                 "description": "Needs, capabilities, precomputed suggestions, decisions and schedules of docking "
                                "events (军民科技合作项目对接会). Every error is "
                                '{"ok": false, "error": str, "errors": [...], "status": int}.'},
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "responses": {"Error": {"description": "Error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }
