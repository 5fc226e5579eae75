"""Run one model-written Python program in a sandbox and report what happened.

Usage::

    from rlboundary.verify.sandbox import run, run_many, Limits, describe
    result = run("print(1 + 1)", Limits(timeout_s=5))
    result.status, result.stdout          # ("passed", "2\\n")
    results = run_many([prog1, prog2, ...])   # one process each, all cores
    describe()                            # which isolation this machine gives

`python -m rlboundary.verify.sandbox` prints `describe()`.

Every program gets its own process tree, started through a small launcher
(a `python -I -S -c` script) that applies the limits and then `execve`s
the sandbox. We use a launcher instead of `preexec_fn` because `preexec_fn`
runs Python code between fork and exec, which can deadlock when other
threads hold locks (and `run_many` drives programs from a thread pool).

Two sandbox kinds; `run` picks the first that works (probed once per process
by actually running a program; override with `kind=` or the environment
variable RLBOUNDARY_SANDBOX=bwrap|rlimit):

"bwrap" (Debian's bubblewrap, namespaces) — IS covered:
  - no network: a private network namespace with only a loopback device
    (nothing on the host, localhost included, can be reached);
  - private pid, ipc, uts (hostname "sandbox"), cgroup and user namespaces:
    the program sees only its own processes in /proc and cannot signal,
    ptrace or read /proc/<pid>/environ of anything outside; when the
    program's main process ends or is killed, the kernel kills everything
    left in its pid namespace (so daemonised children do not survive);
  - file system: /usr (and the interpreter's prefix, if elsewhere) read-only,
    nothing else of the host (no /etc, /home, /root, /work); the program's
    cwd /sandbox (with program.py and its input files bound read-only), /tmp
    and /dev/shm are private tmpfs of `max_disk_bytes` each, the only
    writable places, gone when it ends: no host path is writable and the
    space it can fill is bounded;
    no capabilities (`bwrap` drops them all) and, with bubblewrap >= 0.8,
    no nested user namespaces (`--disable-userns`);
  - `--die-with-parent` (the sandbox dies if the grader dies) and
    `--new-session` (no controlling terminal: TIOCSTI injection is cut);
  - when the grader is root, bwrap itself starts as a dedicated unprivileged
    uid (as in the fallback below) and builds an unprivileged user
    namespace: the kernel never applies RLIMIT_NPROC to host uid 0.
"rlimit" (fallback when bubblewrap is missing or user namespaces are off):
  - IS covered: the same rlimits, scrubbed environment, fresh work dir,
    capped output and wall-clock timeout as below. When the grader runs as
    root it also (a) runs the program as a dedicated unprivileged uid per
    concurrent slot, so the program cannot write or delete the grader's files
    (only world-writable places), cannot signal or read /proc/<pid>/environ of
    other users' processes, and RLIMIT_NPROC counts only its own processes;
    (b) cuts the network with unshare(CLONE_NEWNET | CLONE_NEWIPC) when the
    kernel allows it; (c) afterwards kills every process left with that uid
    (`kill(-1)` as that uid, so `setsid` escapees die too) and deletes the
    files that uid left in /tmp, /var/tmp and /dev/shm.
  - IS NOT covered: the program sees the host's file system read-only as its
    uid may (world-readable files, /proc/<pid>/cmdline of every process);
    while it runs it can write to world-writable directories (/tmp, /dev/shm,
    /var/tmp: removed afterwards as root); it can see the host's processes;
    disk use is bounded per file (RLIMIT_FSIZE) but not in the number of
    files (no quota), nor tmpfs memory under /dev/shm.
    When the grader is NOT root none of (a)–(c) applies: the program runs as
    the grader's own uid, so it CAN write or delete the grader's files, CAN
    signal the grader (even SIGKILL it), CAN open network connections, and
    RLIMIT_NPROC is the user's current process count plus the cap, shared
    with the user's other processes; a child that calls setsid() escapes the
    process-group kill. Use bubblewrap (or root) for untrusted code.

Both kinds — IS covered:
  - one process (tree) per program, wall-clock timeout: the whole process
    group is killed with SIGKILL (and the pid namespace / uid as above);
  - RLIMIT_CPU (SIGXCPU at the timeout, SIGKILL one second later),
    RLIMIT_AS (address space: a memory bomb gets MemoryError), RLIMIT_NPROC
    (a fork bomb or a thread bomb hits EAGAIN), RLIMIT_FSIZE (no file or
    output larger than `max_file_bytes`), RLIMIT_CORE = 0, RLIMIT_NOFILE;
    hard limits equal the soft ones (CPU: one second above), and an
    unprivileged process cannot raise a hard limit (neither with `resource`
    nor with ctypes calls into libc); threads count against RLIMIT_NPROC and
    each reserves stack address space, so a thread bomb stops early;
  - a fresh temporary work directory (the program's cwd and $HOME; under
    bwrap a private tmpfs holding the program's files), removed afterwards;
  - an environment built from scratch (PATH, HOME, TMPDIR, LANG): nothing
    of the grader's environment reaches the program; Python runs with -I
    (no PYTHON* variables, no user site-packages);
  - stdout/stderr go to unlinked temporary files bounded by RLIMIT_FSIZE and
    are read back with a byte cap (head and tail), so a flood costs neither
    memory nor unbounded disk;
  - the program runs in its own session (`start_new_session`), so signals
    to the grader's process group do not reach it, and stdin is /dev/null.

NOT covered by either kind: CPU time stolen from other programs within the
timeout (no cgroup CPU shares), disk I/O bandwidth, kernel exploits, and
side channels. If the grader process itself is SIGKILLed mid-run, an
rlimit-kind program lives on until it ends or hits RLIMIT_CPU (bwrap:
--die-with-parent kills it). A program that calls sys.exit(0) "passes" the
process-level check: the code grader guards against that with a random
per-run success marker.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rlboundary.errors import UserError

STATUSES = ("passed", "failed", "timeout", "error", "memory", "killed")
KINDS = ("bwrap", "rlimit")

# Exit status the launcher uses when it cannot set up the sandbox.
_LAUNCHER_EXIT = 121
_LAUNCHER_MARK = "rlboundary-sandbox: launcher failed:"
# Where the work directory appears inside a bwrap sandbox.
_SANDBOX_DIR = "/sandbox"
# Dedicated uids for programs when the grader is root: one per concurrent
# slot and per grader process, so RLIMIT_NPROC and the final kill(-1) never
# touch another program. 1.5e9 + 2**22 pids * 128 slots stays below 2**31.
_UID_BASE = 1_500_000_000
_SLOTS_PER_PROCESS = 128
_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "out of memory", "std::bad_alloc")

# The launcher: applies rlimits, optionally cuts the network, drops to the
# sandbox uid, then execs the sandbox. Runs with `python -I -S` so it imports
# almost nothing and starts in a few milliseconds.
_LAUNCHER = r"""
import json, os, resource, sys
def fail(msg):
    os.write(2, ("%s %s\n" % (MARK, msg)).encode())
    os._exit(EXIT)
