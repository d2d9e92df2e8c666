# Port of seed 001 ("示例:生产者、消费者"): one producer and two consumers
# share a Queue(3); each prints a prefix with end='' before its blocking
# put/get and the rest of the line after it.
# Determinism: random.randint(0, 99) became a fixed list of items; the
# endless loops became a fixed count (the producer makes 8 items, each
# consumer takes 4) so the program ends; monkey.patch_all() is dropped
# (no I/O).
import gevent
from gevent.queue import Queue

task_queue = Queue(3)
ITEMS = [42, 7, 93, 15, 64, 28, 81, 3]


def producer(index=1):
    for item in ITEMS:
        print(f'生产者 [{index}]', end='')
        task_queue.put(item)
        print(f"生产 ---> {item}")


def consumer(index=1):
    for _ in range(len(ITEMS) // 2):
        print(f'消费者 [{index}]', end='')
        item = task_queue.get()
        print(f"消费 ---> {item}")


def main():
    job_1 = gevent.spawn(producer)
    job_2 = gevent.spawn(consumer)
    job_3 = gevent.spawn(consumer, 2)
    job_list = [job_1, job_2, job_3]
    gevent.joinall(job_list)


if __name__ == '__main__':
    main()
