"""The REST client against a scripted server on 127.0.0.1: token, cursor pages, exact decimals, a
refused token renewed once, throttling, and refusals as one-line errors without secrets."""
from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tap_listrak.config import parse_config
from tap_listrak.errors import AuthenticationError, IPNotAuthorizedError, NotFoundError
from tap_listrak.rest_client import RestClient

SECRET = "Cs-secret-for-tests-0042"


class Script(BaseHTTPRequestHandler):
    """Answers by the server's `answer(method, path, query, headers, body) -> (status, headers, body)`."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        status, headers, payload = self.server.answer(method, split.path, parse_qs(split.query), self.headers, body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")


@pytest.fixture
def server():
    servers = []

    def start(answer):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Script)
        httpd.daemon_threads = True
        httpd.answer = answer
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def client_for(base: str, **settings) -> RestClient:
    return RestClient(parse_config({"client_id": "client-4711", "client_secret": SECRET, "start_date": "2024-01-01",
                                    "rest_base_url": f"{base}/email/v1", "rest_token_url": f"{base}/OAuth2/Token",
                                    "backoff_base_seconds": 0.01, **settings}))


class Account:
    """Token grants and three pages of activity, recorded."""

    def __init__(self):
        self.grants, self.requests, self.lock = 0, [], threading.Lock()
        self.valid: set[str] = set()

    def token(self, body: bytes):
        form = parse_qs(body.decode())
        if form != {"grant_type": ["client_credentials"], "client_id": ["client-4711"], "client_secret": [SECRET]}:
            return 400, {}, {"error": "Invalid Credentials"}
        with self.lock:
            self.grants += 1
            token = f"tok{self.grants}" + "x" * 40
            self.valid.add(token)
        return 200, {}, {"access_token": token, "token_type": "bearer", "expires_in": 3599}

    def __call__(self, method, path, query, headers, body):
        if path == "/OAuth2/Token":
            assert method == "POST" and headers["Content-Type"] == "application/x-www-form-urlencoded"
            return self.token(body)
        self.requests.append((path, query))
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid:
            return 401, {}, {"status": 401, "error": "ERROR_UNAUTHORIZED",
                             "message": "Authorization was denied for this request."}
        return self.route(path, query)

    def route(self, path, query):
        if path == "/email/v1/List/7/Message/9/Activity":
            cursor = query["cursor"][0]
            number = {"Start": 0, "c1": 1, "c2": 2}[cursor]
            data = [{"emailAddress": f"a{number}-{i}@x.test", "orderTotal": 12.10 + i} for i in range(2)]
            body = json.dumps({"status": 200, "nextPageCursor": ["c1", "c2", None][number], "data": data})
            return 200, {}, body.replace("12.1}", "12.10}").encode()
        return 404, {}, {"status": 404, "error": "ERROR_UNABLE_TO_LOCATE_RESOURCE",
                         "message": "Unable to locate a resource associated with the listId supplied."}


def test_cursor_pages_with_the_token_and_exact_decimals(server):
    account = Account()
    client = client_for(server(account))
    pages = list(client.pages("List/{listId}/Message/{messageId}/Activity", listId=7, messageId=9,
                              dateType="Activity"))
    assert [len(page) for page in pages] == [2, 2, 2]
    assert pages[0][0]["orderTotal"] == Decimal("12.10") and str(pages[0][0]["orderTotal"]) == "12.10"
    assert [q["cursor"][0] for _, q in account.requests] == ["Start", "c1", "c2"]
    assert all(q["count"] == ["5000"] and q["dateType"] == ["Activity"] for _, q in account.requests)
    assert account.grants == 1
    assert client.requests_by_operation["OAuth2/Token"] == 1


def test_a_refused_token_is_renewed_once_and_the_request_goes_on(server):
    account = Account()
    client = client_for(server(account))
    client.items("List/{listId}/Message/{messageId}/Activity", listId=7, messageId=9, cursor="Start")
    account.valid.clear()  # revoked or expired on Listrak's side
    assert len(client.items("List/{listId}/Message/{messageId}/Activity", listId=7, messageId=9,
                            cursor="Start")) == 2
    assert account.grants == 2 and client.statuses[401] == 1


def test_a_token_refused_twice_ends_the_run_naming_the_fix(server):
    account = Account()
    account.token = lambda body: (200, {}, {"access_token": "never-valid-token", "expires_in": 3599})
    client = client_for(server(account))
    with pytest.raises(AuthenticationError) as caught:
        client.items("List/{listId}/Message/{messageId}/Activity", listId=7, messageId=9, cursor="Start")
    message = str(caught.value)
    assert "client_id" in message and "client_secret" in message and "Integrations Manager" in message
    assert client.cancelled and "never-valid-token" not in message


def test_wrong_credentials_are_one_line_without_the_secret(server):
    client = RestClient(parse_config({"client_id": "client-4711", "client_secret": "Cs-wrong-secret-99",
                                      "start_date": "2024-01-01", "rest_base_url": server(Account()) + "/email/v1",
                                      "rest_token_url": server(Account()) + "/OAuth2/Token"}))
    with pytest.raises(AuthenticationError) as caught:
        client.items("List")
    assert "client_secret" in str(caught.value) and "Cs-wrong-secret-99" not in str(caught.value)


def test_403_is_a_refused_ip_or_access_area_and_404_a_vanished_object(server):
    account = Account()
    client = client_for(server(account))
    assert pytest.raises(NotFoundError, client.items, "List/{listId}/Campaign", listId=1)
    assert not client.cancelled  # a vanished object ends only its unit
    account.route = lambda path, query: (403, {}, {"status": 403, "error": "ERROR_UNAUTHORIZED", "message": "no"})
    with pytest.raises(IPNotAuthorizedError, match="allowlist"):
        client.items("List")


def test_429_is_retried_after_retry_after_and_lowers_the_requests_in_flight(server):
    account, throttled = Account(), []

    def route(path, query):
        if not throttled:
            throttled.append(time.monotonic())
            return 429, {"Retry-After": "1"}, {"status": 429, "error": "TOO_MANY_REQUESTS", "message": "slow down"}
        throttled.append(time.monotonic())
        return 200, {}, {"status": 200, "data": [{"listId": 1}]}

    account.route = route
    client = client_for(server(account), max_workers=4)
    assert client.items("List") == [{"listId": 1}]
    assert throttled[1] - throttled[0] >= 0.9  # the server's Retry-After, not the 0.01 s backoff
    assert client.slots.throttles == 1 and client.slots.lowest == 2


def test_a_server_that_allows_four_at_once_loses_nothing(server):
    """12 workers against a server that throttles above 4 requests in flight: every page arrives."""
    account, state = Account(), {"in": 0, "most": 0, "lock": threading.Lock()}

    def route(path, query):
        with state["lock"]:
            state["in"] += 1
            over = state["in"] > 4
            state["most"] = max(state["most"], state["in"])
        try:
            if over:
                return 429, {}, {"status": 429, "error": "TOO_MANY_REQUESTS", "message": "slow down"}
            time.sleep(0.02)
            list_id = int(path.split("/")[4])
            return 200, {}, {"status": 200, "data": [{"campaignId": list_id}]}
        finally:
            with state["lock"]:
                state["in"] -= 1

    account.route = route
    client = client_for(server(account), max_workers=12, backoff_max_tries=30)
    results, threads = {}, []

    def read(list_id):
        results[list_id] = client.items("List/{listId}/Campaign", listId=list_id)

    for list_id in range(1, 61):
        threads.append(threading.Thread(target=read, args=(list_id,)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    assert results == {list_id: [{"campaignId": list_id}] for list_id in range(1, 61)}
    assert client.slots.throttles >= 1 and client.slots.lowest <= 6
