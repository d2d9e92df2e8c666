# Port of seed 001 / seed 002 ("Actors"): an Actor is a Greenlet whose _run
# loop takes messages from its Queue inbox and hands them to receive();
# Pinger and Ponger answer each other's messages.
# Termination: the seed's actors exchange messages forever; here each actor
# stops (self.running = False) once it has received MAX_MESSAGES messages.
# The last 'pong' stays unread in ping's inbox.
import gevent
from gevent.queue import Queue

MAX_MESSAGES = 5


class Actor(gevent.Greenlet):

    def __init__(self):
        super(Actor, self).__init__()
        self.inbox = Queue()
        self.received = 0

    def receive(self, message):
        """
        Define in your subclass.
        """
        raise NotImplementedError()

    def _run(self):
        self.running = True
        while self.running:
            message = self.inbox.get()
            self.receive(message)
            self.received += 1
            if self.received == MAX_MESSAGES:
                self.running = False


class Pinger(Actor):
    def receive(self, message):
        print(message)
        pong.inbox.put('ping')
        gevent.sleep(0)


class Ponger(Actor):
    def receive(self, message):
        print(message)
        ping.inbox.put('pong')
        gevent.sleep(0)


ping = Pinger()
pong = Ponger()

ping.start()
pong.start()

ping.inbox.put('start')
gevent.joinall([ping, pong])
