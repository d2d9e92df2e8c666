# Port of seed 003 ("例子"): three greenlets that each sleep; joinall; print
# how long it took.
# Determinism: gevent.sleep(3) became gevent.sleep(0.1), and the measured
# cost (time.time() difference) is printed as a verdict instead of a
# number: 'concurrent' if it took less than 2.5 sleeps (sequential work
# would take three).
import time
import gevent


def func(i):
    print('func{0} start'.format(i))
    gevent.sleep(0.1)
    print('func{0} done'.format(i))


s = time.time()
coroutines = []
for i in range(3):
    coroutines.append(gevent.spawn(func, i=i))
gevent.joinall(coroutines)
e = time.time()
print('gevent cost: ', 'concurrent' if e - s < 0.25 else 'sequential')
