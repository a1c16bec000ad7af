"""`--about`: what Meltano's about capability reads."""
import json
import subprocess
import sys
from pathlib import Path

from tap_listrak.config import SETTINGS

TAP = Path(sys.executable).parent / "tap-listrak"


def test_about_json_lists_capabilities_and_every_setting():
    done = subprocess.run([str(TAP), "--about", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    about = json.loads(done.stdout)
    assert about["name"] == "tap-listrak"
    assert {"catalog", "discover", "state", "about"} <= set(about["capabilities"])
    assert set(about["settings"]["properties"]) == {s.name for s in SETTINGS}
    # Credentials are a pair of either API's, checked together (config._api): only start_date is always required.
    assert set(about["settings"]["required"]) == {"start_date"}
    assert about["settings"]["properties"]["password"]["secret"] is True


def test_about_text_needs_no_config():
    done = subprocess.run([str(TAP), "--about"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "start_date" in done.stdout and "[required]" in done.stdout
    assert "--probe" in done.stdout
