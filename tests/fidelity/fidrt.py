"""fidrt - the runtime every generated gevent program imports (`from fidrt import *`).

A generated program prints one trace line per observable event:

    <who>: <what> -> <result>

and its C twin (written against grove, see fidrt.h) prints the same lines
with the same words. This module maps what gevent returns or raises to the
words grove's return codes are printed as:

    GreenletExit (the greenlet was killed)  -> ECANCELED, then re-raised
    Timeout of an enclosing `with Timeout`  -> ETIMEDOUT, then re-raised
    a call's own Timeout / Empty / Full     -> ETIMEDOUT (EEMPTY / EFULL for
                                               the non-blocking forms)
    LoopExit (main would block forever)     -> ELOOPEXIT
    AppError(code) (a greenlet's failure)   -> err=<code>

Output goes straight to fd 1 with os.write, unbuffered, so a program that
hangs or dies still leaves the lines it printed. `run(main)` runs main,
prints "main: end" and leaves with os._exit: greenlets still blocked are
never resumed (a normal interpreter exit would throw GreenletExit into them
while it collects them, and they would print).

The runner may instead run many programs one after another in one process
(MULTI): each gets a hub of its own (a new, non-default libev loop), `tr`
is pointed at that program's buffer before the program is executed, run()
ends a program by raising ProgramEnd, and the runner keeps every finished
program's hub and globals alive for the life of the process, so their
blocked greenlets are never resumed nor collected. Forking once per program
costs 40 times more CPU here; run.py --py-fresh checks both ways agree.
"""
import os
import sys

import gevent
import gevent.event
import gevent.local
import gevent.lock
import gevent.pool
import gevent.queue
from gevent import GreenletExit, Timeout
from gevent.exceptions import LoopExit
from gevent.queue import Empty, Full

__all__ = ['gevent', 'Timeout', 'GreenletExit', 'LoopExit', 'AppError', 'tr', 'op', 'fv', 'FAILED',
           'scope', 'unscope', 'gstate', 'drain', 'drainw', 'run', 'Event', 'AsyncResult', 'Queue',
           'LifoQueue', 'PriorityQueue', 'JoinableQueue', 'Channel', 'Semaphore',
           'BoundedSemaphore', 'RLock', 'local', 'Group', 'Pool', 'SCOPES']

Event = gevent.event.Event
AsyncResult = gevent.event.AsyncResult
Queue = gevent.queue.Queue
LifoQueue = gevent.queue.LifoQueue
PriorityQueue = gevent.queue.PriorityQueue
JoinableQueue = gevent.queue.JoinableQueue
Channel = gevent.queue.Channel
Semaphore = gevent.lock.Semaphore
BoundedSemaphore = gevent.lock.BoundedSemaphore
RLock = gevent.lock.RLock
local = gevent.local.local
Group = gevent.pool.Group
Pool = gevent.pool.Pool


class AppError(Exception):
    """A greenlet's failure: grove_exit(code) / AsyncResult error code."""

    def __init__(self, code):
        Exception.__init__(self, code)
        self.code = code


SCOPES = []  # the scoped Timeouts open right now, in any greenlet


def tr(line):
    os.write(1, (line + '\n').encode())


def fv(v):
    """A value as grove's side prints it."""
    if isinstance(v, GreenletExit):
        return 'exit'
    if v is None:
        return 'ok'
    if v is True or v is False:
        return str(v)
    if isinstance(v, list):
        return '[' + ', '.join(fv(x) for x in v) + ']'
    return str(v)


class _Failed(object):
    pass


FAILED = _Failed()


def op(who, desc, fn, fmt=fv, nowait=False, errs=()):
    """Run fn() and print what it returned or raised as `who: desc -> result`.

    nowait: the call is a non-blocking form, so queue.Empty / queue.Full are
    printed EEMPTY / EFULL (else ETIMEDOUT, the call's own timeout).
    errs: extra (exception class, word) pairs this call may raise.
    Returns fn's value, or FAILED. GreenletExit and a scope's Timeout are
    re-raised after printing: the greenlet unwinds as its C twin returns."""
    try:
        r = fn()
    except GreenletExit:
        tr('%s: %s -> ECANCELED' % (who, desc))
        raise
    except Timeout as ex:
        tr('%s: %s -> ETIMEDOUT' % (who, desc))
        if any(ex is s for s in SCOPES):
            raise
        return FAILED
    except LoopExit:
        tr('%s: %s -> ELOOPEXIT' % (who, desc))
        return FAILED
    except AppError as e:
        tr('%s: %s -> err=%d' % (who, desc, e.code))
        return FAILED
    except Empty:
        tr('%s: %s -> %s' % (who, desc, 'EEMPTY' if nowait else 'ETIMEDOUT'))
        return FAILED
    except Full:
        tr('%s: %s -> %s' % (who, desc, 'EFULL' if nowait else 'ETIMEDOUT'))
        return FAILED
    except BaseException as e:
        for cls, word in errs:
            if isinstance(e, cls):
                tr('%s: %s -> %s' % (who, desc, word))
                return FAILED
        raise
    tr('%s: %s -> %s' % (who, desc, fmt(r)))
    return r


def scope(who, seconds):
    """with Timeout(seconds): the opening half."""
    t = Timeout(seconds)
    t.start()
    SCOPES.append(t)
    tr('%s: scope %s' % (who, seconds))
    return t


def unscope(t):
    t.cancel()
    SCOPES.remove(t)


def gstate(g):
    """A greenlet's observable state, as grove's side prints it."""
    if g is None:
        return 'unset'
    s = 'ready=%s ok=%s started=%s' % (bool(g.ready()), bool(g.successful()), bool(g))
    if g.successful():
        s += ' value=' + fv(g.value)
    return s


def drain(who, it):
    """Iterate an imap / imap_unordered iterator, one line per result; stop
    at the first error as its C twin does."""
    while True:
        r = op(who, 'next', lambda: next(it), errs=((StopIteration, 'EOF'),))
        if r is FAILED:
            return


def drainw(who, it, wo):
    """Iterate gevent.iwait, one line per object, by its name."""
    while True:
        r = op(who, 'next', lambda: next(it), fmt=lambda x: [n for n, o in wo if o is x][0],
               errs=((StopIteration, 'EOF'),))
        if r is FAILED:
            return


class ProgramEnd(BaseException):
    """Raised by run() when programs run one after another in one process."""


class ProgramFailed(BaseException):
    pass


MULTI = False  # set by the runner: several programs per process (see run.py)


def run(main):
    # The loop's cached time dates from its creation (at the program's first
    # object); timers that do not refresh it (spawn_later, joinall's
    # timeout) would count from there. Start the clock where main starts.
    gevent.get_hub().loop.update_now()
    try:
        main()
    except BaseException:
        import traceback
        if MULTI:
            raise ProgramFailed(traceback.format_exc())
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)  # the program itself is broken: a generator bug
    tr('main: end')
    if MULTI:
        raise ProgramEnd()
    sys.stderr.flush()
    os._exit(0)
