# An RLock taken three levels deep by each worker; main kills a worker that
# waits for the lock and then the one holding it, three levels deep; the
# lock passes to the next waiter.
import gevent
from gevent.lock import RLock

lock = RLock()


def inner(name, depth):
    with lock:
        print('%s: depth %d' % (name, depth))
        if depth < 3:
            inner(name, depth + 1)
        else:
            gevent.sleep(0.2)
        print('%s: leaving depth %d' % (name, depth))


def worker(name):
    try:
        inner(name, 1)
        print('%s: done' % name)
    except gevent.GreenletExit:
        print('%s: killed' % name)
        raise
    return name


ws = []
for name in ['w1', 'w2', 'w3']:
    g = gevent.spawn(worker, name)
    g.link(lambda g, name=name: print('link: %s ended' % name))
    ws.append(g)
gevent.sleep(0.05)
print('main: try acquire -> %s' % lock.acquire(blocking=False))
ws[1].kill()
print('main: killed w2 (waiting), dead %s' % ws[1].dead)
ws[0].kill()
print('main: killed w1 (holding), dead %s' % ws[0].dead)
got = lock.acquire(blocking=False)
print('main: try acquire -> %s' % got)
gevent.sleep(0)
print('main: slept')
if got:
    lock.release()
    print('main: released')
ws[2].join()
print('main: w3 value %s' % ws[2].value)
print('main: try acquire -> %s' % lock.acquire(blocking=False))
lock.acquire()
print('main: acquired again')
for _ in range(2):
    lock.release()
print('main: released twice')
