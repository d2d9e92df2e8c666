# Port of seed 001 / seed 002 ("组和池", second example, first half):
# Group.map over three items of a function that prints the group's size.
# Determinism: the seed prints id(getcurrent()), an address; the port prints
# the item the greenlet was given instead.
import gevent
from gevent.pool import Group

group = Group()


def hello_from(n):
    print('Size of group %s' % len(group))
    print('Hello from Greenlet %s' % n)


group.map(hello_from, range(3))
