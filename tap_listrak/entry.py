"""The `tap-listrak` console script: the interpreter is started once more with glibc's per-thread
caches off, then the command line runs (`cli.main`).

Why: glibc keeps, for each thread, up to seven freed blocks of every size up to about 1 KB (its
tcache). Python serves objects up to 512 bytes from its own allocator, so these caches hold the
larger ones (records of many fields, list arrays, byte strings). With the tap's fifteen threads
they fill as a run goes on, up to about 2.5 MB, and peak memory grew with the account: 43.7 → 46.1
MB from the benchmark's account to ten times it, against 42.3 → 43.6 MB with the caches off, at
the same CPU. Only GLIBC_TUNABLES, read when a process starts, turns them off, so the script execs
the same interpreter with the same arguments (same process id, same open files) and that setting
added. It leaves the variable alone when it already sets the tcache count (glibc's default is 7),
and does nothing where glibc is absent. `python -m tap_listrak.cli` runs without it.
"""
import os
import sys

TCACHE_OFF = "glibc.malloc.tcache_count=0"
# Set for the restarted process only, so that it never restarts again, even if the loader drops
# GLIBC_TUNABLES (it does for set-user-ID programs).
RESTARTED = "TAP_LISTRAK_RESTARTED"


def tunables_for_restart(environ, libc: str | None) -> str | None:
    """The GLIBC_TUNABLES value to restart with, or None when the process should run as it is."""
    if not (libc or "").startswith("glibc") or RESTARTED in environ:
        return None
    current = environ.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.tcache_count=" in current:
        return None  # the user's own choice
    return f"{current}:{TCACHE_OFF}" if current else TCACHE_OFF


def libc_version() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"; absent or None elsewhere
    except (AttributeError, ValueError, OSError):
        return None


def main() -> int:
    tunables = tunables_for_restart(os.environ, libc_version())
    if tunables is not None and sys.executable and sys.orig_argv:
        try:
            os.execve(sys.executable, sys.orig_argv,
                      {**os.environ, "GLIBC_TUNABLES": tunables, RESTARTED: "1"})
        except OSError:
            pass  # only memory is at stake: run as it is
    os.environ.pop(RESTARTED, None)
    from tap_listrak.cli import main as run_command_line
    return run_command_line()
