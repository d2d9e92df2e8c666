# Port of seed 001 / seed 002 ("队列", second example): a boss puts 19 tasks
# into a Queue(maxsize=3) while three workers take them; a worker quits when
# get(timeout=...) raises Empty.
# Determinism: get(timeout=1) became get(timeout=0.05).
import gevent
from gevent.queue import Queue, Empty

tasks = Queue(maxsize=3)


def worker(name):
    try:
        while True:
            task = tasks.get(timeout=0.05)  # decrements queue size by 1
            print('Worker %s got task %s' % (name, task))
            gevent.sleep(0)
    except Empty:
        print('Quitting time!')


def boss():
    """
    Boss will wait to hand out work until a individual worker is
    free since the maxsize of the task queue is 3.
    """
    for i in range(1, 10):
        tasks.put(i)
    print('Assigned all work in iteration 1')

    for i in range(10, 20):
        tasks.put(i)
    print('Assigned all work in iteration 2')


gevent.joinall([
    gevent.spawn(boss),
    gevent.spawn(worker, 'steve'),
    gevent.spawn(worker, 'john'),
    gevent.spawn(worker, 'bob'),
])
