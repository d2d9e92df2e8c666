# Port of seed 000 (limanman's notes), section 2 "Queue": a boss puts 25 tasks
# with put_nowait, then three named workers share them, yielding with
# gevent.sleep(0) after each task.
# Determinism: already deterministic; only xrange/print became Python 3.
import gevent
from gevent.queue import Queue


def boss(q):
    for _ in range(25):
        q.put_nowait(_)


def work(name, q):
    while not q.empty():
        task = q.get()
        print('found notice: worker %s got task-%s' % (name, task))
        gevent.sleep(0)


if __name__ == '__main__':
    q = Queue()
    g = gevent.spawn(boss, q)
    g.join()
    workers = []
    for _ in ('limanman', 'liuzhen', 'zhenbao'):
        workers.append(gevent.spawn(work, _, q))
    gevent.joinall(workers)
