"""A burst of keep-alive traffic from several threads: every answer is a real Zoho answer."""

from __future__ import annotations

import threading
from collections import Counter

import requests

THREADS = 8
CALLS_PER_THREAD = 252  # a multiple of the four kinds of call below


def test_two_thousand_keep_alive_requests_get_no_errors_of_the_sandbox(sandbox):
    sandbox.control("config", {"concurrency": THREADS})
    ids = sandbox.seed("Contacts", *({"Last_Name": f"Load {n}"} for n in range(THREADS)))
    token = sandbox.token
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        base = f"{sandbox.url}/crm/v8"
        record_id = ids[number]
        try:
            for call in range(CALLS_PER_THREAD):
                kind = call % 4
                if kind == 0:
                    answer = session.put(f"{base}/Contacts/{record_id}", timeout=10,
                                         json={"data": [{"Seats": call}]})
                elif kind == 1:
                    answer = session.get(f"{base}/Contacts/{record_id}", timeout=10)
                elif kind == 2:
                    answer = session.get(f"{base}/Contacts/search", timeout=10,
                                         params={"criteria": f"(Last_Name:equals:Load {number})"})
                else:
                    answer = session.put(f"{base}/Contacts/{record_id}", timeout=10,
                                         json={"data": [{"Seats": "not a number"}]})
                answer.json()
                with lock:
                    statuses[answer.status_code] += 1
        except Exception as exc:  # collected and asserted below
            with lock:
                failures.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    total = THREADS * CALLS_PER_THREAD
    assert statuses == {200: total * 3 // 4, 400: total // 4}
    stats = sandbox.control("stats", method="GET")
    assert stats["sandbox_errors"] == 0
    assert stats["requests_total"] == total + 1  # and the one token grant
    assert sandbox.state("Contacts", ids[0])["history_count"] == 1 + CALLS_PER_THREAD // 4
