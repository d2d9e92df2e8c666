# Port of seed 001 (the "non-deterministic task" example): task(pid) sleeps
# a random 0-2 ms and prints; run synchronously for pids 1..9, then as
# greenlets for pids 0..9.
# Determinism: random.randint(0, 2) became a fixed table of the same range
# (DELAYS), and the step of 0.001 s became 0.01 s so that tasks with
# different delays cannot swap because of clock jitter.
import gevent

DELAYS = [1, 0, 2, 1, 2, 0, 0, 1, 2, 1]


def task(pid):
    """
    Some non-deterministic task
    """
    gevent.sleep(DELAYS[pid] * 0.01)
    print('Task %s done' % pid)


def synchronous():
    for i in range(1, 10):
        task(i)


def asynchronous():
    threads = [gevent.spawn(task, i) for i in range(10)]
    gevent.joinall(threads)


print('同步执行:')
synchronous()
print('异步执行:')
asynchronous()
