# Provisio's run supervisor for cold starts (Unix): `python -I -S -c SOURCE
# PYTHON script args...`. The host starts this instead of the script when no
# warm interpreter serves the run. It becomes a child subreaper (Linux),
# forks, and the child execs `PYTHON script args...` (found on PATH when it
# is a bare name) with the environment, working directory and stdio the host
# gave, so the script sees exactly what a plain start gives it. The cost is
# one more interpreter start without site-packages (~15 ms), on the fallback
# path only: the warm interpreter does the same job without it.
#
# Nothing the script starts outlives the run: every orphan among its
# descendants (new session, double fork, nohup, cleared environment) comes
# back here, and when the script has exited - on its own, or because the
# host ended it - every descendant is killed before this process leaves
# with the script's own wait status.
#
# Signals from the host: the script's process group (this process leads it)
# gets SIGTERM and then SIGKILL as for any run; this process ignores SIGTERM
# (it is for the script). SIGUSR1 means "end the run now": the script is
# killed and the descendants follow. An engine that finds a run of a dead
# engine sends SIGUSR1 to this process.

import os
import signal
import sys

# become_subreaper and leave_with: reaper.py, which the host puts first.

def main():
    python, argv = sys.argv[1], sys.argv[2:]
    become_subreaper()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    script = os.fork()
    if script == 0:
        # An ignored signal stays ignored across exec: give the script the default back.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            os.execvp(python, [python] + argv)
        except OSError as e:
            os.write(2, ("cannot start %s: %s\n" % (python, e)).encode(errors="replace"))
        os._exit(127)
    running = [True]

    def end_now(*_):
        if running[0]:  # never a pid the system may have given to another process
            try:
                os.kill(script, signal.SIGKILL)
            except OSError:
                pass

    signal.signal(signal.SIGUSR1, end_now)
    # Hold none of the run's stdio: the host sees EOF when the run's processes are gone.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    status = 0
    while True:
        try:
            pid, raw = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == script:
            running[0] = False
            status = raw
            break
    leave_with(status)


main()
