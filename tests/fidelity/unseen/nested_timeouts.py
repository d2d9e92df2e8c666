# Nested Timeouts: an inner one that fires and is handled inside the outer
# one, an outer one that fires through the inner one, a call's own timeout
# inside a scope, and Timeout.pending along the way. The jobs run one after
# another.
import gevent
from gevent import Timeout
from gevent.event import AsyncResult

U = 0.05


def job(name, outer, inner, work1, work2):
    to = Timeout(outer * U)
    to.start()
    try:
        ti = Timeout(inner * U)
        ti.start()
        try:
            gevent.sleep(work1 * U)
            print('%s: first step done' % name)
        except Timeout as ex:
            if ex is not ti:
                raise
            print('%s: inner fired, outer pending %s, inner pending %s' % (name, to.pending, ti.pending))
        finally:
            ti.cancel()
        r = AsyncResult()
        try:
            r.get(timeout=work2 * U)
            print('%s: second step got a result' % name)
        except Timeout as ex:
            if ex is to:
                raise
            print('%s: second step: its own timeout' % name)
        gevent.sleep(0)
        print('%s: done, outer pending %s' % (name, to.pending))
    except Timeout as ex:
        if ex is not to:
            raise
        print('%s: outer fired, pending %s' % (name, to.pending))
    finally:
        to.cancel()
    print('%s: after' % name)
    return name


for args in [('A', 6, 2, 8, 1), ('B', 3, 8, 6, 1), ('C', 4, 1, 8, 8), ('D', 9, 4, 1, 1)]:
    g = gevent.spawn(job, *args)
    g.join()
    print('main: joined, value %s' % g.value)
