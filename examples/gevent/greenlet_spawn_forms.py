# Port of seed 001 ("直接使用、创建 Greenlet类的子类", first example): three
# ways to create greenlets (Greenlet.spawn, gevent.spawn, a lambda), then
# joinall.
# Determinism: gevent.sleep(1) and gevent.sleep(2) became 0.01 s and 0.02 s.
import gevent
from gevent import Greenlet


def foo(message, n):
    """
    Each thread will be passed the message, and n arguments
    in its initialization.
    """
    gevent.sleep(n)
    print(message)


thread1 = Greenlet.spawn(foo, "Hello", 0.01)
thread2 = gevent.spawn(foo, "I live!", 0.02)
thread3 = gevent.spawn(lambda x: (x + 1), 2)
threads = [thread1, thread2, thread3]
# Block until all threads complete.
gevent.joinall(threads)
