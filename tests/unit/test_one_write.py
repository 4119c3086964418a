"""A response leaves in one write to the socket: OneWrite holds a connection's writes until the response
is complete, or until the loop's next turn for one sent in parts, and never loses or reorders bytes."""

from __future__ import annotations

import asyncio

from insights.http_server import OneWrite


class Transport:
    """What the socket was asked to send, write by write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"extra {name}"


def one_write() -> tuple[OneWrite, Transport]:
    transport = Transport()
    return OneWrite(transport, asyncio.get_running_loop()), transport  # type: ignore[arg-type]


def test_a_head_and_body_written_apart_leave_in_one_write_when_flushed() -> None:
    async def check() -> None:
        held, socket = one_write()
        held.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        held.write(memoryview(b"{}"))
        assert socket.writes == []
        assert held.get_write_buffer_size() == 40
        held.flush()
        assert socket.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        held.flush()  # nothing left: no empty write
        assert len(socket.writes) == 1

    asyncio.run(check())


def test_what_is_not_flushed_leaves_at_the_loops_next_turn_in_order() -> None:
    async def check() -> None:
        held, socket = one_write()
        held.write(b"first part, ")
        held.write(b"")
        held.write(b"second part")
        await asyncio.sleep(0)
        assert socket.writes == [b"first part, second part"]
        held.write(b"a later part")
        await asyncio.sleep(0)
        assert socket.writes == [b"first part, second part", b"a later part"]

    asyncio.run(check())


def test_a_long_response_is_written_on_as_it_grows_so_flow_control_still_holds() -> None:
    async def check() -> None:
        held, socket = one_write()
        part = b"x" * (OneWrite.HELD_BYTES // 4)
        for _ in range(9):  # an export's parts, sent without the loop turning in between
            held.write(part)
        assert [len(write) for write in socket.writes] == [OneWrite.HELD_BYTES, OneWrite.HELD_BYTES]
        assert held.get_write_buffer_size() == len(part)
        await asyncio.sleep(0)
        assert b"".join(socket.writes) == part * 9

    asyncio.run(check())


def test_close_sends_what_is_held_first_and_abort_drops_it() -> None:
    async def check() -> None:
        held, socket = one_write()
        held.write(b"the last answer")
        held.close()
        assert socket.writes == [b"the last answer"] and socket.closed
        await asyncio.sleep(0)  # the flush scheduled by the write finds nothing to send
        assert socket.writes == [b"the last answer"]

        held, socket = one_write()
        held.write(b"never sent")
        held.abort()
        await asyncio.sleep(0)
        assert socket.writes == [] and socket.aborted

    asyncio.run(check())


def test_everything_else_is_the_transports() -> None:
    async def check() -> None:
        held, _ = one_write()
        assert held.get_extra_info("peername") == "extra peername"
        assert not held.is_closing()

    asyncio.run(check())
