# Port of seed 001 / seed 002 (AsyncResult, "future"): a setter sets 'Hello!'
# after a sleep; a waiter prints what it gets.
# Determinism: gevent.sleep(3) became gevent.sleep(0.03).
import gevent
from gevent.event import AsyncResult

a = AsyncResult()


def setter():
    """
    After 3 seconds set the result of a.
    """
    gevent.sleep(0.03)
    a.set('Hello!')


def waiter():
    """
    After 3 seconds the get call will unblock after the setter
    puts a value into the AsyncResult.
    """
    print(a.get())


gevent.joinall([
    gevent.spawn(setter),
    gevent.spawn(waiter),
])
