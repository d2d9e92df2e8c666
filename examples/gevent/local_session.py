# Port of seed 000 (limanman's notes), "局部变量" (local): two greenlets share a
# gevent.local.local() and each keeps its own session name and timestamp.
# Determinism: gevent.sleep(5) became gevent.sleep(0.05); time.time() became
# fake_time(), a counter that returns 1, 2, 3, 4... in call order, so the
# printed timestamp is stable and still shows which call stored it.
import gevent
from gevent.local import local

logins = [0]


def fake_time():
    logins[0] += 1
    return logins[0]


def session_manager(l, user):
    l.name = user
    l.timestamp = fake_time()
    print('found notice: user %s login in and online.' % (user,))
    gevent.sleep(0.05)
    l.name = user
    l.timestamp = fake_time()
    print('found notice: user %s session expire outs.' % (user,))
    print('''
    name: %s
    status: offline
    timestamp: %s
    ''' % (l.name, l.timestamp))


if __name__ == '__main__':
    l = local()
    gevent.joinall([
        gevent.spawn(session_manager, l, '李满满'),
        gevent.spawn(session_manager, l, '刘珍珍'),
    ])
