"""Progress on stderr: a line every few seconds, or a bar on a terminal."""
import logging

from tap_listrak.progress import Progress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_lines_at_most_every_interval_with_counts_rate_and_eta(caplog):
    clock = FakeClock()
    progress = Progress(interval=5.0, terminal=False, clock=clock)
    progress.start("message reports", total=10, unit="message reports")
    with caplog.at_level(logging.INFO, logger="tap_listrak.progress"):
        for _ in range(4):
            clock.now += 1.0
            progress.advance(records=100)          # 1 s apart: not yet
        clock.now += 1.0
        progress.advance(records=100)              # 5 s in: a line
        clock.now += 1.0
        progress.advance(records=100)              # 1 s later: quiet again
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["progress: message reports 5/10 message reports done, 500 records, 100 records/s, "
                     "ETA 0:00:05"]


def test_a_bar_on_a_terminal(capsys):
    clock = FakeClock()
    progress = Progress(interval=60.0, terminal=True, clock=clock)
    progress.start("subscribed_contacts", total=4, unit="lists")
    for _ in range(4):
        clock.now += 2.0
        progress.advance(records=250)
    progress.finish()
    err = capsys.readouterr().err
    assert err.startswith("\rsubscribed_contacts")
    assert "[##############################] 4/4 lists, 1,000 records, 125/s" in err
    assert err.endswith("\n")
