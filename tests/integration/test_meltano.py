"""The tap as a Meltano extractor, declared by examples/meltano/meltano.yml: the example matches
the tap's settings, installs this checkout, and `meltano run tap-listrak target-jsonl` extracts
the ground truth, stores the tap's state and hands it back to the tap on the next run."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import simplejson
import yaml

from tap_listrak.about import CAPABILITIES
from tap_listrak.config import SETTINGS
from tap_listrak.streams import REST_STREAMS, STREAMS
from tests.e2e.tap_runner import EMULATOR_PASSWORD, EMULATOR_USER, TAP, canonical
from tests.e2e.test_rest_sync import START as REST_START
from tests.e2e.test_rest_sync import expected as rest_expected
from tests.integration.helpers import REPO, tool

EXAMPLE = REPO / "examples" / "meltano" / "meltano.yml"
START = "2024-01-01T00:00:00Z"
STATE_ID = "dev:tap-listrak-to-target-jsonl"
ALL = [stream.name for stream in STREAMS]
MELTANO_KINDS = {"string": "string", "password": "string", "date_iso8601": "date_iso8601", "integer": "integer",
                 "number": "decimal", "boolean": "boolean", "array": "array"}


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def extractor(project: dict, name: str = "tap-listrak") -> dict:
    return next(p for p in project["plugins"]["extractors"] if p["name"] == name)


def loader(project: dict) -> dict:
    return next(p for p in project["plugins"]["loaders"] if p["name"] == "target-jsonl")


# -- the example itself (fast) ------------------------------------------------------------------------

def test_example_declares_every_setting_with_its_kind():
    tap = extractor(example())
    assert (tap["namespace"], tap["executable"]) == ("tap_listrak", "tap-listrak")
    assert {"catalog", "discover", "state", "about"} <= set(tap["capabilities"]) <= set(CAPABILITIES)
    declared = {s["name"]: s for s in tap["settings"]}
    assert list(declared) == [setting.name for setting in SETTINGS]
    for setting in SETTINGS:
        entry = declared[setting.name]
        assert entry["kind"] == MELTANO_KINDS[setting.kind], setting.name
        assert entry.get("sensitive", False) == (setting.kind == "password"), setting.name
        assert setting.description.rstrip(".") in entry["description"], setting.name
        if setting.default is not None and setting.name != "user_agent":  # that default names the version
            assert entry["value"] == setting.default, setting.name
        else:
            assert "value" not in entry, setting.name
    required = [setting.name for setting in SETTINGS if setting.required]
    assert tap["settings_group_validation"] == [["username", "password", *required],
                                                ["client_id", "client_secret", *required]]
    assert sorted(rule.split(".")[0] for rule in tap["select"]) == sorted(ALL)


def test_example_rest_extractor_is_the_same_tap_on_the_rest_streams():
    """tap-listrak-rest inherits the tap (installation, settings) and selects every REST stream."""
    rest = extractor(example(), "tap-listrak-rest")
    assert rest["inherit_from"] == "tap-listrak"
    assert not {"pip_url", "executable", "settings"} & set(rest)
    assert rest["config"] == {"api": "rest"}
    required = [setting.name for setting in SETTINGS if setting.required]
    assert rest["settings_group_validation"] == [["client_id", "client_secret", *required]]
    assert sorted(rule.split(".")[0] for rule in rest["select"]) == sorted(s.name for s in REST_STREAMS)


def test_example_installs_this_checkout_not_the_pypi_tap_listrak():
    """pip_url is a path into this checkout, never the unrelated `tap-listrak` on PyPI."""
    pip_url = extractor(example())["pip_url"]
    assert pip_url == "${MELTANO_PROJECT_ROOT}/../.."
    assert (EXAMPLE.parent / "../.." / "setup.py").resolve() == REPO / "setup.py"
    assert "name=\"tap-listrak-soap-rest\"" in (REPO / "setup.py").read_text(encoding="utf-8")


# -- Meltano for real (slow) ---------------------------------------------------------------------------

def meltano(project_dir: Path, env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(tool("meltano", "meltano")), *args], cwd=project_dir, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"meltano {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-5000:]}"
    return done


def meltano_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "TAP_LISTRAK_", "TARGET_JSONL_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", NO_COLOR="1", **extra)
    return env


@pytest.fixture
def project(emulator, tmp_path):
    """A Meltano project made from the example, whose plugins are the executables already installed
    (this checkout's tap-listrak in .venv, target-jsonl in .venv-tools), so nothing is reinstalled."""
    spec = example()
    tap, target = extractor(spec), loader(spec)
    del tap["pip_url"], target["pip_url"]
    tap["executable"] = str(TAP)
    # decimal settings go in meltano.yml: Meltano 4.4.1 cannot pass one given as an env var (it
    # parses the text to a Decimal, then fails to write the config: "Decimal is not JSON serializable")
    tap["config"] = {"request_timeout": 10, "backoff_base_seconds": 0.05}
    target["executable"] = str(tool("target-jsonl", "target-jsonl"))
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "meltano.yml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    output = tmp_path / "output"
    env = meltano_env(
        TAP_LISTRAK_USERNAME=EMULATOR_USER, TAP_LISTRAK_PASSWORD=EMULATOR_PASSWORD, TAP_LISTRAK_START_DATE=START,
        TAP_LISTRAK_ENDPOINT_URL=emulator.url, TAP_LISTRAK_MAX_WORKERS="4",
        TARGET_JSONL_DESTINATION_PATH=str(output))
    return project_dir, env, output


def read_output(output: Path) -> dict[str, list[dict]]:
    records = {}
    for path in sorted(output.glob("*.jsonl")):
        records[path.stem] = [simplejson.loads(line, use_decimal=True)
                              for line in path.read_text(encoding="utf-8").splitlines() if line]
    shutil.rmtree(output, ignore_errors=True)  # target-jsonl appends: the next run starts from an empty directory
    return records


def assert_output_matches(records: dict[str, list[dict]], truth: dict[str, list[dict]], streams) -> None:
    assert set(records) == {name for name in streams if truth[name]}
    for name in streams:
        got, want = canonical(records.get(name, [])), canonical(truth[name])
        assert got == want, f"{name}: {sum((want - got).values())} missing, {sum((got - want).values())} unexpected"


def state_of(project_dir: Path, env: dict) -> dict:
    return json.loads(meltano(project_dir, env, "state", "get", STATE_ID).stdout)


@pytest.mark.slow
def test_meltano_run_extracts_the_truth_and_hands_the_state_back(emulator, project):
    project_dir, env, output = project
    truth = emulator.truth(START)

    # Run 1: no state yet; every stream of the example's `select` lands in the JSONL files.
    first = meltano(project_dir, env, "run", "tap-listrak", "target-jsonl")
    assert "No state was found, complete import." in first.stderr
    assert_output_matches(read_output(output), truth, ALL)
    assert state_of(project_dir, env)["singer_state"]["currently_syncing"] is None

    # Run 2: Meltano passes the stored state to the tap with --state.
    second = meltano(project_dir, env, "--log-level=debug", "run", "tap-listrak", "target-jsonl")
    assert "No state was found" not in second.stderr
    invocation = next(line for line in second.stderr.splitlines()
                      if "Invoking:" in line and str(TAP) in line and "--discover" not in line)
    assert "'--state'" in invocation and "'--catalog'" in invocation
    assert_output_matches(read_output(output), truth, ALL)

    # Run 3: the state of an interrupted run (every stream done but subscribed_contacts): the tap
    # reads it from Meltano, keeps that run's window, skips the finished streams and completes.
    end = "2026-06-01T00:00:00.000000Z"
    window = {"run_start": "2024-01-01T00:00:00.000000Z", "run_end": end}
    interrupted = {"currently_syncing": "subscribed_contacts", "unknown_key": "kept",
                   "bookmarks": {name: dict(window, complete=True) for name in ALL if name != "subscribed_contacts"}}
    meltano(project_dir, env, "state", "set", "--force", STATE_ID, json.dumps({"singer_state": interrupted}))
    third = meltano(project_dir, env, "run", "tap-listrak", "target-jsonl")
    assert "Resuming with subscribed_contacts, interrupted in the last run" in third.stderr
    assert "lists: already complete for this run window, skipped" in third.stderr
    assert_output_matches(read_output(output), emulator.truth(START, end_date=end), ["subscribed_contacts"])
    final = state_of(project_dir, env)["singer_state"]
    assert final["currently_syncing"] is None and final["unknown_key"] == "kept"
    assert final["bookmarks"] == {"subscribed_contacts": {"replication_key": "AdditionDate",
                                                          "replication_key_value": end}}


@pytest.mark.slow
def test_meltano_incremental_metadata_moves_the_bookmark(emulator, project):
    """`metadata:` in meltano.yml turns INCREMENTAL on; the second run extracts only its window."""
    project_dir, env, output = project
    spec = yaml.safe_load((project_dir / "meltano.yml").read_text(encoding="utf-8"))
    tap = extractor(spec)
    tap["select"] = ["message_opens.*"]
    tap["metadata"] = {"message_opens": {"replication-method": "INCREMENTAL", "replication-key": "OpenDate"}}
    (project_dir / "meltano.yml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    first_end, second_end = "2024-06-20T00:00:00Z", "2024-07-15T00:00:00Z"
    emulator.set_clock(as_of=first_end)
    meltano(project_dir, {**env, "TAP_LISTRAK_END_DATE": first_end}, "run", "tap-listrak", "target-jsonl")
    first = read_output(output).get("message_opens", [])
    assert first
    bookmark = state_of(project_dir, env)["singer_state"]["bookmarks"]["message_opens"]
    assert bookmark == {"replication_key": "OpenDate", "replication_key_value": "2024-06-20T00:00:00.000000Z"}
    emulator.set_clock(as_of=second_end)
    second = meltano(project_dir, {**env, "TAP_LISTRAK_END_DATE": second_end}, "run", "tap-listrak",
                     "target-jsonl")
    assert "message_opens: INCREMENTAL from 2024-06-19T00:00:00.000000Z" in second.stderr
    opens = read_output(output).get("message_opens", [])
    assert opens and all(record["OpenDate"] >= "2024-06-19T00:00:00.000000Z" for record in opens)
    truth = emulator.truth(START, end_date=second_end)["message_opens"]
    assert canonical(first) | canonical(opens) == canonical(truth)
    assert state_of(project_dir, env)["singer_state"]["bookmarks"]["message_opens"]["replication_key_value"] == \
        "2024-07-15T00:00:00.000000Z"


@pytest.mark.slow
def test_example_pip_url_installs_this_checkout(tmp_path):
    """`meltano install` of the example, as written, in a copy of this checkout."""
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "tap_listrak", checkout / "tap_listrak", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "README.md"):
        shutil.copy(REPO / name, checkout / name)
    project_dir = checkout / "examples" / "meltano"
    project_dir.mkdir(parents=True)
    shutil.copy(EXAMPLE, project_dir / "meltano.yml")
    env = meltano_env()
    meltano(project_dir, env, "install", "--plugin-type", "extractor", "tap-listrak", timeout=600)
    venv = project_dir / ".meltano" / "extractors" / "tap-listrak" / "venv"
    assert list(venv.glob("lib/python*/site-packages/tap_listrak_soap_rest-*.dist-info"))
    about = json.loads(meltano(project_dir, env, "invoke", "tap-listrak", "--about", "--format", "json").stdout)
    assert about["name"] == "tap-listrak" and "state" in about["capabilities"]


@pytest.mark.slow
def test_meltano_run_of_the_rest_extractor_extracts_the_rest_truth(rest_emulator, project_from_example):
    """`meltano run tap-listrak-rest target-jsonl` with client credentials from the environment:
    every REST stream lands in the JSONL files equal to the REST emulator's ground truth, and
    Meltano keeps that extractor's state under its own state ID."""
    output = project_from_example.parent / "output"
    env = meltano_env(
        TAP_LISTRAK_REST_CLIENT_ID=rest_emulator.client_id, TAP_LISTRAK_REST_CLIENT_SECRET=rest_emulator.client_secret,
        TAP_LISTRAK_REST_START_DATE=REST_START, TAP_LISTRAK_REST_REST_BASE_URL=rest_emulator.base_url,
        TAP_LISTRAK_REST_REST_TOKEN_URL=rest_emulator.token_url, TAP_LISTRAK_REST_MAX_WORKERS="4",
        TARGET_JSONL_DESTINATION_PATH=str(output))
    done = meltano(project_from_example, env, "run", "tap-listrak-rest", "target-jsonl")
    assert rest_emulator.client_secret not in done.stdout + done.stderr
    records = read_output(output)
    assert set(records) == {stream.name for stream in REST_STREAMS}
    for stream in REST_STREAMS:
        got, want = canonical(records[stream.name]), canonical(rest_expected(rest_emulator, stream))
        assert got == want, (f"{stream.name}: {sum((want - got).values())} missing, "
                             f"{sum((got - want).values())} unexpected")
    requests = rest_emulator.stats()["requests"]
    assert requests["_token"]["200"] >= 1 and all(set(by_status) == {"200"} for by_status in requests.values())
    states = meltano(project_from_example, env, "state", "list").stdout.split()
    assert "dev:tap-listrak-rest-to-target-jsonl" in states


@pytest.fixture
def project_from_example(tmp_path) -> Path:
    """The example project whose plugins are the executables already installed (nothing installed)."""
    spec = example()
    tap, target = extractor(spec), loader(spec)
    del tap["pip_url"], target["pip_url"]
    tap["executable"] = str(TAP)
    tap["config"] = {"request_timeout": 10, "backoff_base_seconds": 0.05}
    target["executable"] = str(tool("target-jsonl", "target-jsonl"))
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "meltano.yml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return project_dir
