# Port of seed 001 ("超时", second example): `with Timeout(time_to_wait,
# TooLong)` around a longer gevent.sleep.
# Determinism: 5 s and 10 s became 0.01 s and 0.05 s. In the seed TooLong
# escapes and ends the program with a traceback; the port catches it and
# prints one line, and prints a line before the block.
import gevent
from gevent import Timeout

time_to_wait = 0.01  # seconds


class TooLong(Exception):
    pass


print('Sleeping under a %s s timeout' % time_to_wait)
try:
    with Timeout(time_to_wait, TooLong):
        gevent.sleep(0.05)
except TooLong:
    print('TooLong raised')
