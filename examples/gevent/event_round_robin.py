# Port of seed 001 (three events act1..act3 passing the turn 1 -> 2 -> 3):
# each of three greenlets prints its line, sets the next one's event, clears
# its own and waits on it, ten times.
# Determinism / termination: the seed's time.sleep(1) blocks the whole
# thread without yielding, so it only slows the program down; it is dropped.
# In the seed the last round leaves fun2 and fun3 waiting forever (gevent
# then raises LoopExit in joinall); the port adds one set() of the next
# event after each loop so that all three finish.
import gevent
from gevent import event


def fun1(num, event1, event2):
    i = 0
    while i < 10:
        i += 1
        print('进程一:111111111')
        event2.set()
        event1.clear()
        event1.wait()
    event2.set()


def fun2(num, event2, event3):
    i = 0
    while i < 10:
        i += 1
        print('进程二:222222222')
        event3.set()
        event2.clear()
        event2.wait()
    event3.set()


def fun3(num, event3, event1):
    i = 0
    while i < 10:
        i += 1
        print('进程三:333333333')
        event1.set()
        event3.clear()
        event3.wait()
    event1.set()


if __name__ == "__main__":
    act1 = gevent.event.Event()
    act2 = gevent.event.Event()
    act3 = gevent.event.Event()
    gevent_list = []
    g = gevent.Greenlet(fun1, 1, act1, act2)
    g.start()
    gevent_list.append(g)
    print('进程一启动:')
    g = gevent.Greenlet(fun2, 2, act2, act3)
    g.start()
    gevent_list.append(g)
    print('进程二启动:')
    g = gevent.Greenlet(fun3, 3, act3, act1)
    g.start()
    gevent_list.append(g)
    print('进程三启动:')
    print('所有进程都已启动!')
    gevent.joinall(gevent_list)
