"""Bytes waiting their turn: in memory up to a bound, in an anonymous temporary file beyond, so that
what waits costs a bounded amount of memory whatever its size (output.SpooledPage and RecordSpool,
and the replies the client has received but not yet parsed)."""
from __future__ import annotations

import tempfile
import threading
from typing import Callable, Iterator

from tap_listrak.errors import SpoolError

REPLY_MEMORY = 32 * 1024  # bytes of a ReceivedReply kept in memory (a full page is 300 KB and more)
KEPT_FILES = 32  # temporary files kept for reuse once given back (about one per worker and waiting page)


def spool_file(memory: int) -> tempfile.SpooledTemporaryFile:
    # Unbuffered once on disk: a file's own 8 KB buffer, times every page waiting, would be memory
    # that grows with the account (pages roll over only once they are large).
    return tempfile.SpooledTemporaryFile(max_size=memory, buffering=0)


def spill(write: Callable[[bytes], object], data: bytes) -> None:
    try:
        write(data)
    except OSError as exc:  # raised as such, it would pass for a network failure and be retried
        raise _unwritable(exc) from None


def _unwritable(exc: OSError) -> SpoolError:
    return SpoolError(f"cannot write the temporary file that holds replies and pages waiting their turn, in "
                      f"{tempfile.gettempdir()} ({exc.strerror or exc}): free space there, or point TMPDIR at a "
                      "writable folder")


class _Files:
    """Anonymous temporary files, reused: creating one per reply and per page (open, stat, close,
    the inode's allocation and release) cost 70 µs each, about a twentieth of a run's CPU. A file
    given back keeps its blocks; a Spool reads back only the bytes it wrote."""

    def __init__(self, kept: int):
        self.kept, self._free, self._lock = kept, [], threading.Lock()

    def take(self):
        with self._lock:
            if self._free:
                return self._free.pop()
        try:
            return tempfile.TemporaryFile(buffering=0)
        except OSError as exc:
            raise _unwritable(exc) from None

    def give_back(self, file) -> None:
        with self._lock:
            if len(self._free) < self.kept:
                file.seek(0)
                self._free.append(file)
                return
        file.close()


FILES = _Files(KEPT_FILES)


class Spool:
    """Bytes written once, read back from the start as often as needed: in memory up to `memory`
    bytes, in a reused temporary file beyond."""

    def __init__(self, memory: int):
        self.size = 0
        self._memory = memory
        self._buffer: bytearray | None = bytearray()
        self._file = None

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def write(self, data: bytes) -> None:
        if self._file is None:
            if len(self._buffer) + len(data) <= self._memory:
                self._buffer += data
                self.size += len(data)
                return
            self._file = FILES.take()
            self._write(self._buffer)
            self._buffer = None
        self._write(data)
        self.size += len(data)

    def _write(self, data) -> None:
        view = memoryview(data)
        try:
            while view:  # an unbuffered file may take fewer bytes than it is given
                view = view[self._file.write(view):]
        except OSError as exc:
            raise _unwritable(exc) from None

    def chunks(self, size: int) -> Iterator[bytes]:
        """The bytes from the start, `size` at a time."""
        if self._file is None:
            buffer = bytes(self._buffer)
            for start in range(0, len(buffer), size):
                yield buffer[start:start + size]
            return
        self._file.seek(0)
        left = self.size
        while left:
            chunk = self._file.read(min(size, left))
            if not chunk:
                raise SpoolError(f"the temporary file in {tempfile.gettempdir()} lost bytes it was given "
                                 "(truncated by something else?): point TMPDIR at a private folder")
            left -= len(chunk)
            yield chunk

    def close(self) -> None:
        if self._file is not None:
            FILES.give_back(self._file)
        self._file, self._buffer = None, None

    @property
    def closed(self) -> bool:
        return self._file is None and self._buffer is None


class ReceivedReply(Spool):
    """A reply's body as it came off the socket, from its last byte's arrival until it is parsed: in
    memory up to REPLY_MEMORY bytes, on disk beyond. The client gives the request's slot back as
    soon as the reply is in, and parses it after; a full page waiting for its turn to be parsed
    costs no more memory than a small one."""

    def __init__(self):
        super().__init__(REPLY_MEMORY)
