# Port of seed 001 / seed 002 ("锁和信号量"): worker1 uses acquire/release and
# worker2 a with block on a BoundedSemaphore(2); an unbounded Pool maps them.
# Determinism: already deterministic (gevent.coros of seed 002 is now
# gevent.lock).
from gevent import sleep
from gevent.pool import Pool
from gevent.lock import BoundedSemaphore

sem = BoundedSemaphore(2)


def worker1(n):
    sem.acquire()
    print('Worker %i acquired semaphore' % n)
    sleep(0)
    sem.release()
    print('Worker %i released semaphore' % n)


def worker2(n):
    with sem:
        print('Worker %i acquired semaphore' % n)
        sleep(0)
    print('Worker %i released semaphore' % n)


pool = Pool()
pool.map(worker1, range(0, 2))
pool.map(worker2, range(3, 6))
