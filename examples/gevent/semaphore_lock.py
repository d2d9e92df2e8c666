# Port of seed 001 (Semaphore(1) used as a lock by f1 and f2, which sleep 1 s
# and 0.3 s between rounds).
# Determinism: the sleeps became 0.6 s and 0.18 s (same 10:3 ratio; margins
# a loaded machine keeps).
import gevent
from gevent.lock import Semaphore

sem = Semaphore(1)


def f1():
    for i in range(5):
        sem.acquire()
        print('run f1, this is ', i)
        sem.release()
        gevent.sleep(0.6)


def f2():
    for i in range(5):
        sem.acquire()
        print('run f2, that is ', i)
        sem.release()
        gevent.sleep(0.18)


t1 = gevent.spawn(f1)
t2 = gevent.spawn(f2)
gevent.joinall([t1, t2])
