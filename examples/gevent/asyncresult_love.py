# Port of seed 000 (limanman's notes), section 1 "AsyncResult": the setter
# stores 'I LOVE' in an AsyncResult that four waiters get.
# Determinism: Python 3 prints; gevent.sleep(3) became gevent.sleep(0.03).
# The seed tests `e.successful` (an undefined name, and a method that is not
# called); the port calls a.successful() as intended.
import gevent
from gevent.event import AsyncResult


def setter(a):
    print('I')
    gevent.sleep(0.03)
    print('LOVE')
    a.set('I LOVE')


def waiter(a):
    value = a.get()
    if a.successful():
        print('found notice: recv data from setter %s.' % (value,))
    print('You')


if __name__ == '__main__':
    a = AsyncResult()
    gevent.joinall([
        gevent.spawn(setter, a),
        gevent.spawn(waiter, a),
        gevent.spawn(waiter, a),
        gevent.spawn(waiter, a),
        gevent.spawn(waiter, a)
    ])
