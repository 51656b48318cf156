"""Calling the reward server: `RewardClient`, and verl's reward functions built on it.

verl loads `compute_score` (one response; its reward loop calls it per sample, from threads) or
`compute_score_batched` (a list at a time) through `reward.custom_reward_function`, with the server's
URL and token in `reward_kwargs` (curiosft.rl writes them). The local GRPO backend calls
`RewardClient.score` directly, so both backends grade through the same HTTP path.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

from curiosft.errors import CuriosftError

URL_ENV = "CURIOSFT_REWARD_URL"
# the bearer token, for the server (`curiosft serve-reward`) and its clients alike
TOKEN_ENV = "CURIOSFT_REWARD_TOKEN"


class RewardServerError(CuriosftError, RuntimeError):
    """The reward server refused a request or cannot be reached."""


class RewardClient:
    """POST /score with connection reuse (one session per thread) and retries while the server starts."""

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 600.0, retries: int = 5):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s, self.retries = timeout_s, retries
        self._local = threading.local()

    def _session(self):
        import requests

        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            if self.token:
                session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def health(self) -> dict:
        response = self._session().get(f"{self.url}/health", timeout=10)
        response.raise_for_status()
        return response.json()

    def score(self, items: Sequence[dict], fmt: str = "rl") -> list[dict]:
        """items: {"response", "ground_truth", "data_source", "choices"?} -> [{"score", "reason"}] in order."""
        import requests

        payload = {"items": list(items), "format": fmt}
        for attempt in range(self.retries + 1):
            try:
                response = self._session().post(f"{self.url}/score", json=payload, timeout=self.timeout_s)
            except requests.ConnectionError as exc:
                if attempt == self.retries:
                    raise RewardServerError(f"reward server {self.url} unreachable after {attempt + 1} tries ({exc}); "
                                            "is `curiosft serve-reward` running there?") from None
                time.sleep(min(2.0**attempt * 0.2, 5.0))
                continue
            if response.status_code != 200:
                raise RewardServerError(f"reward server {self.url} answered {response.status_code}: {response.text[:500]}")
            results = response.json()["results"]
            if len(results) != len(payload["items"]):
                raise RewardServerError(f"reward server returned {len(results)} results for {len(items)} items")
            return results
        raise AssertionError("unreachable")


_clients: dict[tuple, RewardClient] = {}
_clients_lock = threading.Lock()


def _client(url: str | None, token: str | None) -> RewardClient:
    url = url or os.environ.get(URL_ENV)
    if not url:
        raise RewardServerError(f"no reward server URL: set reward.custom_reward_function.reward_kwargs.url "
                                f"or {URL_ENV}")
    token = token or os.environ.get(TOKEN_ENV) or None
    with _clients_lock:
        return _clients.setdefault((url, token), RewardClient(url, token=token))


def _item(data_source, solution_str, ground_truth, extra_info) -> dict:
    choices = list((extra_info or {}).get("choices") or []) if isinstance(extra_info, dict) else []
    return {"response": solution_str, "ground_truth": str(ground_truth), "data_source": str(data_source or ""),
            "choices": [str(c) for c in choices]}


def compute_score(data_source, solution_str, ground_truth, extra_info=None, *, url: str | None = None,
                  token: str | None = None, format: str = "rl", **_) -> float:
    """verl's reward function signature: 1.0 if the response's answer equals the ground truth, else 0.0."""
    return float(_client(url, token).score([_item(data_source, solution_str, ground_truth, extra_info)], format)[0]
                 ["score"])


def compute_score_batched(data_sources, solution_strs, ground_truths, extra_infos=None, *, url: str | None = None,
                          token: str | None = None, format: str = "rl", **_) -> list[float]:
    """The batched form (verl's batch reward manager): one request for the whole list."""
    extra_infos = extra_infos if extra_infos is not None else [None] * len(solution_strs)
    items = [_item(*row) for row in zip(data_sources, solution_strs, ground_truths, extra_infos)]
    return [float(r["score"]) for r in _client(url, token).score(items, format)]
