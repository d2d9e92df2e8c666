# Port of seed 001 ("gevent 池"): an unbounded Pool runs func_1, which spawns
# 100 func_2 greenlets into the same pool; the main greenlet joins the pool.
# Determinism: already deterministic.
from gevent import pool

gevent_pool = pool.Pool()


def func_1():
    for index in range(100):
        gevent_pool.spawn(func_2, index)


def func_2(arg=None):
    print(f'func_2 ---> {arg}')


gevent_pool.spawn(func_1)
gevent_pool.join()
