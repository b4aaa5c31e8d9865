# Provisio's warm interpreter (Unix). Started once per interpreter and SDK
# directory with the same cleaned environment a script gets; imports the SDK
# and the modules scripts use, then forks one child per run, so a run skips
# the interpreter's start-up (tens of milliseconds on machines whose
# site-packages run .pth hooks).
#
# Protocol on fd 0 (a Unix stream socket to the engine), one JSON object per
# line. Request: {"argv": [script, ...], "cwd": dir, "env": {...}} with three
# file descriptors attached (the child's stdin, stdout, stderr). Replies:
# {"started": pid} | {"error": text}; later {"exited": pid, "status": raw
# wait status}. The engine sends one request at a time.
#
# The child behaves like `python script args...`: own session and process
# group, argv, cwd, environment, sys.path[0] = the script's directory, fresh
# stdio in UTF-8, SystemExit and uncaught exceptions as the interpreter
# handles them (traceback without our frames), threads joined, atexit
# handlers and finalizers run at exit (see finish()).
#
# Nothing a run starts outlives it (see supervise()): each run gets a
# supervisor process, a child subreaper (Linux), between this interpreter
# and the script. Whatever the script's descendants do (fork without exec,
# setsid, double fork, nohup, ignore SIGTERM, clear their environment), an
# orphan comes back to the supervisor, which ends every descendant when the
# script has exited (success included) and only then leaves with the
# script's own wait status. The replies name the script's pid, not the
# supervisor's.

import atexit
import gc
import io
import json
import os
import selectors
import signal
import socket
import sys

# `python -c` put the current directory first; a script gets its own directory there.
if sys.path and sys.path[0] == "":
    del sys.path[0]

try:  # Preloaded for every run; the host still works without it.
    import common_subroutines_efecte_library  # noqa: F401
except Exception:
    pass
import datetime  # noqa: F401
import threading  # noqa: F401
import traceback
import types

# Leave when idle so test suites and short sessions do not keep interpreters
# around; the engine starts a new one when it needs it.
IDLE_SECONDS = 300.0


def serve():
    """Returns the request to run in a forked child, or None when it is time to leave."""
    # What is loaded now is shared by every run: keep the collector off it
    # (cheaper collections in the child, fewer pages copied on write).
    gc.freeze()
    sock = socket.socket(fileno=0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children = {}  # supervisor pid -> script pid
    buffer = b""
    fds = []

    def send(message):
        sock.sendall(json.dumps(message).encode() + b"\n")

    def reap():
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            script = children.pop(pid, None)
            if script is not None:
                send({"exited": script, "status": status})

    while True:
        events = selector.select(None if children else IDLE_SECONDS)
        if not events and not children:
            return None
        for key, _ in events:
            if key.fileobj == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                reap()
                continue
            data, received, _, _ = socket.recv_fds(sock, 65536, 8)
            if not data:
                return None  # the engine is gone
            buffer += data
            fds.extend(received)
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request, passed, fds = json.loads(line), fds, []
                if len(passed) != 3:
                    for fd in passed:
                        os.close(fd)
                    send({"error": "expected 3 file descriptors, got %d" % len(passed)})
                    continue
                told_r, told_w = os.pipe()
                try:
                    pid = os.fork()
                except OSError as e:
                    for fd in passed + [told_r, told_w]:
                        os.close(fd)
                    send({"error": "fork failed: %s" % e})
                    continue
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    os.close(told_r)
                    sock.detach()  # fd 0 is replaced by the run's stdin below
                    supervise(told_w, passed)  # returns in the script's process only
                    os.setsid()
                    for target, fd in enumerate(passed):
                        os.dup2(fd, target)
                    for fd in passed:
                        if fd > 2:
                            os.close(fd)
                    return request
                for fd in passed:
                    os.close(fd)
                os.close(told_w)
                told = b""
                while True:
                    chunk = os.read(told_r, 64)
                    if not chunk:
                        break
                    told += chunk
                os.close(told_r)
                if not told.strip().isdigit():
                    send({"error": "the run's supervisor could not start the script: %s" % told.decode(errors="replace")})
                    continue
                children[pid] = int(told)
                send({"started": int(told)})
        # A child may have exited between the wake-up and now.
        reap()


def supervise(told_w, passed):
    """In the run's supervisor: forks the script (the function returns in
    the script's process), tells its pid on `told_w`, waits for it, ends
    every descendant left behind, and leaves with the script's status."""
    become_subreaper()  # reaper.py, which the host puts first
    try:
        script = os.fork()
    except OSError as e:
        os.write(told_w, ("fork failed: %s" % e).encode())
        os._exit(1)
    if script == 0:
        os.close(told_w)
        return
    os.write(told_w, str(script).encode())
    os.close(told_w)
    # The supervisor holds none of the run's stdio: the host sees EOF when the run's processes are gone.
    for fd in passed:
        os.close(fd)
    # Fd 0 is still the engine's socket here: let go of it too.
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
        except InterruptedError:
            continue
        if pid == script:
            status = raw
            break
    leave_with(status)


def run(request):
    argv = request["argv"]
    script = os.path.abspath(argv[0])
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [script] + list(argv[1:])
    sys.path.insert(0, os.path.dirname(script))
    sys.stdin = sys.__stdin__ = open(0, "r", encoding="utf-8", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = sys.__stderr__ = open(
        2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False
    )
    preloaded = set(sys.modules)
    # The script runs in a real __main__ module, as under `python script.py`.
    main = types.ModuleType("__main__")
    main.__file__ = script
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    code = 0
    try:
        with io.open_code(script) as handle:
            compiled = compile(handle.read(), script, "exec", dont_inherit=True)
        exec(compiled, main.__dict__)
    except SystemExit as stop:
        code = exit_code(stop)
    except BaseException as error:  # noqa: B036 - as the interpreter would
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        traceback.print_exception(type(error), error, tb or error.__traceback__)
        code = 1
    finish(code, preloaded, main)


def exit_code(stop):
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code & 0xFF
    try:
        print(stop.code, file=sys.stderr)
    except Exception:
        pass
    return 1


def finish(code, preloaded, main):
    """The interpreter's exit, minus tearing down the modules every run shares
    (that teardown is most of a trivial run's cost): wait for threads, run
    atexit handlers, then drop what the script created so files it never
    closed are flushed by their finalizers, flush stdio, and leave."""
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
        atexit._run_exitfuncs()
        main.__dict__.clear()
        for name in set(sys.modules) - preloaded:
            sys.modules.pop(name, None)
        gc.collect()
    except SystemExit as stop:
        code = exit_code(stop)
    except BaseException:
        traceback.print_exc()
        code = code or 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = code or 120  # what the interpreter does when stdout cannot be flushed
    os._exit(code)


job = serve()
if job is None:
    sys.exit(0)
run(job)
