# Port of seed 001 ("方法 1:继承 Gevent 的 Greenlet"): a Greenlet subclass Task
# with a name, whose _run prints; two tasks started, then joinall.
# Determinism: already deterministic. The seed's monkey.patch_all() is
# dropped: nothing in the example does I/O, so it changes nothing.
import gevent
from gevent import Greenlet


class Task(Greenlet):
    def __init__(self, name):
        Greenlet.__init__(self)
        self.name = name

    def _run(self):
        print("Task %s: some task..." % self.name)


t1 = Task("task1")
t2 = Task("task2")
t1.start()
t2.start()
# here we are waiting all tasks
gevent.joinall([t1, t2])
