"""Bytes waiting their turn: in memory up to a bound, in an anonymous temporary file beyond, so that
what waits costs a bounded amount of memory whatever its size (output.SpooledPage and RecordSpool,
and the replies the client has received but not yet parsed)."""
from __future__ import annotations

import tempfile
from typing import Callable, Iterator

from tap_listrak.errors import SpoolError

REPLY_MEMORY = 32 * 1024  # bytes of a ReceivedReply kept in memory (a full page is 300 KB and more)


def spool_file(memory: int) -> tempfile.SpooledTemporaryFile:
    # Unbuffered once on disk: a file's own 8 KB buffer, times every page waiting, would be memory
    # that grows with the account (pages roll over only once they are large).
    return tempfile.SpooledTemporaryFile(max_size=memory, buffering=0)


def spill(write: Callable[[bytes], object], data: bytes) -> None:
    try:
        write(data)
    except OSError as exc:  # raised as such, it would pass for a network failure and be retried
        raise SpoolError(f"cannot write the temporary file that holds replies and pages waiting their turn, in "
                         f"{tempfile.gettempdir()} ({exc.strerror or exc}): free space there, or point TMPDIR "
                         "at a writable folder") from None


class ReceivedReply:
    """A reply's body as it came off the socket, from its last byte's arrival until it is parsed: in
    memory up to REPLY_MEMORY bytes, on disk beyond. The client gives the request's slot back as
    soon as the reply is in, and parses it after; a full page waiting for its turn to be parsed
    costs no more memory than a small one."""

    def __init__(self):
        self.size = 0
        self._file = spool_file(REPLY_MEMORY)

    def write(self, chunk: bytes) -> None:
        spill(self._file.write, chunk)
        self.size += len(chunk)

    def chunks(self, size: int) -> Iterator[bytes]:
        """The body from its start, `size` bytes at a time."""
        self._file.seek(0)
        while chunk := self._file.read(size):
            yield chunk

    def close(self) -> None:
        self._file.close()
