"""Singer messages on stdout: one JSON object a line, exact numbers, UTF-8, STATE flushed."""
import io
import json
import sys
from decimal import Decimal

import pytest
import singer

from tap_listrak.output import SingerWriter


def buffered():
    """A text stream over a byte buffer that keeps everything until flushed, like a pipe's stdout."""
    raw = io.BytesIO()
    text = io.TextIOWrapper(io.BufferedWriter(raw, buffer_size=1 << 20), encoding="utf-8", newline="\n")
    return text, raw


def lines_of(out) -> list[str]:
    text = out.getvalue()
    assert text.endswith("\n")
    return text[:-1].split("\n")


def test_messages_have_the_singer_shape():
    out = io.StringIO()
    writer = SingerWriter(out)
    writer.schema("lists", {"type": "object", "properties": {"ListID": {"type": "integer"}}}, ("ListID",))
    writer.records("lists", [{"ListID": 1}, {"ListID": 2}])
    writer.state({"bookmarks": {"lists": {"complete": True}}})
    lines = lines_of(out)
    assert len(lines) == 4
    parsed = [singer.parse_message(line) for line in lines]
    assert isinstance(parsed[0], singer.SchemaMessage)
    assert parsed[0].stream == "lists" and parsed[0].key_properties == ["ListID"]
    assert parsed[0].schema["properties"]["ListID"] == {"type": "integer"}
    assert [type(m) for m in parsed[1:3]] == [singer.RecordMessage, singer.RecordMessage]
    assert [m.record for m in parsed[1:3]] == [{"ListID": 1}, {"ListID": 2}]
    assert all(m.stream == "lists" for m in parsed[1:3])
    assert isinstance(parsed[3], singer.StateMessage)
    assert parsed[3].value == {"bookmarks": {"lists": {"complete": True}}}
    # and each line is plain JSON by the standard library's reading
    assert [json.loads(line)["type"] for line in lines] == ["SCHEMA", "RECORD", "RECORD", "STATE"]
    assert json.loads(lines[1]) == {"type": "RECORD", "stream": "lists", "record": {"ListID": 1}}


def test_one_message_per_line_whatever_the_text():
    out = io.StringIO()
    SingerWriter(out).records("s", [{"t": "line one\nline two\r\n\u2028\u2029 \"quoted\" \\ \t end"}])
    (line,) = lines_of(out)
    assert json.loads(line)["record"]["t"] == "line one\nline two\r\n\u2028\u2029 \"quoted\" \\ \t end"


def test_a_stream_name_that_needs_escaping():
    out = io.StringIO()
    SingerWriter(out).records('odd "name"', [{"a": 1}])
    assert json.loads(lines_of(out)[0])["stream"] == 'odd "name"'


@pytest.mark.parametrize("text", ["0.333333333333333333", "1122.333636363636", "-0.0", "1E+3", "0.10",
                                  "12345678901234567890.123456789"])
def test_decimals_are_written_exactly(text):
    out = io.StringIO()
    SingerWriter(out).records("messages", [{"OpenPercent": Decimal(text)}])
    (line,) = lines_of(out)
    assert f'"OpenPercent":{text}' in line
    assert json.loads(line, parse_float=Decimal)["record"]["OpenPercent"] == Decimal(text)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")])
def test_non_finite_numbers_are_refused_not_written(value):
    # (Records never hold floats: the reply reader reads every fractional type as Decimal.)
    out = io.StringIO()
    with pytest.raises(ValueError):
        SingerWriter(out).records("messages", [{"OpenPercent": value}])
    assert "NaN" not in out.getvalue() and "Infinity" not in out.getvalue()


def test_non_ascii_is_utf8():
    text, raw = buffered()
    writer = SingerWriter(text)
    writer.records("lists", [{"ListName": "\u00dcn\u00efcode list \U0001F389",
                              "FromEmail": "o'brien@ex\u00e4mple.com"}])
    writer.state({})
    data = raw.getvalue()
    assert "\u00dcn\u00efcode list \U0001F389".encode("utf-8") in data    # as UTF-8, not \u escapes
    assert b"\\u" not in data
    assert json.loads(data.decode("utf-8").split("\n")[0])["record"]["ListName"] == "\u00dcn\u00efcode list \U0001F389"


def test_stdout_is_utf8_whatever_the_locale(monkeypatch):
    # Windows pipes and a C/Latin-1 locale give stdout another encoding; targets read UTF-8.
    raw = io.BytesIO()
    latin = io.TextIOWrapper(raw, encoding="latin-1", newline="\n")
    monkeypatch.setattr(sys, "stdout", latin)
    writer = SingerWriter()
    writer.records("lists", [{"ListName": "Caf\u00e9 \U0001F389"}])
    writer.flush()
    assert json.loads(raw.getvalue().decode("utf-8"))["record"]["ListName"] == "Caf\u00e9 \U0001F389"


def test_state_flushes_the_records_before_it():
    text, raw = buffered()
    writer = SingerWriter(text)
    writer.records("message_opens", [{"MsgID": i, "EmailAddress": f"c{i}@example.com"} for i in range(50)])
    assert raw.getvalue() == b""         # records are not flushed one by one
    writer.state({"bookmarks": {"message_opens": {"position": [1, "x", 2]}}})
    lines = raw.getvalue().decode("utf-8").splitlines()
    assert len(lines) == 51
    assert json.loads(lines[-1])["type"] == "STATE"
    assert [json.loads(line)["record"]["MsgID"] for line in lines[:-1]] == list(range(50))


def test_schema_alone_is_not_flushed_but_flush_flushes():
    text, raw = buffered()
    writer = SingerWriter(text)
    writer.schema("lists", {"type": "object"}, ("ListID",))
    writer.flush()
    assert json.loads(raw.getvalue())["type"] == "SCHEMA"


