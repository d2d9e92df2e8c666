# A producer and three consumers around a bounded JoinableQueue: the main
# greenlet waits for every task to be done, then kills the consumers.
import gevent
from gevent.queue import JoinableQueue

q = JoinableQueue(maxsize=2)


def consumer(name):
    while True:
        item = q.get()
        print('%s got %d' % (name, item))
        for _ in range(item % 3):
            gevent.sleep(0)
        print('%s done %d' % (name, item))
        q.task_done()


def producer():
    for i in range(1, 8):
        q.put(i)
        print('put %d (qsize %d)' % (i, q.qsize()))
    print('producer finished')


workers = [gevent.spawn(consumer, 'c%d' % i) for i in range(3)]
p = gevent.spawn(producer)
p.join()
print('producer joined, unfinished %d' % q.unfinished_tasks)
q.join()
print('all tasks done, unfinished %d' % q.unfinished_tasks)
gevent.killall(workers)
print('consumers dead: %s' % ' '.join(str(int(w.dead)) for w in workers))
print('producer successful: %d' % p.successful())
