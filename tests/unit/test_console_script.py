"""The `tap-listrak` console script is cli.main: one interpreter start, cli.main's status as its exit status."""
import os
import subprocess
import sys
from pathlib import Path

TAP = Path(sys.executable).parent / "tap-listrak"


def run_counting_starts(tmp_path, *args) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Runs the script with a sitecustomize that notes each interpreter start (pid, GLIBC_TUNABLES)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os\n"
        "with open(os.environ['STARTS_FILE'], 'a') as f:\n"
        "    f.write(f\"{os.getpid()} {os.environ.get('GLIBC_TUNABLES', '-')}\\n\")\n")
    starts = tmp_path / "starts"
    environ = {name: value for name, value in os.environ.items() if name != "GLIBC_TUNABLES"}
    done = subprocess.run([str(TAP), *args], capture_output=True, text=True, timeout=60,
                          env={**environ, "PYTHONPATH": str(tmp_path), "STARTS_FILE": str(starts)})
    return done, starts.read_text().splitlines()


def test_the_console_script_exits_with_the_status_of_cli_main(tmp_path):
    done, starts = run_counting_starts(tmp_path, "--config", str(tmp_path / "missing.json"))
    assert done.returncode == 1 and done.stderr.startswith("CRITICAL ") and "missing.json" in done.stderr
    done, _ = run_counting_starts(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.startswith("tap-listrak ")


def test_the_console_script_starts_its_interpreter_once_with_the_environment_as_given(tmp_path):
    done, starts = run_counting_starts(tmp_path, "--version")
    assert done.returncode == 0
    assert len(starts) == 1 and starts[0].split()[1] == "-"  # no restart, GLIBC_TUNABLES left alone
