# Port of seed 001 / seed 002 ("Thread Locals" / "协程局部变量"): f1 and f2 set
# different attributes of one local(); f2 cannot see f1's x.
# Determinism: seed 002's print(threading.current_thread) (an address) is
# left out, as in seed 001.
import gevent
from gevent.local import local

stash = local()


def f1():
    stash.x = 1
    print(stash.x)


def f2():
    stash.y = 2
    print(stash.y)
    try:
        stash.x
    except AttributeError:
        print("x is not local to f2")


g1 = gevent.spawn(f1)
g2 = gevent.spawn(f2)
gevent.joinall([g1, g2])