try:
    cfg = json.loads(sys.argv[1])
    for name, (soft, hard) in cfg["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if cfg["unshare_net"]:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        # CLONE_NEWNET | CLONE_NEWIPC
        if libc.unshare(0x40000000 | 0x08000000) != 0:
            fail("unshare(CLONE_NEWNET|CLONE_NEWIPC) failed, errno %d" % ctypes.get_errno())
    uid = cfg["uid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    os.umask(0o077)
    os.chdir(cfg["cwd"])
    os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
except BaseException as exc:
    fail(repr(exc))
""".replace("MARK", repr(_LAUNCHER_MARK)).replace("EXIT", str(_LAUNCHER_EXIT))


@dataclass(frozen=True)
class Limits:
    """Resource limits for one program (all enforced per program)."""

    timeout_s: float = 10.0  # wall clock; RLIMIT_CPU is set to the same (rounded up)
    memory_bytes: int = 1 << 30  # RLIMIT_AS (address space, not resident memory)
    max_processes: int = 32  # RLIMIT_NPROC: processes AND threads of the program
    max_file_bytes: int = 16 << 20  # RLIMIT_FSIZE: also bounds stdout/stderr on disk
    max_output_bytes: int = 64 << 10  # bytes of stdout/stderr kept (head + tail)
    max_open_files: int = 256  # RLIMIT_NOFILE
    max_disk_bytes: int = 64 << 20  # bwrap: size of each private tmpfs (/sandbox, /tmp, /dev/shm)

    def __post_init__(self):
        if not self.timeout_s > 0:
            raise UserError(f"Sandbox timeout must be positive, got {self.timeout_s}.", "Pass timeout_s > 0.")
        for name in ("memory_bytes", "max_processes", "max_file_bytes", "max_output_bytes", "max_open_files",
                     "max_disk_bytes"):
            if getattr(self, name) <= 0:
                raise UserError(f"Sandbox limit {name} must be positive, got {getattr(self, name)}.",
                                f"Pass {name} > 0.")


@dataclass
class SandboxResult:
    """What happened to one program."""

    status: str  # one of STATUSES
    returncode: int | None  # exit code; negative = killed by that signal; None if never started
    stdout: str  # capped: head + "[... N bytes omitted ...]" + tail
    stderr: str
    duration_s: float  # wall clock, launcher start to reap
    sandbox: str  # "bwrap" | "rlimit"
    stdout_bytes: int = 0  # bytes the program wrote (before the cap)
    stderr_bytes: int = 0
    uid: int | None = None  # uid the program ran as (host view)
    workdir: str = ""  # host path of the work directory (already removed)
    detail: str = ""  # why: "wall-clock timeout", "SIGXCPU", launcher error, ...

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class _Backend:
    """A probed way to run programs (cached per grader process)."""

    kind: str
    python: str  # interpreter the program runs under (host path)
    python_prefixes: tuple[str, ...]  # directories it needs (bound read-only under bwrap)
    drop_uid: bool  # grader is root: run the program as a dedicated uid
    unshare_net: bool  # rlimit kind: cut the network with unshare()
    reason: str = ""  # for an unavailable kind: why


# ---------------------------------------------------------------- utilities


def _world_runnable(path: str) -> bool:
    """Whether any uid can execute `path` (every parent dir searchable by others)."""
    p = Path(path)
    try:
        if not os.stat(p).st_mode & stat.S_IXOTH:
            return False
        return all(os.stat(d).st_mode & stat.S_IXOTH for d in p.parents)
    except OSError:
        return False


def _choose_python(drop_uid: bool) -> str:
    """The interpreter for programs: ours, unless a dropped uid cannot run it."""
    override = os.environ.get("RLBOUNDARY_SANDBOX_PYTHON")
    if override:
        return override
    # The base interpreter, not the venv's: programs get the standard library
    # only, like the official HumanEval harness.
    ours = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    if not drop_uid or _world_runnable(ours):
        return ours
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", shutil.which("python3") or ""):
        if candidate and _world_runnable(os.path.realpath(candidate)):
            return os.path.realpath(candidate)
    raise UserError(
        f"No Python interpreter that an unprivileged uid can run was found (ours, {ours}, is not readable by others).",
        "Install Debian's python3 or set RLBOUNDARY_SANDBOX_PYTHON to a world-readable interpreter.",
    )


def _python_prefixes(python: str) -> tuple[str, ...]:
    out = subprocess.run(
        [python, "-I", "-S", "-c", "import sys; print(sys.prefix); print(sys.exec_prefix)"],
        capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"},
    )
    if out.returncode != 0:
        raise UserError(f"The sandbox interpreter {python} does not run: {out.stderr.strip()[:200]}",
                        "Set RLBOUNDARY_SANDBOX_PYTHON to a working python3.")
    dirs = {os.path.realpath(d) for d in out.stdout.split()}
    dirs.add(os.path.dirname(python))
    return tuple(sorted(dirs))


def _pids_of_uid(uid: int) -> list[int]:
    """Live processes whose real uid is `uid` (from /proc/<pid>/status).

    Zombies are left out: they run nothing. (bwrap's pid-1 monitor ends as a
    zombie of the host's init, which may reap it a second or two later.)
    """
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as fh:
                state = b""
                for line in fh:
                    if line.startswith(b"State:"):
                        state = line.split()[1]
                    elif line.startswith(b"Uid:"):
                        if int(line.split()[1]) == uid and state not in (b"Z", b"X"):
                            pids.append(int(entry))
                        break
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return pids


def _kill_uid(uid: int, python: str) -> bool:
    """Kill every process running as `uid` (root only). True when none is left.

    `kill(-1, SIGKILL)` sent *as that uid* reaches exactly its processes,
    wherever they are (another session, a setsid() escapee); repeat because a
    fork bomb may fork while the signal is being delivered.
    """
    for attempt in range(50):
        if not _pids_of_uid(uid):
            return True
        subprocess.run(
            [python, "-I", "-S", "-c", "import os\ntry: os.kill(-1, 9)\nexcept OSError: pass"],
            user=uid, group=uid, extra_groups=[], env={}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", timeout=30,
        )
        time.sleep(0.01 * attempt)
    return not _pids_of_uid(uid)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the program's whole process group (the launcher leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _remove_files_of_uid(uid: int) -> None:
    """Delete what `uid` left in the world-writable directories (rlimit kind as root)."""
    for base in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


def _rmtree_forcefully(root: str) -> None:
    """Remove the work dir even if the program chmod-ed things inside it to 000.

    Permissions are only ever changed strictly inside `root`.
    """
    root = os.path.abspath(root)

    def fix(func, p, _exc):
        p = os.path.abspath(p)
        if p == root or not p.startswith(root + os.sep):
            return  # never touch anything at or above the work dir itself
        try:
            parent = os.path.dirname(p)
            if parent != root:
                os.chmod(parent, 0o700)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
                shutil.rmtree(p, onerror=fix)
            else:
                func(p)
        except OSError:
            pass

    if os.path.isdir(root):
        # The top dir is the grader's own (mode 0700 set by us): open it first.
        os.chmod(root, 0o700)
        shutil.rmtree(root, onerror=fix)
        if os.path.exists(root):
            shutil.rmtree(root, ignore_errors=True)


def _user_task_count(uid: int) -> int:
    """Tasks (processes + threads) of `uid`: RLIMIT_NPROC counts all of them."""
    total = 0
    for pid in _pids_of_uid(uid):
        try:
            total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return total


class _UidPool:
    """Dedicated uids for concurrent programs of this grader process."""

    def __init__(self):
        self._cond = threading.Condition()
        # FIFO: a released uid is reused last, so zombies it may still have
        # (counted by RLIMIT_NPROC until reaped) are long gone by then.
        self._free = collections.deque(range(_SLOTS_PER_PROCESS))

    def acquire(self) -> int:
        with self._cond:
            while not self._free:
                self._cond.wait()
            slot = self._free.popleft()
        return _UID_BASE + (os.getpid() % (1 << 22)) * _SLOTS_PER_PROCESS + slot

    def release(self, uid: int) -> None:
        with self._cond:
            self._free.append((uid - _UID_BASE) % _SLOTS_PER_PROCESS)
            self._cond.notify()


_uid_pool = _UidPool()
_backends: dict[str, _Backend] = {}
_backends_lock = threading.Lock()


def _reset_after_fork():
    # A forked grader worker has a new pid (hence new uids) and must not
    # inherit a lock held by another thread at fork time.
    global _uid_pool, _backends_lock
    _uid_pool = _UidPool()
    _backends_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


# ---------------------------------------------------------------- the run


@functools.lru_cache(maxsize=4)
def _bwrap_can_disable_userns(bwrap: str) -> bool:
    """bubblewrap >= 0.8 has --disable-userns."""
    try:
        out = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--disable-userns" in out.stdout + out.stderr


def _bwrap_argv(python: str, prefixes: Sequence[str], workdir: str, names: Sequence[str],
                disk_bytes: int) -> list[str]:
    """bubblewrap command line: read-only system, size-bounded private tmpfs for
    /sandbox (the program's cwd, with its files bound read-only), /tmp, /dev/shm."""
    bwrap = shutil.which("bwrap") or "/usr/bin/bwrap"
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if _bwrap_can_disable_userns(bwrap):
        # No nested user namespaces: the program cannot become "root" of one
        # (less kernel surface to attack).
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--ro-bind", "/usr", "/usr"]
    # Merged-/usr systems have /lib -> usr/lib etc. as symlinks; others real dirs.
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    argv += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for prefix in prefixes:
        if not (prefix == "/usr" or prefix.startswith("/usr/")):
            argv += ["--ro-bind", prefix, prefix]
    size = str(disk_bytes)
    # tmpfs pages are RAM that RLIMIT_AS does not count: bound every one.
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/dev/shm",
             "--size", size, "--tmpfs", _SANDBOX_DIR]
    for name in names:
        argv += ["--ro-bind", os.path.join(workdir, name), f"{_SANDBOX_DIR}/{name}"]
    argv += ["--chdir", _SANDBOX_DIR, "--", python, "-I", f"{_SANDBOX_DIR}/{names[0]}"]
    return argv


def _read_capped(fh, cap: int) -> tuple[str, int]:
    """Head and tail of a temp file, at most `cap` bytes in all, and its size."""
    size = os.fstat(fh.fileno()).st_size
    fh.seek(0)
    if size <= cap:
        data = fh.read(cap)
        return data.decode("utf-8", errors="replace"), size
    head = fh.read(cap // 2)
    fh.seek(size - cap // 2)
    tail = fh.read(cap // 2)
    text = (head.decode("utf-8", errors="replace")
            + f"\n[... {size - len(head) - len(tail)} bytes omitted ...]\n"
            + tail.decode("utf-8", errors="replace"))
    return text, size


def _classify(backend: _Backend, rc: int, timed_out: bool, stderr: str, cpu_limit_s: int,
              duration_s: float) -> tuple[str, str]:
    if timed_out:
        return "timeout", "wall-clock timeout"
    if rc == _LAUNCHER_EXIT and _LAUNCHER_MARK in stderr:
        return "error", stderr.strip().splitlines()[-1][:300]
    if backend.kind == "bwrap" and rc == 1 and stderr.startswith("bwrap:"):
        return "error", stderr.strip().splitlines()[0][:300]
    if rc == 0:
        return "passed", ""
    sig = -rc if rc < 0 else (rc - 128 if backend.kind == "bwrap" and 128 < rc < 128 + 65 else 0)
    if sig == signal.SIGXCPU:
        return "timeout", "CPU time limit (SIGXCPU)"
    if sig == signal.SIGKILL and duration_s >= cpu_limit_s:
        # The hard RLIMIT_CPU (one second after an ignored SIGXCPU) sends SIGKILL.
        return "timeout", "CPU time limit (SIGKILL at the hard limit)"
    if any(marker in stderr for marker in _MEMORY_MARKERS):
        return "memory", "address-space limit"
    if sig:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return "killed", f"killed by {name}"
    return "failed", f"exit status {rc}"


def _run_with(backend: _Backend, program: str, limits: Limits, files: dict[str, str | bytes] | None) -> SandboxResult:
    is_root = os.geteuid() == 0
    uid = _uid_pool.acquire() if backend.drop_uid else None
    work_root = tempfile.gettempdir()
    if backend.drop_uid and not _world_runnable(os.path.join(work_root, ".")):
        work_root = "/tmp"  # the sandbox uid must be able to reach its work dir
    workdir = tempfile.mkdtemp(prefix="rlb-sandbox-", dir=work_root)
    start = time.monotonic()
    timed_out = False
    rc: int | None = None
    out_fh = tempfile.TemporaryFile()
    err_fh = tempfile.TemporaryFile()
    try:
        Path(workdir, "program.py").write_text(program, encoding="utf-8")
        for name, content in (files or {}).items():
            target = Path(workdir, name)
            if name == "program.py" or target.resolve().parent != Path(workdir).resolve():
                raise UserError(f"Sandbox file name {name!r} is not a plain file name.", "Use names without '/'.")
            target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        if uid is not None:
            os.chown(workdir, uid, uid)
        os.chmod(workdir, 0o700)

        cpu = max(1, int(limits.timeout_s + 0.999))
        nproc = limits.max_processes
        if not is_root:
            # RLIMIT_NPROC counts all tasks of the uid: leave room for the user's own.
            nproc += _user_task_count(os.getuid())
        if backend.kind == "bwrap":
            nproc += 2  # bwrap's own processes (its pid-1 monitor and the setup child)
        rlimits = {
            "RLIMIT_CPU": (cpu, cpu + 1),
            "RLIMIT_AS": (limits.memory_bytes, limits.memory_bytes),
            "RLIMIT_NPROC": (nproc, nproc),
            "RLIMIT_FSIZE": (limits.max_file_bytes, limits.max_file_bytes),
            "RLIMIT_CORE": (0, 0),
            "RLIMIT_NOFILE": (limits.max_open_files, limits.max_open_files),
        }
        home = _SANDBOX_DIR if backend.kind == "bwrap" else workdir
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp" if backend.kind == "bwrap" else workdir,
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        if backend.kind == "bwrap":
            argv = _bwrap_argv(backend.python, backend.python_prefixes, workdir,
                               ["program.py", *(files or {})], limits.max_disk_bytes)
        else:
            argv = [backend.python, "-I", os.path.join(workdir, "program.py")]
        cfg = {"rlimits": rlimits, "unshare_net": backend.unshare_net, "uid": uid, "cwd": workdir,
               "argv": argv, "env": env}
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER, json.dumps(cfg)],
            stdin=subprocess.DEVNULL, stdout=out_fh, stderr=err_fh, env={"PATH": "/usr/bin:/bin"},
            cwd="/", close_fds=True, start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            rc = proc.wait()
        except BaseException:
            # Our caller is being interrupted (a grading worker's CPU-time
            # signal, KeyboardInterrupt): never leave the program running.
            _kill_group(proc)
            proc.wait()
            if uid is not None:
                _kill_uid(uid, backend.python)
            raise
        duration = time.monotonic() - start
        if uid is not None:
            # Children that escaped the group (setsid) or outlived the main process.
            _kill_uid(uid, backend.python)
            if backend.kind == "rlimit":
                _remove_files_of_uid(uid)
        stdout, n_out = _read_capped(out_fh, limits.max_output_bytes)
        stderr, n_err = _read_capped(err_fh, limits.max_output_bytes)
        status, detail = _classify(backend, rc, timed_out, stderr, cpu, duration)
        return SandboxResult(status=status, returncode=rc, stdout=stdout, stderr=stderr, duration_s=duration,
                             sandbox=backend.kind, stdout_bytes=n_out, stderr_bytes=n_err, uid=uid,
                             workdir=workdir, detail=detail)
    finally:
        out_fh.close()
        err_fh.close()
        _rmtree_forcefully(workdir)
        if uid is not None:
            _uid_pool.release(uid)


# ---------------------------------------------------------------- probing


def _probe(kind: str) -> _Backend:
    """Build a backend of `kind` and check that a trivial program runs in it."""
    is_root = os.geteuid() == 0
    try:
        python = _choose_python(drop_uid=is_root)
        prefixes = _python_prefixes(python)
    except (UserError, OSError, subprocess.SubprocessError) as exc:
        return _Backend(kind, "", (), is_root, False, reason=str(exc))
    if kind == "bwrap":
        if not (shutil.which("bwrap") or os.path.exists("/usr/bin/bwrap")):
            return _Backend(kind, python, prefixes, is_root, False,
                            reason="bubblewrap is not installed (apt-get install bubblewrap)")
        candidate = _Backend(kind, python, prefixes, is_root, False)
    else:
        candidate = _Backend(kind, python, prefixes, is_root, False)
        if is_root:
            with_net = _Backend(kind, python, prefixes, True, True)
            if _probe_runs(with_net)[0]:
                return with_net
    ok, why = _probe_runs(candidate)
    if ok:
        return candidate
    return _Backend(kind, python, prefixes, is_root, False, reason=why)


def _probe_runs(backend: _Backend) -> tuple[bool, str]:
    token = "rlboundary-sandbox-probe-ok"
    try:
        result = _run_with(backend, f"print({token!r})", Limits(timeout_s=30), None)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, repr(exc)
    if result.status == "passed" and token in result.stdout:
        return True, ""
    return False, (f"probe program ended {result.status} (rc {result.returncode}): "
                   f"{(result.detail or result.stderr).strip()[:300]}")


def backend(kind: str | None = None) -> _Backend:
    """The probed backend for `kind` (None: RLBOUNDARY_SANDBOX, else best available)."""
    kind = kind or os.environ.get("RLBOUNDARY_SANDBOX") or "auto"
    if kind not in (*KINDS, "auto"):
        raise UserError(f"Unknown sandbox kind {kind!r}.", f"Use one of {', '.join(KINDS)} or auto.")
    wanted = KINDS if kind == "auto" else (kind,)
    with _backends_lock:
        for k in wanted:
            if k not in _backends:
                _backends[k] = _probe(k)
            if not _backends[k].reason:
                return _backends[k]
    reasons = "; ".join(f"{k}: {_backends[k].reason}" for k in wanted)
    raise UserError(f"No usable code sandbox ({reasons}).",
                    "Install bubblewrap (apt-get install bubblewrap) or use kind='rlimit'.")


def available(kind: str) -> tuple[bool, str]:
    """Whether sandbox `kind` works here, and if not, why (probed once, cached)."""
    try:
        backend(kind)
        return True, ""
    except UserError as exc:
        return False, str(exc)


def describe(kind: str | None = None) -> dict:
    """What isolation `run(kind=kind)` gives on this machine."""
    b = backend(kind)
    return {
        "kind": b.kind,
        "python": b.python,
        "separate_uid": b.drop_uid,
        "network_cut": b.kind == "bwrap" or b.unshare_net,
        "private_fs_pid_ipc": b.kind == "bwrap",
        "others": {k: (available(k)[1] or "available") for k in KINDS if k != b.kind},
    }


def run(program: str, limits: Limits | None = None, kind: str | None = None,
        files: dict[str, str | bytes] | None = None) -> SandboxResult:
    """Run `program` (Python source) in a fresh sandbox; `files` are put beside it."""
    return _run_with(backend(kind), program, limits or Limits(), files)


def run_many(programs: Sequence[str], limits: Limits | None = None, kind: str | None = None,
             workers: int | None = None, files: Sequence[dict | None] | None = None) -> list[SandboxResult]:
    """Run each program in its own sandbox, `workers` at a time; results in input order.

    Threads suffice: each program is its own process; a thread only waits.
    """
    b = backend(kind)
    lim = limits or Limits()
    workers = max(1, workers or os.cpu_count() or 1)
    file_sets = list(files) if files is not None else [None] * len(programs)
    if len(file_sets) != len(programs):
        raise UserError("run_many got a different number of file sets than programs.", "Pass one per program.")
    with ThreadPoolExecutor(max_workers=min(workers, _SLOTS_PER_PROCESS)) as pool:
        return list(pool.map(lambda pf: _run_with(b, pf[0], lim, pf[1]), zip(programs, file_sets)))


if __name__ == "__main__":
    print(json.dumps(describe(), indent=2))
