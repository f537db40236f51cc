"""How you test your own code with the emulator: the pytest plugin's fixtures, no mocks.

Installing butter_async registers `butter_emulator` and `butter_client`; run with
`pytest examples/test_user_suite.py`.
"""

from __future__ import annotations

from butter_async import ButterClient
from butter_async.testing import Emulator, Fault


async def newest_titles(butter: ButterClient, count: int) -> list[str]:
    """The code under test: titles of the newest posts."""
    posts = await butter.posts.list(exclude_body=True).collect(limit=count)
    return [post.title or "" for post in posts]


async def test_newest_titles(butter_client: ButterClient) -> None:
    assert await newest_titles(butter_client, 5) == ["Example Post"]


async def test_newest_titles_survive_a_flaky_api(
    butter_emulator: Emulator, butter_client: ButterClient
) -> None:
    butter_emulator.faults.add(Fault("status", path="posts/", nth=1, status=503))
    assert await newest_titles(butter_client, 1) == ["Example Post"]
    assert butter_emulator.state.status_counts[503] == 1
