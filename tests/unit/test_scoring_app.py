"""HTTP layer of the scoring service."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from services.scoring.app import app
from shared.contracts.scoring import FindMashupsResponse, MashabilityResponse
from tests.unit.test_scoring_factory import make_analysis, sung


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(app) as test_client:
        yield test_client


def test_two_analyses_score(client: TestClient) -> None:
    body = {"analyses": [make_analysis("vox", bpm=126.0, key="E minor", vocal_intervals=sung()),
                         make_analysis("beat", bpm=124.0, key="A minor")]}
    response = client.post("/calculate-mashability", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    MashabilityResponse.model_validate(data)
    assert data["best_pair"] == ["vox", "beat"] and 0 <= data["overall"] <= 100
    pair = data["pairs"][0]
    assert pair["harmonic"]["type"] == "-1" and pair["rhythmic"]["relation"] == "direct"
    assert pair["recommended"]["vocal_source"] == "vox"
    assert pair["recommended"]["targetKey"] == "A minor"
    assert set(pair["recommended"]["pitch_shift_semitones"]) == {"vox", "beat"}


def test_one_analysis_is_unprocessable(client: TestClient) -> None:
    response = client.post("/calculate-mashability", json={"analyses": [make_analysis("solo")]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "analyses" in response.json()["error"]["message"]


def test_missing_fields_are_unprocessable(client: TestClient) -> None:
    incomplete = make_analysis("b")
    del incomplete["bpm"]
    response = client.post("/calculate-mashability",
                           json={"analyses": [make_analysis("a"), incomplete]})
    assert response.status_code == 422 and "bpm" in response.json()["error"]["message"]


def test_unreadable_key_is_unprocessable(client: TestClient) -> None:
    odd = {**make_analysis("b"), "key": "??", "camelot": "??"}
    response = client.post("/calculate-mashability", json={"analyses": [make_analysis("a"), odd]})
    assert response.status_code == 422
    assert "analyses[1] (songId 'b')" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/calculate-mashability", "/find-mashups"])
@pytest.mark.parametrize("payload", [b"{not json", b"", b"\xff\xfe"])
def test_malformed_json_is_a_bad_request(client: TestClient, path: str, payload: bytes) -> None:
    response = client.post(path, content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_find_mashups_query_and_whole_library(client: TestClient) -> None:
    library = [make_analysis("a", vocal_intervals=sung()), make_analysis("b", bpm=125.0),
               make_analysis("c", bpm=93.0, key="C# major")]
    response = client.post("/find-mashups", json={"library": library, "query": "a", "top_k": 1})
    assert response.status_code == 200, response.text
    data = FindMashupsResponse.model_validate(response.json())
    assert [(m.a, m.b) for m in data.matches] == [("a", "b")]
    response = client.post("/find-mashups", json={"library": library, "top_k": 10})
    pairs = [(m["a"], m["b"]) for m in response.json()["matches"]]
    assert len(pairs) == 3 and pairs[0] == ("a", "b")


def test_find_mashups_names_the_bad_row(client: TestClient) -> None:
    library = [{"songId": "a", "bpm": 120, "key": "A minor"}, {"songId": "b", "key": "A minor"}]
    response = client.post("/find-mashups", json={"library": library})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("library[1] (songId 'b'): needs bpm")
    response = client.post("/find-mashups", json={"library": [library[0], "row"]})
    assert response.status_code == 422 and "library.1" in response.json()["error"]["message"]
    response = client.post("/find-mashups", json={"library": library[:1]})
    assert response.status_code == 422


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["service"] == "scoring"


def test_three_songs_get_overall_and_best_pair(client: TestClient) -> None:
    body = {"analyses": [
        make_analysis("vox", bpm=126.0, key="E minor", vocal_intervals=sung()),
        make_analysis("beat", bpm=124.0, key="A minor", genre="house"),
        make_analysis("odd", bpm=97.0, key="C# major", genre="hip-hop"),
    ]}
    response = client.post("/calculate-mashability", json=body)
    assert response.status_code == 200, response.text
    data = MashabilityResponse.model_validate(response.json())
    assert len(data.pairs) == 3 and set(data.best_pair) == {"vox", "beat"}
    best = max(pair.score for pair in data.pairs)
    assert min(pair.score for pair in data.pairs) <= data.overall <= best
    assert next(p for p in data.pairs if {p.a, p.b} == {"vox", "beat"}).score == best


def test_library_rows_may_name_a_genre(client: TestClient) -> None:
    library = [{"songId": "a", "bpm": 124.0, "key": "A minor", "genre": "techno"},
               {"songId": "b", "bpm": 127.0, "key": "A minor", "genre": "techno"},
               {"songId": "c", "bpm": 124.0, "key": "A minor", "genre": "hip-hop"},
               {"songId": "d", "bpm": 127.0, "key": "A minor", "genre": "hip-hop"}]
    matches = client.post("/find-mashups", json={"library": library, "top_k": 6}).json()["matches"]
    rhythm = {(m["a"], m["b"]): m["rhythmic"] for m in matches}
    assert rhythm[("c", "d")] == 100.0 and rhythm[("a", "b")] < 95.0
    library[0]["genre"] = ["techno"]
    response = client.post("/find-mashups", json={"library": library})
    assert response.status_code == 422 and "library[0]" in response.json()["error"]["message"]
