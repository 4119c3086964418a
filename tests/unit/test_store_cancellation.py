"""A read that is cancelled stays cancelled, whenever the cancel arrives.

On Python 3.11 `asyncio.wait_for` returns the result instead when the cancel arrives just as the
statement has returned: the task goes on, and whatever waits for it to end (stopping the API's
background refresh, a stop step) waits for ever. The store's reads must not do that.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from insights.store import Store


class AnsweringStore(Store):
    """Its statements answer when the test sets `answer`."""

    answer: asyncio.Future[list[tuple[Any, ...]]]

    async def run(self, fn: Any, *args: Any, quick: bool = False) -> Any:
        return await self.answer


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_a_cancel_accepted_as_the_answer_arrives_is_never_lost(turns: int) -> None:
    """`turns`: loop iterations between the statement's answer and the cancel."""

    async def scenario() -> None:
        store = AnsweringStore("http://nowhere:8123")
        store.answer = asyncio.get_running_loop().create_future()
        reading = asyncio.create_task(store.aquery_rows("SELECT 1"))
        for _ in range(2):
            await asyncio.sleep(0)  # the read waits on its statement
        assert not reading.done()
        store.answer.set_result([(1,)])
        for _ in range(turns):
            await asyncio.sleep(0)
        if reading.cancel():  # accepted: the task had not ended
            with pytest.raises(asyncio.CancelledError):
                await reading
        else:
            assert await reading == [(1,)]
        store.close()

    asyncio.run(scenario())
