# Port of seed 000 (limanman's notes), section 4 "Pool": Pool(2).map of a
# function that prints the pool's size and free count, over three items.
# Determinism: already deterministic; only print became Python 3.
import gevent
from gevent.pool import Pool


def pool_size(p):
    print('found notice: current pool size: %d free %d' % (len(p), p.free_count()))


if __name__ == '__main__':
    p = Pool(2)
    p.map(pool_size, [p] * 3)
