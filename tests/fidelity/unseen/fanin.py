# Fan-in: four workers, each linked to an AsyncResult of its own by
# link_value (the value) and link_exception (the error); a watcher waits on
# one result while main takes them all as they become ready with iwait.
import gevent
from gevent.event import AsyncResult


class Failed(Exception):
    def __init__(self, code):
        Exception.__init__(self, code)
        self.code = code


def compute(n):
    gevent.sleep(0.05 * n)
    if n == 3:
        raise Failed(-22)
    return n * n


def watcher(r):
    try:
        print('watcher: result 1 is %d' % r.get())
    except Failed as ex:
        print('watcher: result 1 failed %d' % ex.code)


results = [AsyncResult() for _ in range(4)]
gs = []
for i, n in enumerate([2, 1, 4, 3]):
    g = gevent.spawn(compute, n)
    g.link_value(lambda g, r=results[i], i=i: (print('link_value %d' % i), r.set(g.value)))
    g.link_exception(lambda g, r=results[i], i=i: (print('link_exception %d' % i), r.set_exception(g.exception)))
    gs.append(g)
w = gevent.spawn(watcher, results[1])
total = 0
for r in gevent.iwait(results):
    i = results.index(r)
    try:
        v = r.get()
        print('main: result %d = %d' % (i, v))
        total += v
    except Failed as ex:
        print('main: result %d failed %d, exception %d' % (i, ex.code, r.exception.code))
print('main: total %d' % total)
late = AsyncResult()
gs[0].link_value(lambda g: late.set('late link_value ran'))
gs[3].link_value(lambda g: late.set('never: g3 failed'))
print('main: %s' % late.get())
gevent.joinall(gs + [w])
print('main: successful %s' % ' '.join(str(int(g.successful())) for g in gs))
