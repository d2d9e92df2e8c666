# Port of seed 000 (limanman's notes), section 3 "Group": 100 tasks in a
# queue, three workers spawned and added to a Group, then group.join().
# Determinism: the seed prints gevent.getcurrent() (a repr with an address);
# the port names each worker greenlet after its worker and prints that name.
import gevent
from gevent.pool import Group
from gevent.queue import Queue


def add_worker(name, q):
    while not q.empty():
        task = q.get()
        print('found notice: worker(%s:%s) got task(%s)' % (name, gevent.getcurrent().name, task))
        gevent.sleep(0)


if __name__ == '__main__':
    q = Queue()
    g = Group()
    for _ in range(100):
        q.put_nowait(_)
    for worker in ('langlang', 'fengfeng', 'shuishui'):
        gl = gevent.spawn(add_worker, worker, q)
        gl.name = 'greenlet-' + worker
        g.add(gl)
    g.join()
