# Port of seed 000 (limanman's notes), section 5 "BoundedSemaphore": an
# unbounded Pool maps three workers that hold a BoundedSemaphore(2) across a
# gevent.sleep(0).
# Determinism: already deterministic; only print became Python 3.
import gevent
from gevent.pool import Pool
from gevent.lock import BoundedSemaphore

b = BoundedSemaphore(2)


def work(name):
    with b:
        print('found notice: worker %s acquire sem lock.' % (name,))
        gevent.sleep(0)
    print('found notice: worker %s release sem lock.' % (name,))


if __name__ == '__main__':
    p = Pool()
    p.map(work, ['李满满', '刘珍珍', '罗诗瑶'])
