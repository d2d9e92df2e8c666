# Port of seed 001 ("2、gevent 指南", first example): three greenlets run
# f(5), printing the current greenlet and a counter, and alternate with
# gevent.sleep(0).
# Determinism: the seed prints gevent.getcurrent() (a repr with an address);
# the port names the greenlets g1, g2, g3 and prints the name. The seed's
# monkey.patch_socket() is dropped (no I/O).
import gevent


def f(n):
    for i in range(n):
        print(gevent.getcurrent().name, i)
        gevent.sleep(0)


g1 = gevent.spawn(f, 5)
g1.name = 'g1'
g2 = gevent.spawn(f, 5)
g2.name = 'g2'
g3 = gevent.spawn(f, 5)
g3.name = 'g3'
g1.join()
g2.join()
g3.join()
