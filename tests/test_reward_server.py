"""The reward server over real HTTP on loopback: scores, timeouts, malformed requests, auth, load, shutdown;
and verl's reward function calling it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from curiosft.reward.client import RewardClient, RewardServerError, compute_score, compute_score_batched
from curiosft.reward.lifecycle import reward_service
from curiosft.reward.loadgen import PATHOLOGICAL_ANSWERS, make_pairs

TOKEN = "test-token-123"
TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def url():
    with reward_service(workers=2, timeout_s=TIMEOUT_S, token=TOKEN, max_body_bytes=200_000) as url:
        yield url


@pytest.fixture(scope="module")
def client(url):
    return RewardClient(url, token=TOKEN)


def post(url, json=None, token=TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{url}/score", json=json, headers=headers, timeout=60, **kwargs)


def test_scores_come_back_in_order_with_reasons(client):
    pairs = make_pairs(40, seed=3)
    results = client.score([item for item, _ in pairs], "rl")
    assert [r["score"] for r in results] == [expected for _, expected in pairs]
    assert all(r["reason"] for r in results)
    reasons = {r["reason"] for r in results}
    # text matches decided without a worker, values compared in the workers, a missing </think>
    assert {"boxed match", "equal value", "no </think> (rl format)"} <= reasons


def test_the_server_names_its_grader_and_a_run_refuses_a_server_with_another(url, client):
    health = client.health()
    assert (health["grader"], health["grader_version"]) == ("curiosft", "4")
    reply = post(url, {"items": [{"response": "<think></think>\\boxed{1}", "ground_truth": "1"}]}).json()
    assert reply["grader"] == "curiosft-4"
    with reward_service(url=url, token=TOKEN, grader="curiosft") as same:
        assert same == url
    with pytest.raises(RewardServerError, match=r"grades with curiosft-4, the run with release-1 \(scoring.grader="
                                                r"release\); restart it with --grader release"):
        with reward_service(url=url, token=TOKEN, grader="release"):
            pass


def test_reward_hacks_are_paid_nothing_over_http(client):
    """Issue 33: a value beyond float range once compared equal to every number (reward 1.0 for 10^{400})."""
    think = "<think>\nNo idea; a huge number should do.\n</think>\n\n"
    hacks = ["$\\boxed{10^{400}}$", "$\\boxed{-10^{999}}$", "$\\boxed{2^{5000}}$", "$\\boxed{\\frac{400!}{2^{50}}}$",
             "$\\boxed{\\infty}$", "$\\boxed{\\text{NaN}}$", "$\\boxed{}$", "$\\boxed{10^{10^{10}}}$"]
    results = client.score([{"response": think + hack, "ground_truth": "204"} for hack in hacks], "rl")
    assert [r["score"] for r in results] == [0.0] * len(hacks), results
    assert results[-1]["reason"].startswith("unverifiable"), results  # beyond 10^10000: not compared at all
    assert not any("equal" in r["reason"] for r in results), results
    choices = ["10", "11", "12", "13"]
    hedges = ["\\boxed{A}\\boxed{B}\\boxed{C}\\boxed{D}", "The answer is A; B; C; D.", "The answer is: 10; 11; 12; 13."]
    results = client.score([{"response": think + h, "ground_truth": "C", "choices": choices} for h in hedges], "rl")
    assert [r["score"] for r in results] == [0.0] * len(hedges), results


def test_eval_format_grades_the_whole_response_and_choices_are_graded_by_letter(client):
    no_think = {"response": "The answer is \\boxed{12}.", "ground_truth": "12", "data_source": "x"}
    assert client.score([no_think], "rl")[0]["score"] == 0.0
    assert client.score([no_think], "eval")[0]["score"] == 1.0
    choice = {"response": "<think>.</think> The answer is (C).", "ground_truth": "C", "data_source": "mc",
              "choices": ["10", "11", "12", "13"]}
    assert client.score([choice], "rl")[0] == {"score": 1.0, "reason": "correct choice"}


def test_pathological_inputs_are_answered_within_the_timeout(client):
    items = [{"response": f"<think></think>\\boxed{{{a}}}", "ground_truth": "1", "data_source": "p"}
             for a in PATHOLOGICAL_ANSWERS]
    started = time.perf_counter()
    results = client.score(items, "rl")
    elapsed = time.perf_counter() - started
    assert all(r["score"] == 0.0 for r in results)
    # two workers: at worst every item times out, two at a time, plus worker restarts
    assert elapsed < len(items) / 2 * TIMEOUT_S + 2 * len(items) + 5, elapsed
    assert any(r["reason"].startswith("timeout after") for r in results)
    # the server is still healthy and grading
    assert client.score([{"response": "<think></think>\\boxed{\\frac12}", "ground_truth": "0.5"}], "rl")[0]["score"] == 1


@pytest.mark.parametrize("body,fragment", [
    ({"items": [{"response": "x"}]}, "ground_truth"),
    ({"items": "not a list"}, "items"),
    ({"items": [], "format": "essay"}, "format"),
    ({"items": [{"response": "x", "ground_truth": "1", "colour": "red"}]}, "colour"),
    ({}, "items"),
])
def test_malformed_requests_get_a_4xx_naming_the_field(url, body, fragment):
    response = post(url, json=body)
    assert response.status_code == 422
    assert fragment in response.text


def test_invalid_json_oversized_bodies_and_wrong_routes_get_4xx(url):
    response = requests.post(f"{url}/score", data=b"{not json", timeout=10,
                             headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert response.status_code == 422 and "JSON" in response.text
    big = {"items": [{"response": "x" * 1000, "ground_truth": "1"}] * 300}
    response = post(url, json=big)
    assert response.status_code == 413 and "200000 bytes" in response.text
    assert requests.get(f"{url}/score", timeout=10).status_code == 405
    assert requests.get(f"{url}/nothing", timeout=10).status_code == 404
    # a streamed (chunked) body over the limit is cut off too
    record = b'{"response": "' + b"x" * 150_000 + b'", "ground_truth": "1"},'
    chunks = iter([b'{"items": [', record, record])
    response = requests.post(f"{url}/score", data=chunks, timeout=10,
                             headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert response.status_code == 413


def test_the_bearer_token_is_required_when_configured(url):
    item = {"items": [{"response": "<think></think>\\boxed{1}", "ground_truth": "1"}]}
    assert post(url, json=item, token=None).status_code == 401
    assert post(url, json=item, token="wrong").status_code == 401
    assert post(url, json=item).status_code == 200
    assert requests.get(f"{url}/health", timeout=10).json()["status"] == "ok"
    with pytest.raises(RewardServerError, match="401"):
        RewardClient(url, token="wrong").score(item["items"])


def test_32_concurrent_clients_for_20_seconds_without_a_failed_request(url):
    pairs = make_pairs(256, pathological_fraction=0.02, seed=7)
    stop = time.monotonic() + 20
    failures, done = [], []
    lock = threading.Lock()

    def worker(k: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        i = k
        while time.monotonic() < stop:
            batch = [pairs[(i + j) % len(pairs)] for j in range(8)]
            i += 8
            try:
                response = session.post(f"{url}/score", json={"items": [b for b, _ in batch], "format": "rl"},
                                        timeout=60)
                results = response.json()["results"]
                ok = response.status_code == 200 and all(
                    expected is None and r["score"] == 0.0 or r["score"] == expected
                    for (_, expected), r in zip(batch, results))
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                ok, results = False, repr(exc)
            with lock:
                (done if ok else failures).append(results)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(worker, range(32)))
    assert not failures, failures[:3]
    assert len(done) >= 32, len(done)


def test_verl_reward_functions_call_the_server(url):
    kwargs = {"url": url, "token": TOKEN}
    assert compute_score("tiny_arith", "<think>1+1</think> \\boxed{2}", "2", {}, **kwargs) == 1.0
    assert compute_score("tiny_arith", "\\boxed{2}", "2", None, **kwargs) == 0.0
    assert compute_score("tiny_arith", "\\boxed{2}", "2", None, format="eval", **kwargs) == 1.0
    scores = compute_score_batched(["a", "a", "mc"], ["<think></think>\\boxed{3}", "<think></think>\\boxed{4}",
                                                      "<think></think>(B)"], ["3", "3", "B"],
                                   [None, None, {"choices": ["5", "6"]}], **kwargs)
    assert scores == [1.0, 0.0, 1.0]


def test_a_busy_port_fails_with_a_clear_message(url):
    port = url.rsplit(":", 1)[1]
    proc = subprocess.run([sys.executable, "-m", "curiosft.cli", "serve-reward", "--port", port],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr


def test_a_started_server_stops_with_its_block_and_frees_the_port():
    with reward_service(workers=1, timeout_s=1.0) as url:
        assert requests.get(f"{url}/health", timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=2)
