"""20 concurrent edits with the same If-Match: exactly one wins, 19 get 412, none lost.

Runs a real uvicorn server in a thread on 127.0.0.1 (file-based SpatiaLite or PostGIS),
driven by 20 threads that start together.
"""

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from tests.api.conftest import V1


@pytest.fixture
def server(app):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(10)


def test_twenty_concurrent_edits_one_wins(server, tokens, world):
    base = server
    h = tokens["planner"]
    with httpx.Client(base_url=base, timeout=60) as c:
        plan = c.post("/api/v1/plans", json={"name": "race"}, headers=h).json()
        cells = c.get(f"/api/v1/cells?plan={plan['id']}", headers=h).json()["features"]
    by_key = {f["properties"]["cell_key"]: f["id"] for f in cells}
    etag = plan["etag"]
    hids = world.households[V1]  # six households; each thread moves a different one
    targets = [by_key[f"{V1}-M01-C02"] if world.cell_of[x].endswith("C01") else by_key[f"{V1}-M01-C01"]
               for x in hids]
    barrier = threading.Barrier(20)
    results = [None] * 20

    def edit(i):
        body = {"moves": [{"household_id": hids[i % 6], "cell_id": targets[i % 6]}]}
        with httpx.Client(base_url=base, timeout=60) as c:
            barrier.wait()
            r = c.patch(f"/api/v1/plans/{plan['id']}/assignments", json=body,
                        headers={**h, "If-Match": etag})
            results[i] = (r.status_code, r.headers.get("etag"), i)

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    codes = sorted(r[0] for r in results)
    assert codes == [200] + [412] * 19, codes
    winner = next(r for r in results if r[0] == 200)
    with httpx.Client(base_url=base, timeout=60) as c:
        now = c.get(f"/api/v1/plans/{plan['id']}", headers=h)
        assert now.headers["etag"] == winner[1]
        assert now.json()["version"] == plan["version"] + 1
        # the winner's move is there; nobody else's
        moved = winner[2] % 6
        for k, hid in enumerate(hids):
            r = c.get(f"/api/v1/households/{hid}", params={"plan": plan["id"]}, headers=tokens["admin"])
            cell = r.json()["properties"]["cell_id"]
            expected = targets[k] if k == moved else by_key[world.cell_of[hid]]
            assert cell == expected, (k, moved)
        counts = sorted(f["properties"]["households"] for f in
                        c.get(f"/api/v1/cells?plan={plan['id']}", headers=h).json()["features"])
        assert sum(counts) == 12 and counts == [2, 3, 3, 4]
        audit = c.get("/api/v1/audit", params={"action": "move_households"}, headers=tokens["admin"]).json()
        assert audit["numberMatched"] == 1
