"""spool: what waits its turn stays bounded in memory and comes back exact."""
from tap_listrak.spool import REPLY_MEMORY, ReceivedReply


def test_a_received_reply_is_kept_in_memory_up_to_its_bound_and_on_disk_beyond():
    small, large = ReceivedReply(), ReceivedReply()
    small.write(b"<a/>")
    body = bytes(range(256)) * (REPLY_MEMORY // 256 + 100)
    for start in range(0, len(body), 10_000):
        large.write(body[start:start + 10_000])
    assert not small._file._rolled and large._file._rolled
    assert b"".join(small.chunks(64 * 1024)) == b"<a/>" and small.size == 4
    assert b"".join(large.chunks(4096)) == body and large.size == len(body)
    assert b"".join(large.chunks(64 * 1024)) == body  # read again from the start
    small.close()
    large.close()
