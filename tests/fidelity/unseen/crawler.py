# A crawler: Pool(2).imap_unordered over six "pages", each fetch bounded by
# its own Timeout; results are printed as they finish.
import gevent
from gevent import Timeout
from gevent.pool import Pool

U = 0.1
PAGES = ['a', 'b', 'c', 'd', 'e', 'f']
DELAY = {'a': 3, 'b': 1, 'c': 8, 'd': 2, 'e': 9, 'f': 1}  # in units of U
LIMIT = 5 * U


def fetch(page):
    print('fetch %s' % page)
    t = Timeout(LIMIT)
    t.start()
    try:
        gevent.sleep(DELAY[page] * U)
        return '%s ok' % page
    except Timeout as ex:
        if ex is not t:
            raise
        return '%s timed out' % page
    finally:
        t.cancel()


pool = Pool(2)
n = 0
for result in pool.imap_unordered(fetch, PAGES):
    n += 1
    print('%d: %s (free %d)' % (n, result, pool.free_count()))
pool.join()
print('crawled %d pages, free %d' % (n, pool.free_count()))
