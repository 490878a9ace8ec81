"""A captured digest Authorization is accepted at most once per server, however many
worker processes serve it (the nonce counts live in memory the workers share)."""

from __future__ import annotations

import os
import textwrap

import trio

import rttp
from rttp.plugin import NonceCounts
from tests.conftest import running_cli


def test_nonce_counts_are_shared_with_forked_processes():
    counts = NonceCounts(slots=64)
    assert counts.advance("n1", 1, expires=100, now=0) is True
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 0
        code |= 1 if counts.advance("n1", 1, expires=100, now=0) is not False else 0
        code |= 2 if counts.advance("n1", 2, expires=100, now=0) is not True else 0
        code |= 4 if counts.advance("n2", 1, expires=100, now=0) is not True else 0
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # what the child accepted, the parent refuses: one memory for both
    assert counts.advance("n1", 2, expires=100, now=0) is False
    assert counts.advance("n2", 1, expires=100, now=0) is False
    assert counts.advance("n1", 3, expires=100, now=0) is True


def test_expired_nonces_free_their_slots_and_a_full_table_refuses():
    counts = NonceCounts(slots=8)
    for index in range(8):
        assert counts.advance(f"n{index}", 1, expires=10, now=0) is True
    assert counts.advance("one more", 1, expires=10, now=0) is None  # full: fail closed
    assert counts.advance("n3", 1, expires=10, now=0) is False  # still remembered
    assert counts.advance("one more", 1, expires=30, now=11) is True  # the rest expired
    assert counts.advance("n3", 1, expires=30, now=11) is True  # its slot was reused


APP = """
import os
import rttp

app = rttp.App()
guard = rttp.auth.require("digest", users={"alice": "wonderland"})


@app.get("/pid")
def pid(request):
    return str(os.getpid())


@app.get("/secret")
@guard
async def secret(request):
    return f"{request.identity.name} {os.getpid()}"
"""


async def test_a_captured_header_is_accepted_once_across_two_workers(tmp_path):
    (tmp_path / "digestapp.py").write_text(textwrap.dedent(APP))
    async with running_cli(
        "serve", "digestapp:app", "--port", "0", "--workers", "2", cwd=str(tmp_path)
    ) as base:
        async with rttp.Client(auth=rttp.auth.digest("alice", "wonderland")) as client:
            first = await client.get(f"{base}/secret")
            assert first.status == 200
            header = first.request.headers["authorization"]
        workers: set[str] = set()
        statuses: list[int] = []
        with trio.fail_after(60):
            while len(statuses) < 20 or (len(workers) < 2 and len(statuses) < 200):
                # a new connection each time: connections are spread over the workers
                async with rttp.Client() as fresh:
                    workers.add((await fresh.get(f"{base}/pid")).text)
                    replay = await fresh.get(f"{base}/secret", headers={"Authorization": header})
                statuses.append(replay.status)
                if replay.status == 401:
                    assert "already used" in replay.text
        assert len(workers) == 2  # both workers were asked
        assert set(statuses) == {401}  # used once, by the first request, on either worker
