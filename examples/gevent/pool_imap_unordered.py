# Port of seed 001 ("确定性"): four runs of Pool(10).imap_unordered over an
# echo function give the same order.
# Determinism: the seed's multiprocessing half (nondeterministic by design)
# is dropped; only the gevent Pool half is ported. echo keeps its blocking
# (non-yielding) time.sleep(0.001). Besides the seed's comparison the port
# prints each run, which the seed shows in comments.
import time


def echo(i):
    time.sleep(0.001)
    return i


if __name__ == '__main__':
    from gevent.pool import Pool
    p = Pool(10)
    run1 = [a for a in p.imap_unordered(echo, range(10))]
    run2 = [a for a in p.imap_unordered(echo, range(10))]
    run3 = [a for a in p.imap_unordered(echo, range(10))]
    run4 = [a for a in p.imap_unordered(echo, range(10))]
    print(run1)
    print(run2)
    print(run3)
    print(run4)
    print(run1 == run2 == run3 == run4)
