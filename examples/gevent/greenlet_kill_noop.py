# Port of seed 004 (MyNoopGreenlet: a Greenlet subclass that sleeps and has
# its own __str__; kill() with block=False). The seed shows the class only;
# the port starts a short and a long one, joins the short one, kills the long
# one without blocking, then joins it, printing each step.
# Determinism: the sleeps are 0.01 s and 5 s (the long one is killed long
# before it would wake).
import gevent
from gevent import Greenlet


class MyNoopGreenlet(Greenlet):

    def __init__(self, seconds):
        Greenlet.__init__(self)
        self.seconds = seconds

    def _run(self):
        gevent.sleep(self.seconds)

    def __str__(self):
        return 'MyNoopGreenlet(%s)' % self.seconds


short = MyNoopGreenlet(0.01)
long = MyNoopGreenlet(5)
short.start()
long.start()
print('started', short, 'and', long)
short.join()
print(short, 'ready:', short.ready(), 'successful:', short.successful())
long.kill(block=False)
print(long, 'ready right after kill(block=False):', long.ready())
long.join()
print(long, 'ready after join:', long.ready(), 'successful:', long.successful())
