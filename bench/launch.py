"""Runs one command and writes its wall time and rusage as JSON: `python -I -S launch.py OUT CMD...`.

Why a launcher: Linux carries a process's peak RSS across fork and exec (the new program's
ru_maxrss starts at the forking process's high-water mark), so a tap started straight from the
benchmark, a Python process that has imported the tap and read big outputs, reports the
benchmark's peak, not its own. Started from this small interpreter (no site, nothing imported
but os, sys, time, json), a tap's ru_maxrss is its own unless it is below this launcher's (the
benchmark prints that floor). stdin, stdout and stderr are passed through; the exit status is the
command's (128 + N if killed by signal N).
"""
import json
import os
import sys
import time


def main() -> int:
    out, command = sys.argv[1], sys.argv[2:]
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as file:
        json.dump({"wall": wall, "utime": usage.ru_utime, "stime": usage.ru_stime,
                   "maxrss_kb": usage.ru_maxrss, "exit": code}, file)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
