# Port of seed 001 ("超时", first example): a Timeout started in the main
# greenlet interrupts its join() of a greenlet that sleeps.
# Determinism: the seed's Timeout(10) and sleep(10) are equal, so which
# fires first depends on timer ordering; the port keeps the timeout first
# and shortens both: Timeout(0.01) and sleep(0.05).
import gevent
from gevent import Timeout

seconds = 0.01
timeout = Timeout(seconds)
timeout.start()


def wait():
    gevent.sleep(0.05)


try:
    gevent.spawn(wait).join()
except Timeout:
    print('Could not complete')
