"""The console script restarts the interpreter once with glibc's per-thread caches off."""
import os
import subprocess
import sys
from pathlib import Path

from tap_listrak.entry import RESTARTED, TCACHE_OFF, libc_version, tunables_for_restart

TAP = Path(sys.executable).parent / "tap-listrak"
GLIBC = "glibc 2.36"


def test_the_caches_are_turned_off_under_glibc():
    assert tunables_for_restart({}, GLIBC) == TCACHE_OFF


def test_the_users_other_tunables_are_kept():
    environ = {"GLIBC_TUNABLES": "glibc.malloc.arena_max=4"}
    assert tunables_for_restart(environ, GLIBC) == f"glibc.malloc.arena_max=4:{TCACHE_OFF}"


def test_the_users_own_tcache_count_is_respected():
    assert tunables_for_restart({"GLIBC_TUNABLES": "glibc.malloc.tcache_count=7"}, GLIBC) is None


def test_no_restart_without_glibc_or_once_restarted():
    assert tunables_for_restart({}, None) is None
    assert tunables_for_restart({}, "musl") is None
    assert tunables_for_restart({RESTARTED: "1"}, GLIBC) is None


def starts_of(tmp_path, command, **environ) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """Runs `command` with a sitecustomize that notes each interpreter start: pid, GLIBC_TUNABLES."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os\n"
        "with open(os.environ['STARTS_FILE'], 'a') as f:\n"
        "    f.write(f\"{os.getpid()} {os.environ.get('GLIBC_TUNABLES', '-')}\\n\")\n")
    starts = tmp_path / "starts"
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(tmp_path), "STARTS_FILE": str(starts), **environ})
    return done, [line.split() for line in starts.read_text().splitlines()]


def test_the_console_script_restarts_once_in_the_same_process_under_glibc(tmp_path):
    done, starts = starts_of(tmp_path, [str(TAP), "--config", str(tmp_path / "missing.json")])
    assert done.returncode == 1 and "CRITICAL" in done.stderr and RESTARTED not in done.stderr
    if (libc_version() or "").startswith("glibc"):
        assert len(starts) == 2 and starts[0][0] == starts[1][0]
        assert starts[0][1] == "-" and starts[1][1] == TCACHE_OFF
    else:  # nothing to turn off: the script runs as it is
        assert starts == [[starts[0][0], "-"]]


def test_the_console_script_keeps_the_users_tcache_setting(tmp_path):
    done, starts = starts_of(tmp_path, [str(TAP), "--version"], GLIBC_TUNABLES="glibc.malloc.tcache_count=3")
    assert done.returncode == 0 and done.stdout.startswith("tap-listrak ")
    assert starts == [[starts[0][0], "glibc.malloc.tcache_count=3"]]


def test_the_module_runs_as_it_is(tmp_path):
    done, starts = starts_of(tmp_path, [sys.executable, "-m", "tap_listrak.cli", "--version"])
    assert done.returncode == 0 and len(starts) == 1
