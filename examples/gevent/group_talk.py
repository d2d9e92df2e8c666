# Port of seed 002 ("组和池", first example; seed 001 has a shorter version):
# three greenlets that print without blocking, added to a Group and joined.
# Determinism: already deterministic.
import gevent
from gevent.pool import Group


def talk(msg):
    for i in range(3):
        print(msg)


g1 = gevent.spawn(talk, 'bar')
g2 = gevent.spawn(talk, 'foo')
g3 = gevent.spawn(talk, 'fizz')

group = Group()
group.add(g1)
group.add(g2)
group.join()

group.add(g3)
group.join()
