# Shared by the run supervisors of warm and cold starts (prepended to both
# sources by the host): become a child subreaper, end every descendant, and
# leave with the script's own status.

import ctypes
import os
import signal

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Linux: orphans of the run come back to this process instead of to init."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:
        pass


def children_of(parent):
    """Processes whose parent is `parent` (from /proc; empty where there is none)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(name))
    return found


def end_descendants():
    """Kills this process's children until none is left: a killed
    process's own children come back to the subreaper and are next."""
    me = os.getpid()
    while True:
        left = children_of(me)
        if not left:
            try:
                while os.waitpid(-1, os.WNOHANG)[0] != 0:
                    pass
            except ChildProcessError:
                pass
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def leave_with(status):
    """Ends every descendant, then leaves as the script did: its exit code,
    or the signal that ended it (re-raised on this process)."""
    end_descendants()
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
        except Exception:
            pass
        os._exit(128 + number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