def test_counts_per_stream():
    writer = SingerWriter(io.StringIO())
    assert writer.records_by_stream == {}
    writer.records("lists", [{"ListID": 1}, {"ListID": 2}])
    writer.records("messages", [{"MsgID": 1}])
    writer.records("lists", [{"ListID": 3}])
    writer.records("messages", [])
    writer.schema("message_opens", {"type": "object"}, ())
    writer.state({})
    assert writer.records_by_stream == {"lists": 3, "messages": 1}


def test_nested_values():
    out = io.StringIO()
    record = {"Vmta": {"VmtaID": 7, "Description": None}, "GoogleTrackingDomains": ["a.com", "b.com"],
              "EnableRSS": False, "Rate": Decimal("0.5")}
    SingerWriter(out).records("lists", [record])
    assert json.loads(lines_of(out)[0], parse_float=Decimal)["record"] == record


def test_a_spooled_page_keeps_a_few_batches_in_memory_and_the_rest_on_disk():
    """A page waiting for its turn holds at most SPOOL_MEMORY bytes in memory, and writes out exactly
    the lines of its batches, in order."""
    from tap_listrak.output import SPOOL_MEMORY, SpooledPage, encode_records

    encoded = []

    def encode(batch):
        encoded.append(encode_records("message_opens", batch))
        return encoded[-1]

    page = SpooledPage("message_opens", encode)
    batches = [[{"ContactID": n, "EmailAddress": f"c{n}@example.com" + "x" * 200} for n in range(k, k + 50)]
               for k in range(0, 1000, 50)]
    page.extend(batches[0])
    assert not page._spool.file._rolled  # one batch: still in memory
    for batch in batches[1:]:
        page.extend(batch)
    assert sum(len(batch.data) for batch in encoded) > SPOOL_MEMORY and page._spool.file._rolled
    text, raw = buffered()
    writer = SingerWriter(text)
    writer.write_encoded(page)
    writer.flush()
    records = [json.loads(line)["record"]["ContactID"] for line in raw.getvalue().decode("utf-8").splitlines()]
    assert records == list(range(1000)) and writer.records_by_stream == {"message_opens": 1000}
    assert page._spool.file.closed  # written once, then freed


def test_an_unwritable_temporary_folder_is_one_clear_error_not_a_network_failure(monkeypatch, tmp_path):
    """A spool that cannot roll over to disk says so, naming the folder and the fix; raised as an
    OSError it would pass for a broken connection and be retried."""
    import tempfile

    from tap_listrak.errors import ListrakError, SpoolError
    from tap_listrak.output import SpooledPage, encode_records

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    page = SpooledPage("message_opens", lambda batch: encode_records("message_opens", batch))
    with pytest.raises(SpoolError) as caught:
        page.extend([{"EmailAddress": "x" * 1000, "n": n} for n in range(100)])
    message = str(caught.value)
    assert "missing" in message and "TMPDIR" in message and "\n" not in message
    assert not isinstance(caught.value, (OSError, ListrakError))


def test_a_record_spool_gives_back_its_records_in_order_from_disk_as_often_as_asked():
    """A collected stream's share waits pickled, mostly on disk: every value comes back as it went in
    (exact decimals, nested values, nulls), in order, on every read."""
    from tap_listrak.output import SPOOL_MEMORY, RecordSpool

    spool = RecordSpool()
    records = [{"MsgID": n, "Subject": f"{n:04d}" + "s" * 300, "OrderTotal": Decimal("12.50"), "Nested": {"a": [n]},
                "SendDate": None} for n in range(200)]
    for start in range(0, 200, 30):
        spool.extend(records[start:start + 30])
    spool.extend([])
    assert spool._spool.file._rolled and 200 * 300 > SPOOL_MEMORY
    assert list(spool) == records and list(spool) == records
    assert [len(batch) for batch in spool.batches()] == [30] * 6 + [20]



def test_a_target_that_stopped_reading_is_one_clear_error_and_no_later_state_reaches_it():
    """Over a real pipe: the target reads a unit's records and STATE, then goes away. The next
    unit's lines end the run with OutputClosedError (not an OSError, which would pass for a network
    failure), and so does every later write or flush; no STATE past what the target read got out."""
    import os

    from tap_listrak.errors import ListrakError, OutputClosedError
    from tap_listrak.output import SpooledPage, encode_records

    read_end, write_end = os.pipe()
    with open(read_end, "rb") as target, open(write_end, "w", encoding="utf-8") as stdout:
        writer = SingerWriter(stdout)
        writer.records("lists", [{"ListID": 1}])
        writer.state({"unit": 1})
        received = os.read(target.fileno(), 1 << 16)
        target.close()  # the target stops reading
        page = SpooledPage("lists", lambda batch: encode_records("lists", batch))
        page.extend([{"ListID": n, "ListName": "x" * 100} for n in range(2, 500)])  # on disk, written straight
        with pytest.raises(OutputClosedError) as caught:
            writer.write_encoded(page)
            writer.state({"unit": 2})
        assert page._spool.file.closed  # freed all the same
        with pytest.raises(OutputClosedError):
            writer.state({"unit": 2})
        with pytest.raises(OutputClosedError):
            writer.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())  # what stdout still holds goes nowhere when it is closed
        os.close(devnull)
    assert [json.loads(line)["type"] for line in received.decode().splitlines()] == ["RECORD", "STATE"]
    message = str(caught.value)
    assert message.startswith("the target stopped reading the tap's output (broken pipe): ") and "\n" not in message
    assert not isinstance(caught.value, (OSError, ListrakError))
