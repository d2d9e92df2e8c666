# gevent.subprocess: check_output and run (stdout, exit status, timeout in
# one call) while a ticker greenlet keeps running beside them.
import gevent
from gevent import subprocess


def ticker():
    for i in range(1, 3):
        gevent.sleep(0.1)
        print('tick %d' % i)


t = gevent.spawn(ticker)
out = subprocess.check_output(['sh', '-c', 'sleep 0.35; echo slow child'])
print('check_output: %r' % out.decode())
try:
    subprocess.check_output(['sh', '-c', 'echo partial; exit 3'])
except subprocess.CalledProcessError as ex:
    print('check_output: status %d, output %r' % (ex.returncode, ex.output.decode()))
r = subprocess.run(['sh', '-c', 'echo out; echo err >&2; exit 5'], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
print('run: returncode %d, stdout %r, stderr %r' % (r.returncode, r.stdout.decode(), r.stderr.decode()))
r = subprocess.run(['cat'], input=b'fed through stdin', stdout=subprocess.PIPE)
print('run with input: %r' % r.stdout.decode())
try:
    subprocess.run(['sh', '-c', 'echo started; exec sleep 5'], stdout=subprocess.PIPE, timeout=0.3)
except subprocess.TimeoutExpired as ex:
    print('run: timed out, output %r' % ex.output.decode())
t.join()
print('ticker done')
