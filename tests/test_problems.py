"""One shape for validation problems (issue 12): records, planning inputs and the web's JSON errors[] items."""
import pandas as pd
import pytest
from webapp_helpers import create_event

from matcher import InputError, load_needs, schedule_meetings
from matcher.errors import PROBLEM_KEYS


def test_record_problems_name_file_row_column_value_and_what_is_allowed(tmp_path):
    path = tmp_path / "needs.csv"
    path.write_text("编号,需求名称,需求描述,所属领域,技术成熟度\nN1,标题,描述,太空农业,12\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_needs(path)
    problems = {p["field"]: p for p in caught.value.problems}
    assert all(tuple(p) == PROBLEM_KEYS for p in problems.values())
    domain = problems["domain"]
    assert (domain["file"], domain["row"], domain["column"], domain["value"]) == ("needs.csv", 2, "所属领域", "太空农业")
    assert "新材料" in domain["allowed"] and problems["trl"]["allowed"] == "1-9"


def test_planning_problems_have_the_same_shape():
    pairs = pd.DataFrame({"need_id": ["N1", ""], "capability_id": ["C1", "C2"], "need_org": ["甲", "乙"],
                          "capability_org": ["丙", "丁"], "score": [0.5, "x"]})
    with pytest.raises(InputError) as caught:
        schedule_meetings(pairs, slots=2, tables=2)
    assert caught.value.problems and all(tuple(p) == PROBLEM_KEYS for p in caught.value.problems)
    assert {p["column"] for p in caught.value.problems} >= {"score"}


def test_json_errors_have_the_same_shape(client):
    event_id = create_event(client)
    body = client.post(f"/api/events/{event_id}/decisions", json={"need_id": "N1"}).get_json()
    assert body["errors"] and all(set(item) == set(PROBLEM_KEYS) for item in body["errors"])
    assert {item["field"] for item in body["errors"]} == {"capability_id", "action"}
