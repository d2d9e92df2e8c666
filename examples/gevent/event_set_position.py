# Port of seed 003 ("Event"): a setter and three waiters; the seed shows the
# output with evt.set() before the setter's sleep (position 1) and after it
# (position 2). The port runs both variants, one after the other, each with
# a new Event, and prints a header line before each.
# Determinism: gevent.sleep(3) became gevent.sleep(0.03).
import gevent
from gevent.event import Event

evt = None
position = None


def setter():
    print('setter start')
    if position == 1:
        evt.set()  # ---> 1
    gevent.sleep(0.03)
    print('setter done')
    if position == 2:
        evt.set()  # ---> 2


def waiter(i):
    print('waiter{0} start'.format(i))
    evt.wait()
    print('waiter{0} done'.format(i))


for position in (1, 2):
    print('evt.set() at position %d:' % position)
    evt = Event()
    gevent.joinall(
        [
            gevent.spawn(setter),
            gevent.spawn(waiter, 1),
            gevent.spawn(waiter, 2),
            gevent.spawn(waiter, 3)
        ]
    )
