"""Grading worker processes: every item bounded in CPU and wall time, pipelined.

    from rlboundary.verify.workers import WorkerPool
    with WorkerPool(grader, workers=2) as pool:
        for item_id, verdict, extra in pool.imap((i, key, problem) for ...):
            ...

`grading.grade_frame` / `grade_run` use this through `shared_pool`; a
grader only implements the `Grader` protocol (see `grading`).

Each worker is a fresh interpreter (`python -c ...`), not a fork or a
multiprocessing spawn: nothing of the caller (threads, a notebook, a script
without a main guard) is inherited or re-imported. This module imports
nothing heavy (no pandas), so a worker starts in the time it takes to
import its grader.

Protection against pathological items (kept whatever the speed):
- inside the worker, each `grade()` runs under a CPU-time limit
  (`ITIMER_PROF`/SIGPROF, so it coexists with math-verify's SIGALRM timers)
  and gets the verdict "timeout" past it;
- the parent holds a wall-clock deadline on the item a worker is busy with
  and kills and replaces a worker that overruns it (C code that ignores
  signals, e.g. sympy expanding `10^{10^{10^{10}}}`); a worker that dies
  gives its item the verdict "error". Items queued behind such an item are
  sent again to the replacement, so one bad answer costs at most its
  deadline and never another item's verdict.

Speed: a grading item costs a few milliseconds, while one round trip
parent -> worker -> parent costs a scheduler wake-up on each side, which on a
loaded machine is tens of milliseconds. So the pool keeps a short queue of
items in each worker's pipe (about `QUEUE_SECONDS` of work, by the measured
time per item, at most `MAX_QUEUE` items and never more bytes than the pipe
holds, so a write never blocks): a worker never waits for the parent.
Results come back in order, one frame per item, and the parent reads them
without blocking (`os.read` into a buffer), so a worker that hangs with
items queued is still seen and killed on time.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for_readable
from typing import Any, Callable, Iterable, Iterator

VERDICTS = ("correct", "incorrect", "unparseable", "timeout", "error")
# Not a verdict: a grader's answer "this key does not decide; grade each of
# its samples by `grader.refine_key(text, problem)`" (never stored).
REFINE = "refine"

# Queue in each worker about this much work (seconds of wall time, by the
# running mean per item): long enough to cover the parent's wake-up latency
# on a loaded machine, short enough that the last items still spread over
# all workers.
QUEUE_SECONDS = 0.25
MAX_QUEUE = 32
# Pipes hold 64 KiB on Linux; queued item bytes stay under this, so the
# parent's write to a busy worker can never block.
PIPE_SAFE_BYTES = 48 * 1024
# Wall-clock allowance for a fresh worker to start (imports, `prepare`).
STARTUP_WALL_S = 120.0


class ItemTimeout(BaseException):
    """Raised in a worker when an item exceeds its CPU budget. A
    BaseException so that graders' `except Exception` cannot swallow it."""


def _on_cpu_limit(signum, frame):
    raise ItemTimeout()


def _frame_bytes(obj: Any) -> bytes:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(body).to_bytes(8, "little") + body


