# Port of seed 001 / seed 002 ("组和池", second example, second half):
# Group.imap and Group.imap_unordered over a task that sleeps 3 - n.
# Determinism: gevent.sleep(3 - n) became gevent.sleep((3 - n) * 0.01).
import gevent
from gevent.pool import Group


def intensive(n):
    gevent.sleep((3 - n) * 0.01)
    return 'task', n


print('Ordered')

ogroup = Group()
for i in ogroup.imap(intensive, range(3)):
    print(i)

print('Unordered')
igroup = Group()
for i in igroup.imap_unordered(intensive, range(3)):
    print(i)
