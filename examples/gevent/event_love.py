# Port of seed 000 (limanman's notes), section 1 "Event": one setter prints
# 'I', sleeps, prints 'LOVE' and sets the event; four waiters print 'You'.
# Determinism: Python 3 prints; gevent.sleep(3) became gevent.sleep(0.03).
import gevent
from gevent.event import Event


def setter(e):
    print('I')
    gevent.sleep(0.03)
    print('LOVE')
    e.set()


def waiter(e):
    e.wait()
    print('You')


if __name__ == '__main__':
    e = Event()
    gevent.joinall([
        gevent.spawn(setter, e),
        gevent.spawn(waiter, e),
        gevent.spawn(waiter, e),
        gevent.spawn(waiter, e),
        gevent.spawn(waiter, e)
    ])