def _read_frame(stream) -> Any:
    """One length-prefixed pickle frame from a binary stream (EOFError at end)."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    size = int.from_bytes(head, "little")
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return pickle.loads(body)


def _write_frame(stream, obj: Any) -> None:
    stream.write(_frame_bytes(obj))
    stream.flush()


def _grade_one(grader: Any, key: str, problem: Any, limit: float) -> tuple[str, dict]:
    try:
        try:
            # Fires after `limit` CPU seconds, then every 0.5 s in case a
            # bare `except:` in library code swallowed the first one.
            signal.setitimer(signal.ITIMER_PROF, limit, 0.5)
            verdict, extra = grader.grade(key, problem)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        if verdict not in VERDICTS and verdict != REFINE:
            return "error", {"detail": f"grader returned unknown verdict {verdict!r}"}
        return verdict, dict(extra or {})
    except ItemTimeout:
        return "timeout", {"detail": f"over {limit:g} s of CPU"}
    except RecursionError:
        return "unparseable", {"detail": "recursion limit"}
    except Exception as err:  # a grader bug or a parser failure: the item's verdict
        return "error", {"detail": f"{type(err).__name__}: {str(err)[:200]!r}"}


def worker_main() -> None:
    """A grading worker: reads the grader, then (item_id, payload) frames on
    stdin (payload: the pickled (key, problem)), writes one (item_id, verdict,
    extra) frame per item on stdout, in order, until a None frame or EOF."""
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # Library deprecation notices (sympy, on answers such as sets) would
    # flood the user's terminal once per item: not the user's to act on.
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    signal.signal(signal.SIGPROF, _on_cpu_limit)
    try:
        grader = _read_frame(inp)
    except EOFError:
        return
    limit = float(grader.item_timeout_s)
    prepare = getattr(grader, "prepare", None)
    if prepare is not None:
        # Heavy imports once, before the first item's CPU budget starts; a
        # failure here is left to surface as that item's error.
        try:
            prepare()
        except Exception:
            pass
    # Tell the parent start-up is over: item deadlines run from here.
    _write_frame(out, None)
    while True:
        try:
            msg = _read_frame(inp)
        except EOFError:
            return
        if msg is None:
            return
        item_id, payload = msg
        try:
            key, problem = pickle.loads(payload)
        except Exception as err:  # e.g. a class the worker cannot import
            verdict, extra = "error", {"detail": f"cannot unpickle item: {type(err).__name__}: {str(err)[:200]}"}
        else:
            verdict, extra = _grade_one(grader, key, problem, limit)
        _write_frame(out, (item_id, verdict, extra))


@dataclass
class _Worker:
    process: Any
    queue: deque = field(default_factory=deque)  # (item, nbytes) sent, unanswered, in order
    queued_bytes: int = 0
    head_since: float = 0.0  # when the worker started the queue's first item (at the latest)
    started: bool = False  # start-up (imports, `prepare`) done
    inbox: bytearray = field(default_factory=bytearray)  # result bytes not yet parsed

    @property
    def fd(self) -> int:
        return self.process.stdout.fileno()


@dataclass
class WorkerPool:
    """Processes that grade items, each bounded in CPU and wall-clock time.

    `wall_timeout_s` defaults to 3x the grader's CPU budget + 10 s (the
    machine may be shared); a worker past it on one item is killed and
    replaced. `killed` counts those kills.
    """

    grader: Any
    workers: int
    wall_timeout_s: float | None = None
    killed: int = 0
    _pool: list = field(default_factory=list)
    _item_wall_s: float | None = None  # running mean wall time per item

    def __post_init__(self):
        if self.wall_timeout_s is None:
            self.wall_timeout_s = 3 * float(self.grader.item_timeout_s) + 10.0

    def _start(self) -> _Worker:
        env = dict(os.environ)
        # The worker must import what the parent imported the grader from.
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
        proc = subprocess.Popen(
            [sys.executable, "-c", "from rlboundary.verify.workers import worker_main; worker_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        _write_frame(proc.stdin, self.grader)
        return _Worker(proc, head_since=time.monotonic())

    def _deadline(self, w: _Worker) -> float:
        # Start-up (a fresh interpreter importing sympy on a loaded machine)
        # gets its own allowance, not the first item's.
        allowance = self.wall_timeout_s if w.started else max(STARTUP_WALL_S, self.wall_timeout_s)
        return w.head_since + allowance

    def _kill(self, w: _Worker) -> None:
        try:
            w.process.kill()
        except OSError:
            pass
        w.process.wait(timeout=10)
        for stream in (w.process.stdin, w.process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        for w in self._pool:
            try:
                _write_frame(w.process.stdin, None)
                w.process.stdin.close()
            except OSError:
                pass
        for w in self._pool:
            try:
                w.process.wait(timeout=5)
                w.process.stdout.close()
            except subprocess.TimeoutExpired:
                self._kill(w)
        self._pool = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _queue_limit(self) -> int:
        if self._item_wall_s is None:
            return 2  # nothing measured yet: a little, then adapt
        return max(1, min(MAX_QUEUE, int(QUEUE_SECONDS / max(self._item_wall_s, 1e-4))))

    def _replace(self, i: int, requeue: deque) -> None:
        """Kill worker i, put its unanswered items (but the head) back at the
        front of `requeue` in order, start a fresh worker in its place."""
        w = self._pool[i]
        self._kill(w)
        rest = list(w.queue)[1:]
        for entry in reversed(rest):
            requeue.appendleft(entry)
        self._pool[i] = self._start()

    def imap(self, items: Iterable[tuple[Any, str, Any]], route: Callable[[Any], Any] | None = None) -> Iterator[tuple[Any, str, dict]]:
        """Yield (item_id, verdict, extra) for every (item_id, key, problem), in completion order.

        `route(item)` (optional): items with the same route key go to the
        same worker while others have work (the first worker to meet a key
        owns it), so what a worker caches per key (a parsed gold answer,
        its parses of that problem's texts) is built once, not once per
        worker. A worker with nothing of its own left takes over the last
        waiting items of another, so the end still spreads over all workers.
        """
        todo = iter(items)
        retry: deque = deque()  # (item, payload) to send before new items
        owner: dict = {}  # route key -> index of the worker that owns it
        # A worker still busy from an abandoned earlier call would answer
        # with stale results: replace it.
        for i, w in enumerate(self._pool):
            if w.queue:
                self._kill(w)
                self._pool[i] = self._start()
        while len(self._pool) < self.workers:
            self._pool.append(self._start())
        active = self._pool[: self.workers]

        backlog = [deque() for _ in active]  # items met by one worker but owned by another

        def pack(nxt):
            item_id, key, problem = nxt
            # (key, problem) pickled on their own, so that a worker that
            # cannot unpickle them still knows which item failed.
            payload = pickle.dumps((key, problem), protocol=pickle.HIGHEST_PROTOCOL)
            return nxt, _frame_bytes((item_id, payload))

        def take(i):
            if retry:
                return retry.popleft()
            if backlog[i]:
                return pack(backlog[i].popleft())
            for nxt in todo:
                if route is None:
                    return pack(nxt)
                mine = owner.setdefault(route(nxt), i)
                if mine == i:
                    return pack(nxt)
                backlog[mine].append(nxt)
            # Nothing new: take over the tail of the longest backlog.
            longest = max(backlog, key=len)
            return pack(longest.pop()) if longest else None

        while True:
            limit = self._queue_limit()
            for i, w in enumerate(active):
                if not w.queue and w.process.poll() is not None:
                    # Died while idle (e.g. the OOM killer): no item of ours to blame.
                    self._replace(i, retry)
                    w = active[i] = self._pool[i]
                # Top up only once half the queue is done: runs of
                # consecutive items (mostly of one problem) go to one worker,
                # whose per-problem caches (a parsed gold) then serve them.
                if len(w.queue) > limit // 2:
                    continue
                frames = []  # written together: one system call per top-up, not per item
                while len(w.queue) < limit:
                    entry = take(i)
                    if entry is None:
                        break
                    frame = entry[1]
                    if w.queue and w.queued_bytes + len(frame) > PIPE_SAFE_BYTES:
                        retry.appendleft(entry)  # would fill the pipe: later
                        break
                    if not w.queue:
                        w.head_since = time.monotonic()
                    w.queue.append(entry)
                    w.queued_bytes += len(frame)
                    frames.append(frame)
                if frames:
                    try:
                        w.process.stdin.write(b"".join(frames))
                        w.process.stdin.flush()
                    except OSError:  # died before we could send: its read will hit EOF
                        pass
            busy = [w for w in active if w.queue]
            if not busy:
                return  # (an idle worker takes any backlog above, so none is left)
            wait_s = max(0.0, min(self._deadline(w) for w in busy) - time.monotonic())
            ready = set(wait_for_readable([w.fd for w in busy], timeout=wait_s))
            for i, w in enumerate(active):
                if not w.queue:
                    continue
                if w.fd in ready:
                    try:
                        data = os.read(w.fd, 1 << 16)
                    except OSError:
                        data = b""
                    if not data:  # the worker died (memory, a crash in C)
                        item = w.queue[0][0]
                        self._replace(i, retry)
                        active[i] = self._pool[i]
                        yield item[0], "error", {"detail": f"worker died (exit code {w.process.returncode})"}
                        continue
                    w.inbox += data
                    yield from self._complete_frames(w)
                if w.queue and time.monotonic() >= self._deadline(w):
                    item = w.queue[0][0]
                    self._replace(i, retry)
                    active[i] = self._pool[i]
                    self.killed += 1
                    yield item[0], "timeout", {"detail": f"killed after {self.wall_timeout_s:g} s wall time"}

    def _complete_frames(self, w: _Worker) -> list[tuple[Any, str, dict]]:
        """Results whose frames have fully arrived, popped from the worker's queue."""
        done = []
        while len(w.inbox) >= 8:
            size = int.from_bytes(w.inbox[:8], "little")
            if len(w.inbox) < 8 + size:
                break
            body = bytes(w.inbox[8 : 8 + size])
            del w.inbox[: 8 + size]
            message = pickle.loads(body)
            if message is None:  # start-up done
                w.started, w.head_since = True, time.monotonic()
                continue
            got_id, verdict, extra = message
            item, frame = w.queue.popleft()
            w.queued_bytes -= len(frame)
            now = time.monotonic()
            took = now - w.head_since
            # Running mean of the wall time per item (sizes the queues).
            self._item_wall_s = took if self._item_wall_s is None else 0.9 * self._item_wall_s + 0.1 * took
            w.head_since = now
            done.append((got_id, verdict, extra))
        return done


_SHARED_POOLS: dict[bytes, WorkerPool] = {}


def shared_pool(grader: Any, workers: int) -> WorkerPool:
    """A pool for `grader` kept alive between calls in this process: a
    worker costs seconds to start (it imports sympy), grading an item
    milliseconds. Idle workers wait on a pipe and use no CPU; they exit
    with this process (or `close_worker_pools()`)."""
    ident = pickle.dumps(grader, protocol=pickle.HIGHEST_PROTOCOL)
    pool = _SHARED_POOLS.get(ident)
    if pool is None:
        if not _SHARED_POOLS:
            atexit.register(close_worker_pools)
        pool = _SHARED_POOLS[ident] = WorkerPool(grader, workers)
    pool.workers = workers
    return pool


def close_worker_pools() -> None:
    """Stop every shared grading worker of this process."""
    while _SHARED_POOLS:
        _, pool = _SHARED_POOLS.popitem()
        pool.close()


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
