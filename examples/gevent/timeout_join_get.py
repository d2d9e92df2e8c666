# Port of seed 001 ("超时", third example): a Timeout object passed as the
# timeout of join() and get(), and gevent.with_timeout().
# Determinism: Timeout(1) and sleep(2) became 0.01 s and 0.03 s. The
# greenlets left sleeping are not waited for (as in the seed, the program
# just ends).
import gevent
from gevent import Timeout


def wait():
    gevent.sleep(0.03)


timer = Timeout(0.01).start()
thread1 = gevent.spawn(wait)
try:
    thread1.join(timeout=timer)
except Timeout:
    print('Thread 1 timed out')

# --
timer = Timeout.start_new(0.01)
thread2 = gevent.spawn(wait)
try:
    thread2.get(timeout=timer)
except Timeout:
    print('Thread 2 timed out')

# --
try:
    gevent.with_timeout(0.01, wait)
except Timeout:
    print('Thread 3 timed out')
