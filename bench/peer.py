"""Runs the published SOAP tap `tap-listrak==1.1.0` (singer-io) against a given WSDL URL.

    <peer venv>/bin/python bench/peer.py WSDL_URL --config CONFIG --properties CATALOG [--state STATE]

Run with the peer's own virtualenv python (`make peer` installs it under .venv-tools/). The peer
builds its zeep client from the module constant `tap_listrak.http.WSDL` (Listrak's production
`https://webservices.listrak.com/v31/IntegrationService.asmx?wsdl`), read by `get_client()` at
call time. This wrapper sets that constant to WSDL_URL before the peer's own `main()` runs; the
emulator's WSDL carries its own address as `soap:address`, so zeep then sends every call there.
Nothing installed is edited. The peer selects streams from `--properties` (it ignores
`--catalog` and falls back to discovery, which selects only `lists` and `messages`).

Against the emulator it extracts all nine streams, record for record the same counts as
tap-listrak with include_test_messages, provided the emulator runs with `--no-nil-items`. With
the emulator's default (a few arrays end with an `xsi:nil` item, which the WSDL allows), zeep
turns that item into an object whose fields are all None; the peer writes it as an all-null
record (in lists, then in messages) and then stops in `streams.new_max_send_dt` with "TypeError:
'>' not supported between instances of 'NoneType' and 'str'" on the nil item's SendDate, before
any message report or subscribed contact.
"""
import sys
from pathlib import Path


def main() -> None:
    if len(sys.argv) < 2 or not sys.argv[1].startswith("http"):
        sys.exit(__doc__)
    wsdl_url = sys.argv.pop(1)
    # Running this file as a script puts bench/ first on sys.path, so this import is the peer's
    # installed package, never this repository's tap_listrak: make sure of it.
    import tap_listrak
    import tap_listrak.http

    if "site-packages" not in Path(tap_listrak.__file__).parts:
        sys.exit(f"peer.py: imported {tap_listrak.__file__}, not the installed peer tap")
    if not hasattr(tap_listrak.http, "WSDL") or not hasattr(tap_listrak.http, "get_client"):
        sys.exit("peer.py: tap_listrak.http.WSDL / get_client not found: not tap-listrak 1.1.0?")
    tap_listrak.http.WSDL = wsdl_url
    tap_listrak.main()


if __name__ == "__main__":
    main()
