# Port of seed 001 / seed 002 ("Subprocess"): a cron greenlet prints every
# 0.2 s while the main greenlet waits cooperatively for a child process
# ('sleep 1; uname'), then kills cron and prints the child's output.
# This is the tutorial's only kill() example. The subprocess itself is out of
# scope, so the port replaces Popen(...).communicate() with a cooperative
# gevent.sleep of the child's duration and prints a fixed 'Linux' for uname.
# Determinism: 0.2 s became 0.1 s and 1 s became 0.45 s, so main wakes
# half-way between two cron ticks (the seed's 1 s falls on a tick).
import gevent


def cron():
    while True:
        print("cron")
        gevent.sleep(0.1)


g = gevent.spawn(cron)
gevent.sleep(0.45)  # stands for: out, err = Popen(['sleep 1; uname'], ...).communicate()
g.kill()
print('Linux')  # stands for: print(out.rstrip())
