"""The last line of defence: whatever logs a secret, the secret does not reach the log output."""
import io
import json
import logging

import pytest

from tap_listrak import cli
from tap_listrak.cli import RedactingFilter

PASSWORD = "s3cr3t-Pa55-\u00e9\U0001F511"
USERNAME = "api-user-4711"


@pytest.fixture
def logged():
    """A logger whose records go through the filter on a real handler into a string."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter((PASSWORD, USERNAME, "")))
    logger = logging.getLogger("tap_listrak.test_redaction")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, out
    logger.handlers[:] = []


@pytest.fixture
def root_logging():
    """setup_logging() changes the root logger: put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("zeep", "urllib3", "requests")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in noisy.items():
        logging.getLogger(name).setLevel(value)


def assert_clean(text: str) -> None:
    assert PASSWORD not in text and USERNAME not in text
    assert "s3cr3t" not in text and "4711" not in text   # not even a piece of either


def test_secret_in_the_message(logged):
    logger, out = logged
    logger.warning(f"logging in with {PASSWORD}")
    assert out.getvalue() == "WARNING tap_listrak.test_redaction logging in with ***\n"


def test_secret_in_the_arguments(logged):
    logger, out = logged
    logger.info("user %s password %r at %d%%", USERNAME, PASSWORD, 50)
    text = out.getvalue()
    assert_clean(text)
    assert text == "INFO tap_listrak.test_redaction user *** password '***' at 50%\n"


def test_secret_in_a_mapping_argument_and_an_object(logged):
    logger, out = logged
    logger.info("config %s", {"username": USERNAME, "password": PASSWORD})

    class Holder:
        def __str__(self):
            return f"Holder({PASSWORD})"

    logger.error(Holder())
    text = out.getvalue()
    assert_clean(text)
    assert "'username': '***'" in text and "Holder(***)" in text


def test_secret_split_over_arguments(logged):
    logger, out = logged
    half = len(PASSWORD) // 2
    logger.info("%s%s", PASSWORD[:half], PASSWORD[half:])
    assert out.getvalue().endswith(" ***\n")


def test_secret_in_the_exception_text(logged):
    logger, out = logged
    try:
        try:
            raise ValueError(f"bad login {USERNAME}")
        except ValueError as cause:
            raise RuntimeError(f"request failed for password={PASSWORD}") from cause
    except RuntimeError:
        logger.exception("request failed")
    text = out.getvalue()
    assert_clean(text)
    assert "Traceback" in text and "RuntimeError: request failed for password=***" in text
    assert "ValueError: bad login ***" in text   # the chained cause too


def test_secret_in_exc_info_passed_explicitly(logged):
    logger, out = logged
    try:
        raise KeyError(PASSWORD)
    except KeyError as exc:
        error = exc
    logger.error("lookup failed", exc_info=(type(error), error, error.__traceback__))
    text = out.getvalue()
    assert_clean(text)
    assert "KeyError: '***'" in text


def test_other_text_passes_unchanged(logged):
    logger, out = logged
    logger.info("%d records of %s, 100%% done", 3, "lists")
    logger.info("a literal %s with no arguments")
    assert out.getvalue().splitlines() == ["INFO tap_listrak.test_redaction 3 records of lists, 100% done",
                                           "INFO tap_listrak.test_redaction a literal %s with no arguments"]


def test_an_empty_secret_redacts_nothing():
    # A blank username must not turn every gap between characters into ***.
    assert RedactingFilter(("", PASSWORD)).secrets == (PASSWORD,)


def test_the_cli_handler_redacts_records_from_any_module(root_logging, capsys):
    handler = cli.setup_logging()
    handler.addFilter(RedactingFilter((PASSWORD, USERNAME)))
    logging.getLogger("tap_listrak.client").warning("retrying as %s/%s", USERNAME, PASSWORD)
    logging.getLogger("zeep.transports").warning("sent <Password>%s</Password>", PASSWORD)
    err = capsys.readouterr().err
    assert_clean(err)
    assert "retrying as ***/***" in err and "<Password>***</Password>" in err


def test_main_redacts_its_critical_line(root_logging, capsys, tmp_path):
    # A catalog naming a stream after the user: the error quotes it, the log line must not.
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"username": USERNAME, "password": PASSWORD, "start_date": "2024-01-01"}),
                      encoding="utf-8")
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"streams": [{"tap_stream_id": f"{USERNAME} {PASSWORD}"}]}), encoding="utf-8")
    assert cli.main(["--config", str(config), "--catalog", str(catalog)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_clean(captured.err)
    (line,) = captured.err.splitlines()   # one line that names the cause
    assert line.startswith("CRITICAL") and "catalog names stream '*** ***'" in line
