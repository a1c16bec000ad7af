"""spool: what waits its turn stays bounded in memory and comes back exact."""
import os

from tap_listrak.spool import REPLY_MEMORY, ReceivedReply


def test_a_received_reply_is_kept_in_memory_up_to_its_bound_and_on_disk_beyond():
    small, large = ReceivedReply(), ReceivedReply()
    small.write(b"<a/>")
    body = bytes(range(256)) * (REPLY_MEMORY // 256 + 100)
    for start in range(0, len(body), 10_000):
        large.write(body[start:start + 10_000])
    assert not small.file._rolled and large.file._rolled
    assert b"".join(small.chunks(64 * 1024)) == b"<a/>" and small.size == 4
    assert [len(chunk) for chunk in large.chunks(4096)][:-1] == [4096] * (len(body) // 4096)
    assert b"".join(large.chunks(4096)) == body and large.size == len(body)
    assert b"".join(large.chunks(64 * 1024)) == body  # read again from the start
    small.close()
    large.close()
    assert small.file.closed and large.file.closed


def test_what_spills_to_disk_leaves_no_file_behind(monkeypatch, tmp_path):
    """The temporary file has no name in the folder: nothing is left there, even by a run killed
    before it could clean up."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    replies = [ReceivedReply() for _ in range(3)]
    for reply in replies:
        reply.write(b"x" * (REPLY_MEMORY + 1))
    assert all(reply.file._rolled for reply in replies) and os.listdir(tmp_path) == []
    for reply in replies:
        reply.close()
