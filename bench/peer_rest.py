"""Runs the published REST tap `tap-listrak==2.0.8` (singer-io) against a given REST API base URL.

    <peer venv>/bin/python bench/peer_rest.py BASE_URL TOKEN_URL --config CONFIG --catalog CATALOG [--state STATE]

Run with the REST peer's own virtualenv python (`make peer-rest` installs it under .venv-tools/).
The published tap has two addresses, both fixed in `tap_listrak/client.py`:
- the API, the class attribute `ListrakClient.BASE_URL` (`https://api.listrak.com/email/v1`),
  read on every request as `self.BASE_URL + path`: this wrapper sets it to BASE_URL;
- the token endpoint, a literal `https://auth.listrak.com/OAuth2/Token` inside `get_token()`,
  posted with the client's own `requests.Session`: this wrapper wraps `requests.Session.request`
  (which `Session.post` calls) so that this one URL becomes TOKEN_URL.
Every other request goes out as the tap built it, and the wrapped `Session.request` refuses any
URL that is not on 127.0.0.1, so the run can only ever reach the emulator. Then the tap's own
`main()` runs. Nothing installed is edited.

The tap selects streams from `--catalog` (root metadata `selected: true`); its own discovery
writes no root metadata, so a catalog from `--discover` selects nothing until one is added.
"""
import sys
from pathlib import Path
from urllib.parse import urlsplit

PUBLISHED_TOKEN_URL = "https://auth.listrak.com/OAuth2/Token"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def main() -> None:
    if len(sys.argv) < 3 or not all(arg.startswith("http") for arg in sys.argv[1:3]):
        sys.exit(__doc__)
    base_url, token_url = sys.argv.pop(1).rstrip("/"), sys.argv.pop(1)
    for url in (base_url, token_url):
        if urlsplit(url).hostname not in LOOPBACK:
            sys.exit(f"peer_rest.py: {url} is not on the loopback interface")
    # Running this file as a script puts bench/ first on sys.path, so this import is the peer's
    # installed package, never this repository's tap_listrak: make sure of it.
    import requests
    import tap_listrak
    import tap_listrak.client

    if "site-packages" not in Path(tap_listrak.__file__).parts:
        sys.exit(f"peer_rest.py: imported {tap_listrak.__file__}, not the installed REST peer tap")
    client_class = getattr(tap_listrak.client, "ListrakClient", None)
    if client_class is None or getattr(client_class, "BASE_URL", None) != "https://api.listrak.com/email/v1":
        sys.exit("peer_rest.py: tap_listrak.client.ListrakClient.BASE_URL not found: not tap-listrak 2.0.8?")
    client_class.BASE_URL = base_url

    original = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        if url == PUBLISHED_TOKEN_URL:
            url = token_url
        if urlsplit(url).hostname not in LOOPBACK:
            raise RuntimeError(f"peer_rest.py: refusing a request to {url}: the benchmark is loopback only")
        return original(self, method, url, *args, **kwargs)

    requests.Session.request = request
    tap_listrak.main()


if __name__ == "__main__":
    main()
