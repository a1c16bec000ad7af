"""Bytes waiting their turn: in memory up to a bound, in an anonymous temporary file beyond
(tempfile.SpooledTemporaryFile), so that what waits costs a bounded amount of memory whatever its
size (output.SpooledPage and RecordSpool, and the replies the client has received but not yet parsed)."""
from __future__ import annotations

import tempfile
from typing import Iterator

from tap_listrak.errors import SpoolError

REPLY_MEMORY = 32 * 1024  # bytes of a ReceivedReply kept in memory (a full page is 300 KB and more)


class Spool:
    """Bytes written once, read back from the start as often as needed: in memory up to `memory`
    bytes, in an anonymous temporary file beyond."""

    def __init__(self, memory: int):
        self.size, self._memory = 0, memory
        # Unbuffered once on disk: a file buffer (8 KB) for each of the hundreds of pages and spools
        # waiting would be memory that grows with the lookahead and the account.
        self.file = tempfile.SpooledTemporaryFile(max_size=memory, buffering=0)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            if self.size + len(view) > self._memory:
                self.file.rollover()  # first: what passes the bound never enters memory (no-op once on disk)
            while view:  # an unbuffered file may take fewer bytes than it is given
                view = view[self.file.write(view):]
        except OSError as exc:  # raised as such, it would pass for a network failure and be retried
            raise SpoolError(f"cannot write the temporary file that holds replies and pages waiting their turn, "
                             f"in {tempfile.gettempdir()} ({exc.strerror or exc}): free space there, or point "
                             "TMPDIR at a writable folder") from None
        self.size += len(data)

    def chunks(self, size: int) -> Iterator[bytes]:
        """The bytes from the start, `size` at a time."""
        self.file.seek(0)
        while chunk := self.file.read(size):
            yield chunk

    def close(self) -> None:
        self.file.close()


class ReceivedReply(Spool):
    """A reply's body as it came off the socket, from its last byte's arrival until it is parsed: in
    memory up to REPLY_MEMORY bytes, on disk beyond. The client gives the request's slot back as
    soon as the reply is in, and parses it after; a full page waiting for its turn to be parsed
    costs no more memory than a small one."""

    def __init__(self):
        super().__init__(REPLY_MEMORY)
