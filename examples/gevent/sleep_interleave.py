# Port of seed 001 ("2、gevent 指南", func_a / func_b): two greenlets count
# down from 10, one sleeping 1 s per step and the other 0.5 s.
# Determinism: 1 s became 0.4 s and 0.5 s became 0.18 s. In the seed the
# 2:1 ratio makes both wake at the same instants (1 s, 2 s...), so their
# order there depends on clock jitter; a slightly faster func_b (10 ms per
# two steps, a margin a loaded machine under a sanitizer keeps) makes it
# always print first at those instants.
# monkey.patch_all() is dropped.
import gevent


def func_a():
    count = 10
    while count > 0:
        print(f"func_a ---> {count}")
        count -= 1
        gevent.sleep(0.4)


def func_b():
    count = 10
    while count > 0:
        print(f"func_b ---> {count}")
        count -= 1
        gevent.sleep(0.18)


g1 = gevent.spawn(func_a)
g2 = gevent.spawn(func_b)
g1.join()
g2.join()
