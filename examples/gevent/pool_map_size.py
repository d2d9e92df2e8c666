# Port of seed 001 / seed 002 ("组和池", Pool example): Pool(2).map over three
# items of a function that prints the pool's size.
# Determinism: already deterministic.
import gevent
from gevent.pool import Pool

pool = Pool(2)


def hello_from(n):
    print('Size of pool %s' % len(pool))


pool.map(hello_from, range(3))
