# Port of seed 001 ("直接使用、创建 Greenlet类的子类", second example): a
# Greenlet subclass whose _run prints its message and sleeps n seconds.
# Determinism: MyGreenlet("Hi there!", 3) sleeps 0.03 s instead of 3 s.
import gevent
from gevent import Greenlet


class MyGreenlet(Greenlet):
    def __init__(self, message, n):
        Greenlet.__init__(self)
        self.message = message
        self.n = n

    def _run(self):
        print(self.message)
        gevent.sleep(self.n)


g = MyGreenlet("Hi there!", 0.03)
g.start()
g.join()
