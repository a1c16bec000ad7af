"""spool: what waits its turn stays bounded in memory and comes back exact."""
from tap_listrak.spool import REPLY_MEMORY, ReceivedReply, Spool, _Files


def test_a_received_reply_is_kept_in_memory_up_to_its_bound_and_on_disk_beyond():
    small, large = ReceivedReply(), ReceivedReply()
    small.write(b"<a/>")
    body = bytes(range(256)) * (REPLY_MEMORY // 256 + 100)
    for start in range(0, len(body), 10_000):
        large.write(body[start:start + 10_000])
    assert not small.on_disk and large.on_disk
    assert b"".join(small.chunks(64 * 1024)) == b"<a/>" and small.size == 4
    assert b"".join(large.chunks(4096)) == body and large.size == len(body)
    assert b"".join(large.chunks(64 * 1024)) == body  # read again from the start
    small.close()
    large.close()


def test_a_file_given_back_is_reused_and_only_its_new_bytes_are_read(monkeypatch):
    """A reused file still holds the longer bytes of its last user; a spool reads only its own."""
    from tap_listrak import spool

    files = _Files(kept=1)
    monkeypatch.setattr(spool, "FILES", files)
    first = Spool(memory=10)
    first.write(b"a" * 5000)
    used = first._file
    first.close()
    second = Spool(memory=10)
    second.write(b"b" * 100)
    assert second._file is used and b"".join(second.chunks(64)) == b"b" * 100
    third = Spool(memory=10)
    third.write(b"c" * 100)  # the only kept file is in use: a new one
    assert third._file is not used
    second.close()
    third.close()  # one more than kept: closed, not kept
    assert files._free == [used] and third.closed
