"""The REST part of `make bench`: ours with REST credentials next to the published REST tap 2.0.8.

The REST emulator (`tests.rest_emulator`) runs as its own process with the SOAP part's account
(same data knobs), 100 ms per request by default (its latency counts from a request's arrival, its
own work included). On that one account, one after the other:
- one unmeasured run of ours over the eleven streams both taps have, so that the measured runs meet
  a server whose data is already generated;
- ours and the published tap `tap-listrak==2.0.8` (its own virtualenv, pointed at the emulator by
  bench/peer_rest.py), measured, each selecting the shared streams 2.0.8 can extract from this
  account (`PEER_REST_STREAMS`);
- for every other shared stream, 2.0.8 with that stream alone, unmeasured: how it ends, the
  records it wrote before, and the first error it printed; and ours over those streams.

Why only five of the eleven in the timed pair: 2.0.8's schemas declare every string field as a
non-null string, and its singer Transformer stops the run (SchemaMismatch) on the first null. The
API declares these fields as nullable reference types (fact sheet §0, §5), and the emulator
serves nulls in some of them (campaignName, a message detail's googleAnalyticsCampaignName,
conversationName, a transactional message's subject): campaigns, messages, conversations,
conversation_messages and transactional_messages stop there. conversation_message_activity is
only read when conversation_messages is selected too. Nothing in a wrapper can change that
without changing the tap's schemas, so the bench prints how each of them ends instead.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.emulators import RestEmulator
from tap_listrak.catalog import build_catalog
from tap_listrak.streams import REST
from tests.e2e.tap_runner import TAP, catalog_selecting

ROOT = Path(__file__).resolve().parent.parent
REST_PEER_PYTHON = ROOT / ".venv-tools" / "tap-listrak-2.0.8" / "bin" / "python"
REST_LATENCY_MS = 100
# 2.0.8 reads everything since start_date (activity: every message sent from a week before it).
REST_START_DATE = "2000-01-01T00:00:00Z"
# The eleven streams 2.0.8 has, by the same names in ours.
SHARED_REST_STREAMS = ("lists", "campaigns", "contacts", "messages", "message_activity", "message_links",
                       "message_link_clickers", "conversations", "conversation_messages",
                       "conversation_message_activity", "transactional_messages")
# Those it extracts from the emulator's account to the end (see the module's docstring for the others).
PEER_REST_STREAMS = ("lists", "contacts", "message_activity", "message_links", "message_link_clickers")
ERROR_LINE = re.compile(r"Errors during transform: \[(.*?\})")


def our_rest_config(emulator: RestEmulator, workers: int) -> dict:
    return {"client_id": "demo-client", "client_secret": "demo-secret", "start_date": REST_START_DATE,
            "rest_base_url": emulator.url, "rest_token_url": emulator.token_url, "max_workers": workers}


def our_rest_args(emulator: RestEmulator, workers: int, streams, workdir: Path) -> list[str]:
    (workdir / "rest-config.json").write_text(json.dumps(our_rest_config(emulator, workers)))
    (workdir / "rest-catalog.json").write_text(json.dumps(catalog_selecting(list(streams),
                                                                            base=build_catalog(REST))))
    return [str(TAP), "--config", str(workdir / "rest-config.json"),
            "--catalog", str(workdir / "rest-catalog.json")]


class RestPeer:
    """The published REST tap 2.0.8, run through bench/peer_rest.py with its own virtualenv's python."""

    def __init__(self, python: Path, workdir: Path):
        if not python.exists():
            raise FileNotFoundError(f"{python} not found: `make peer-rest` installs tap-listrak==2.0.8 there")
        self.python, self.workdir = python.absolute(), workdir
        self.wrapper = str(ROOT / "bench" / "peer_rest.py")
        self.config = workdir / "rest-peer-config.json"
        self.config.write_text(json.dumps({"client_id": "demo-client", "client_secret": "demo-secret",
                                           "start_date": REST_START_DATE}))
        self.discovered: dict | None = None

    def args(self, emulator: RestEmulator, *rest: str) -> list[str]:
        return [str(self.python), self.wrapper, emulator.url, emulator.token_url, "--config", str(self.config),
                *rest]

    def discover(self, emulator: RestEmulator) -> list[str]:
        done = subprocess.run(self.args(emulator, "--discover"), capture_output=True, text=True,
                              cwd=self.workdir, timeout=300)
        if done.returncode != 0:
            raise RuntimeError("2.0.8's discovery failed:\n" + "\n".join(done.stderr.splitlines()[-30:]))
        self.discovered = json.loads(done.stdout)
        return sorted(entry["tap_stream_id"] for entry in self.discovered["streams"])

    def catalog(self, streams) -> Path:
        """Its own discovery output with `streams` selected: it writes no root metadata, so one is added."""
        catalog = json.loads(json.dumps(self.discovered))
        for entry in catalog["streams"]:
            entry["metadata"] = [item for item in entry["metadata"] if item["breadcrumb"]]
            entry["metadata"].append({"breadcrumb": [],
                                      "metadata": {"selected": entry["tap_stream_id"] in streams}})
        path = self.workdir / f"rest-peer-catalog-{len(streams)}-{'-'.join(sorted(streams))[:60]}.json"
        path.write_text(json.dumps(catalog))
        return path

    def run_args(self, emulator: RestEmulator, streams) -> list[str]:
        return self.args(emulator, "--catalog", str(self.catalog(streams)))

    def outcome(self, emulator: RestEmulator, stream: str) -> str:
        """2.0.8 with `stream` alone: its exit status, its records, and the first error it printed."""
        done = subprocess.run(self.run_args(emulator, [stream]), capture_output=True, text=True,
                              cwd=self.workdir, timeout=600)
        records = sum(1 for line in done.stdout.splitlines()
                      if line.startswith('{"type": "RECORD", "stream": "%s"' % stream))
        if done.returncode == 0:
            return f"exit 0, {records:,} records"
        error = ERROR_LINE.search(done.stderr)
        reason = error.group(1).strip() if error else (done.stderr.strip().splitlines() or ["?"])[-1][-200:]
        return f"stops (exit {done.returncode}) after {records:,} records: {reason}"


def activity_counts(data: bytes) -> tuple[int, int]:
    """message_activity records with an activityDate, and those whose activityDate is not before their
    sendDate: what 2.0.8 asks for (dateType=Activity, startDate = the message's sendDate)."""
    dated = from_send = 0
    for line in data.splitlines():
        if b'"RECORD"' in line and b'"stream":"message_activity"' in line.replace(b" ", b""):
            record = json.loads(line)["record"]
            if record.get("activityDate") is not None:
                dated += 1
                from_send += record["activityDate"] >= record["sendDate"]
    return dated, from_send
