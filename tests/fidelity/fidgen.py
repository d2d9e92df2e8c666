"""fidgen - random programs over gevent's primitives, written twice.

A program is a small tree of plain dicts (so it can be copied, shrunk and
printed): objects (events, results, queues, locks, locals, groups), the
greenlet functions it spawns, the link callbacks, pool workers and
apply_async callbacks, and main's body. `emit_py` writes it for gevent
(importing fidrt.py), `emit_c` for grove (including fidrt.h, using only
grove's public API); both print the same trace when grove keeps gevent's
order.

Determinism. Every timed duration of a program (a sleep, a call's timeout,
spawn_later, a scoped Timeout) is a distinct power of two of U = 20 ms,
used once. The instant anything happens is then a sum of distinct powers of
two along its causal chain, so two different instants are at least 20 ms
apart and two things that happen "at the same time" were caused by the same
timer: their order is decided by the scheduler, never by jitter. Pool
workers run once per item, so their sleeps take the duration of their item.

The statement kinds, one dict each ('k' is the kind):
  spawn k [later d] [grp P]    sleep d        join/get k to     joinall/killall ks
  kill k block to              link k cb      state k           fail code
  ev_set/ev_clear/ev_isset e   ev_wait e to
  ar_set a v / ar_exc a code   ar_get/ar_wait a to   ar_state a
  q_put q v to / q_get/q_peek q to / q_size / q_done / q_join q to
  sem_acq s to / sem_rel s / sem_state s
  scope d body                 l_set/l_get/l_del l
  g_join p to / g_kill p / g_len p / map/imap p w items / apply p w item
  apply_async p w item slot cb
  sleepx / failx (pool workers: duration / failure by item)
A timeout `to` is None (forever), ('t', seconds) (seconds may be 0) or
'nowait' (the non-blocking form: block=False, *_nowait).
"""
import copy
import random

U = 0.02  # seconds: the unit of every duration (20 ms: margins for a loaded machine)
NPOWERS = 5  # durations 20, 40, 80, 160, 320 ms: a program lasts at most ~0.6 s

# Constructs the generator can be told to leave out (--without NAME). The
# ones marked "grove lacks" are never generated: grove has no API for them.
FEATURES = {
    'spawn_later0': 'spawn_later(0, ...)',
    'timeout0': 'blocking calls with timeout=0 (gevent yields once, then fails)',
    'scope0': 'a scoped Timeout(0)',
    'self_kill': 'a greenlet killing itself (kill and killall)',
    'chan_nowait': 'Channel put_nowait/get_nowait and put/get with timeout=0',
    'map_fail': 'Pool.map / imap over a worker that fails for some items',
    'blocking_kill': 'kill() and killall() with block=True',
    'ar_get_ready': 'AsyncResult.get() (nowait and blocking) on results that may be set',
    'joinall': 'gevent.joinall (with count= and raise_error=)',
    'wait': 'gevent.wait / gevent.iwait over greenlets, events and async results',
    'group': 'Group and Pool',
    'group_kill': ('Group.kill (off by default: gevent kills the members in the order of a set of '
                   'greenlets, i.e. of their addresses, which is not reproducible)'),
    'local': 'gevent.local',
}
OFF_BY_DEFAULT = {'group_kill'}
# The constructs above that still trigger an open divergence (DIVERGENCES.md
# says which): `run.py --without-known` leaves them out, so that a sweep
# shows what else there is. A fix takes its trigger off this list.
KNOWN_TRIGGERS = set()
GROVE_LACKS = {
    'unlink': 'Greenlet.unlink (grove lacks it)',
    'wait_queue': 'gevent.wait / iwait over queues (gevent 22.10 queues have no rawlink; grove extension)',
    'killone': 'Group.killone (grove lacks it)',
    'map_async': 'Pool.map_async / map_cb (grove lacks them)',
    'kill_exception': 'kill(exception=...) with another exception than GreenletExit',
    'self_join': "joining the current greenlet (gevent blocks forever, grove's documented EDEADLK)",
    'rlock_locked': 'RLock.locked() (gevent 22.10 has none)',
    'apply_inline_fail': ('Pool.apply from a member of the pool (run inline) of a worker that fails: '
                          "grove_exit ends the caller, C cannot catch it (a documented difference)"),
}


def secs(d):
    """The literal both languages print a duration with."""
    if d == 0:
        return '0'
    return repr(float(d))


# ---------------------------------------------------------------- generation


class Gen:
    def __init__(self, rng, without=(), with_=()):
        self.r = rng
        self.feat = {f: f not in without and f not in OFF_BY_DEFAULT for f in FEATURES}
        for f in with_:
            self.feat[f] = True
        self.powers = list(range(NPOWERS))
        rng.shuffle(self.powers)
        self.val = 0
        self.code = -5000
        self.nfuncs = {'g': 0, 'L': 0, 'w': 0, 'cb': 0}
        self.nscope = 0
        self.in_worker = False
        self.may_fail = True
        self.p = {'objs': [], 'funcs': {}, 'main': [], 'nslots': 0}

    # -- resources
    def dur(self):
        """A fresh duration, or None when the program has used them all (or
        inside a pool worker, whose body runs once per item: a fixed duration
        there would be used several times; sleepx gives each item its own)."""
        if not self.powers or self.in_worker:
            return None
        return round(U * (1 << self.powers.pop()), 6)

    def newval(self):
        self.val += 1
        return self.val

    def newcode(self):
        self.code -= 1
        return self.code

    def objs(self, kind):
        return [o for o in self.p['objs'] if o['kind'] in kind]

    def pick(self, xs):
        return self.r.choice(xs) if xs else None

    def to(self, allowed=('forever', 't', 't0', 'nowait')):
        r = self.r
        opts = []
        for a, w in (('forever', 45), ('t', 30), ('t0', 10), ('nowait', 15)):
            if a in allowed and (a != 't0' or self.feat['timeout0']):
                opts.append((a, w))
        a = r.choices([a for a, _ in opts], [w for _, w in opts])[0]
        if a == 'forever':
            return None
        if a == 'nowait':
            return 'nowait'
        if a == 't0':
            return ('t', 0)
        d = self.dur()
        return ('t', d) if d is not None else None

    # -- program
    def program(self):
        r = self.r
        fams = ['event', 'ar', 'queue', 'sem']
        if self.feat['local']:
            fams.append('local')
        if self.feat['group']:
            fams.append('group')
        chosen = r.sample(fams, r.randint(1, min(3, len(fams))))
        counts = {}
        for fam in chosen:
            for _ in range(r.choice((1, 1, 2))):
                self.newobj(fam, counts)
        self.p['main'] = self.body(Ctx('main', 'main', None), r.randint(4, 10))
        return self.p

    def newobj(self, fam, counts):
        r = self.r
        prefix = {'event': 'E', 'ar': 'A', 'queue': 'Q', 'sem': 'S', 'local': 'X', 'group': 'P'}[fam]
        i = counts.get(prefix, 0)
        counts[prefix] = i + 1
        o = {'id': '%s%d' % (prefix, i), 'fam': fam, 'kind': fam, 'n': None}
        if fam == 'queue':
            o['kind'] = r.choice(('queue', 'queue', 'lifo', 'prio', 'jq', 'chan'))
            if o['kind'] != 'chan' and r.random() < 0.5:
                o['n'] = r.randint(1, 3)
        elif fam == 'sem':
            o['kind'] = r.choice(('sem', 'bsem', 'lock', 'rlock'))
            if o['kind'] == 'sem':
                o['n'] = r.randint(0, 2)
            elif o['kind'] == 'bsem':
                o['n'] = r.randint(1, 2)
        elif fam == 'group':
            o['kind'] = r.choice(('group', 'pool', 'pool'))
            if o['kind'] == 'pool':
                o['n'] = r.randint(1, 3)
        self.p['objs'].append(o)
        return o

    def newfunc(self, kind, ctx, **extra):
        self.nfuncs[kind] += 1
        if kind == 'g':
            self.p['nslots'] += 1
            j = self.p['nslots']
            name = 'g%d' % j
        else:
            j = self.nfuncs[kind]
            name = '%s%d' % (kind, j)
        f = {'name': name, 'kind': kind, 'id': j, 'body': []}
        f.update(extra)
        self.p['funcs'][name] = f
        return f

    def newslot(self):
        self.p['nslots'] += 1
        return self.p['nslots']

    def slots(self):
        return list(range(1, self.p['nslots'] + 1))

    def body(self, ctx, n):
        out = []
        for _ in range(n):
            s = None
            for _try in range(8):
                s = self.stmt(ctx)
                if s:
                    break
            if s:
                out.append(s)
        if ctx.kind == 'g' and self.r.random() < 0.15:
            out.append({'k': 'fail', 'code': self.newcode()})
        if ctx.kind == 'w' and self.r.random() < 0.4 and self.feat['map_fail'] and self.may_fail:
            out.append({'k': 'failx', 'items': None})  # items filled in by the map statement
        return out

    # weights per context; 'full' for main and spawned greenlets
    W_FULL = {
        'spawn': 12, 'sleep': 9, 'join': 5, 'get': 3, 'joinall': 2, 'kill': 6, 'killall': 2,
        'wait': 2,
        'link': 5, 'state': 3, 'ev_set': 4, 'ev_clear': 1, 'ev_isset': 1, 'ev_wait': 5,
        'ar_set': 3, 'ar_exc': 2, 'ar_get': 4, 'ar_wait': 2, 'ar_state': 1, 'ar_excval': 1, 'q_put': 6,
        'q_get': 6, 'q_peek': 2, 'q_size': 2, 'q_done': 2, 'q_join': 2, 'sem_acq': 5,
        'sem_rel': 5, 'sem_state': 1, 'scope': 3, 'pending': 1, 'l_set': 2, 'l_get': 2, 'l_del': 1,
        'g_join': 2, 'g_kill': 1, 'g_len': 1, 'map': 2, 'imap': 2, 'apply': 1, 'apply_async': 2,
    }
    W_CB = {
        'sleep': 6, 'join': 2, 'get': 1, 'kill': 2, 'state': 3, 'ev_set': 4, 'ev_wait': 3,
        'ar_set': 2, 'ar_get': 2, 'q_put': 4, 'q_get': 3, 'q_size': 1, 'q_done': 1,
        'sem_acq': 3, 'sem_rel': 3, 'l_get': 1, 'l_set': 1, 'g_len': 1,
    }
    W_WORK = {
        'sleep': 4, 'sleepx': 8, 'ev_set': 2, 'ev_wait': 2, 'q_put': 3, 'q_get': 2,
        'sem_acq': 2, 'sem_rel': 2, 'ar_set': 1, 'state': 1,
    }

    def stmt(self, ctx):
        r = self.r
        w = {'main': self.W_FULL, 'g': self.W_FULL, 'L': self.W_CB, 'cb': self.W_CB,
             'w': self.W_WORK}[ctx.kind]
        k = r.choices(list(w), list(w.values()))[0]
        return getattr(self, 's_' + k)(ctx)

    # -- statements
    def s_spawn(self, ctx):
        r = self.r
        if self.nfuncs['g'] >= 7 or ctx.depth >= 3:
            return None
        s = {'k': 'spawn', 'later': None, 'grp': None}
        x = r.random()
        grps = self.objs(('group', 'pool'))
        if x < 0.2:
            d = self.dur() if (r.random() < 0.75 or not self.feat['spawn_later0']) else 0
            if d is None:
                d = 0 if self.feat['spawn_later0'] else None
            s['later'] = d
        elif x < 0.45 and grps:
            s['grp'] = self.pick(grps)['id']
        f = self.newfunc('g', ctx)
        s['slot'] = f['id']
        gctx = Ctx(f['name'], 'g', f['id'], ctx.depth + 1)
        gctx.grp = s['grp']
        f['body'] = self.body(gctx, r.randint(1, 6))
        return s

    def s_sleep(self, ctx):
        d = 0 if self.r.random() < 0.6 else self.dur()
        return {'k': 'sleep', 'd': d or 0}

    def s_sleepx(self, ctx):
        return {'k': 'sleepx', 'table': None}  # filled in by the map statement

    def slot(self, ctx, allow_self=False):
        sl = [s for s in self.slots() if allow_self or s != ctx.slot]
        if not sl:
            return None
        # Prefer recent greenlets: they are the ones likely still running.
        return sl[-1] if self.r.random() < 0.4 else self.r.choice(sl)

    def s_join(self, ctx):
        k = self.slot(ctx)
        return None if k is None else {'k': 'join', 'slot': k, 'to': self.to(('forever', 't', 't0'))}

    def s_get(self, ctx):
        k = self.slot(ctx)
        return None if k is None else {'k': 'get', 'slot': k, 'to': self.to()}

    def some_slots(self, ctx, allow_self):
        sl = [s for s in self.slots() if allow_self or s != ctx.slot]
        if not sl:
            return None
        return sorted(self.r.sample(sl, self.r.randint(1, min(3, len(sl)))))

    def s_joinall(self, ctx):
        if not self.feat['joinall']:
            return None
        ks = self.some_slots(ctx, False)
        if ks is None:
            return None
        r = self.r
        count = r.randint(1, len(ks)) if len(ks) > 1 and r.random() < 0.25 else None
        return {'k': 'joinall', 'slots': ks, 'to': self.to(('forever', 't', 't0')), 'count': count,
                'raise': r.random() < 0.25}

    def s_wait(self, ctx):
        if not self.feat['wait']:
            return None
        r = self.r
        pool = [('g', k) for k in self.slots() if k != ctx.slot]
        pool += [('o', o['id']) for o in self.objs(('event', 'ar'))]
        if not pool:
            return None
        pick = r.sample(pool, r.randint(1, min(3, len(pool))))
        slots = sorted(k for t, k in pick if t == 'g')
        wobjs = [k for t, k in pick if t == 'o']
        n = len(slots) + len(wobjs)
        count = r.randint(1, n) if n > 1 and r.random() < 0.3 else None
        return {'k': 'wait', 'slots': slots, 'wobjs': wobjs, 'to': self.to(('forever', 't', 't0')),
                'count': count, 'iter': r.random() < 0.4}

    def s_kill(self, ctx):
        self_ok = self.feat['self_kill'] and self.r.random() < 0.15
        k = ctx.slot if (self_ok and ctx.slot) else self.slot(ctx)
        if k is None:
            return None
        block = self.feat['blocking_kill'] and self.r.random() < 0.6
        to = self.to(('forever', 't')) if block else 'nowait'
        return {'k': 'kill', 'slot': k, 'to': to}

    def s_killall(self, ctx):
        ks = self.some_slots(ctx, self.feat['self_kill'] and self.r.random() < 0.15)
        if ks is None:
            return None
        block = self.feat['blocking_kill'] and self.r.random() < 0.6
        to = self.to(('forever', 't')) if block else 'nowait'
        return {'k': 'killall', 'slots': ks, 'to': to}

    def s_link(self, ctx):
        if ctx.kind not in ('main', 'g') or self.nfuncs['L'] >= 4:
            return None
        k = self.slot(ctx, allow_self=True)
        if k is None:
            return None
        f = self.newfunc('L', ctx, src=k)
        f['body'] = self.body(Ctx(f['name'], 'L', None, ctx.depth + 1), self.r.randint(0, 2))
        how = self.r.choice((None, None, None, 'value', 'exception'))
        return {'k': 'link', 'slot': k, 'cb': f['name'], 'how': how}

    def s_state(self, ctx):
        k = self.slot(ctx, allow_self=True)
        return None if k is None else {'k': 'state', 'slot': k}

    def s_ev_set(self, ctx):
        e = self.pick(self.objs(('event',)))
        return e and {'k': 'ev_set', 'obj': e['id']}

    def s_ev_clear(self, ctx):
        e = self.pick(self.objs(('event',)))
        return e and {'k': 'ev_clear', 'obj': e['id']}

    def s_ev_isset(self, ctx):
        e = self.pick(self.objs(('event',)))
        return e and {'k': 'ev_isset', 'obj': e['id']}

    def s_ev_wait(self, ctx):
        e = self.pick(self.objs(('event',)))
        return e and {'k': 'ev_wait', 'obj': e['id'], 'to': self.to(('forever', 't', 't0'))}

    def s_ar_set(self, ctx):
        a = self.pick(self.objs(('ar',)))
        return a and {'k': 'ar_set', 'obj': a['id'], 'v': self.newval()}

    def s_ar_exc(self, ctx):
        a = self.pick(self.objs(('ar',)))
        return a and {'k': 'ar_exc', 'obj': a['id'], 'code': self.newcode()}

    def s_ar_get(self, ctx):
        a = self.pick(self.objs(('ar',)))
        return a and self.feat['ar_get_ready'] and {'k': 'ar_get', 'obj': a['id'], 'to': self.to()}

    def s_ar_wait(self, ctx):
        a = self.pick(self.objs(('ar',)))
        return a and {'k': 'ar_wait', 'obj': a['id'], 'to': self.to(('forever', 't', 't0'))}

    def s_ar_state(self, ctx):
        a = self.pick(self.objs(('ar',)))
        return a and {'k': 'ar_state', 'obj': a['id']}

    def s_ar_excval(self, ctx):
        a = self.pick(self.objs(('ar',)))
        return a and {'k': 'ar_excval', 'obj': a['id']}

    def queue(self, kinds=('queue', 'lifo', 'prio', 'jq', 'chan')):
        return self.pick(self.objs(kinds))

    def qto(self, q):
        if q['kind'] == 'chan' and not self.feat['chan_nowait']:
            return self.to(('forever', 't'))
        return self.to()

    def s_q_put(self, ctx):
        q = self.queue()
        if not q:
            return None
        v = 'x' if ctx.kind == 'w' else self.newval()
        return {'k': 'q_put', 'obj': q['id'], 'v': v, 'to': self.qto(q)}

    def s_q_get(self, ctx):
        q = self.queue()
        return q and {'k': 'q_get', 'obj': q['id'], 'to': self.qto(q)}

    def s_q_peek(self, ctx):
        q = self.queue(('queue', 'lifo', 'prio', 'jq'))
        return q and {'k': 'q_peek', 'obj': q['id'], 'to': self.to()}

    def s_q_size(self, ctx):
        q = self.queue()
        return q and {'k': 'q_size', 'obj': q['id']}

    def s_q_done(self, ctx):
        q = self.queue(('jq',))
        return q and {'k': 'q_done', 'obj': q['id']}

    def s_q_join(self, ctx):
        q = self.queue(('jq',))
        return q and {'k': 'q_join', 'obj': q['id'], 'to': self.to(('forever', 't', 't0'))}

    def s_sem_acq(self, ctx):
        s = self.pick(self.objs(('sem', 'bsem', 'lock', 'rlock')))
        return s and {'k': 'sem_acq', 'obj': s['id'], 'to': self.to()}

    def s_sem_rel(self, ctx):
        s = self.pick(self.objs(('sem', 'bsem', 'lock', 'rlock')))
        return s and {'k': 'sem_rel', 'obj': s['id']}

    def s_sem_state(self, ctx):
        s = self.pick(self.objs(('sem', 'bsem', 'lock')))
        return s and {'k': 'sem_state', 'obj': s['id']}

    def s_scope(self, ctx):
        if len(ctx.scopes) >= 2:
            return None
        if self.feat['scope0'] and self.r.random() < 0.1:
            d = 0
        else:
            d = self.dur()
            if d is None:
                return None
        self.nscope += 1
        sid = self.nscope
        inner = Ctx(ctx.who, ctx.kind, ctx.slot, ctx.depth, ctx.scopes + [sid])
        inner.grp = ctx.grp
        return {'k': 'scope', 'id': sid, 'd': d, 'body': self.body(inner, self.r.randint(1, 4))}

    def s_pending(self, ctx):
        if not ctx.scopes:
            return None
        return {'k': 'pending', 'sid': self.r.choice(ctx.scopes)}

    def s_l_set(self, ctx):
        l = self.pick(self.objs(('local',)))
        return l and {'k': 'l_set', 'obj': l['id'], 'v': self.newval()}

    def s_l_get(self, ctx):
        l = self.pick(self.objs(('local',)))
        return l and {'k': 'l_get', 'obj': l['id']}

    def s_l_del(self, ctx):
        l = self.pick(self.objs(('local',)))
        return l and {'k': 'l_del', 'obj': l['id']}

    def group(self):
        return self.pick(self.objs(('group', 'pool')))

    def s_g_join(self, ctx):
        g = self.group()
        return g and {'k': 'g_join', 'obj': g['id'], 'to': self.to(('forever', 't', 't0'))}

    def s_g_kill(self, ctx):
        if not self.feat['group_kill']:
            return None
        g = self.group()
        return g and {'k': 'g_kill', 'obj': g['id']}

    def s_g_len(self, ctx):
        g = self.group()
        return g and {'k': 'g_len', 'obj': g['id']}

    def worker(self, ctx, items, may_fail=True):
        if self.nfuncs['w'] >= 3:
            return None
        f = self.newfunc('w', ctx)
        self.in_worker = True
        self.may_fail = may_fail
        f['body'] = self.body(Ctx(f['name'], 'w', None, ctx.depth + 1), self.r.randint(1, 3))
        self.in_worker = False
        for s in f['body']:
            if s['k'] == 'sleepx':
                s['table'] = {x: (self.dur() or 0) for x in items}
            if s['k'] == 'failx':
                s['items'] = sorted(self.r.sample(items, self.r.randint(1, len(items))))
        return f

    def items(self):
        return list(range(1, self.r.randint(1, 4) + 1))

    def s_map(self, ctx):
        g = self.group()
        if not g:
            return None
        items = self.items()
        f = self.worker(ctx, items)
        return f and {'k': 'map', 'obj': g['id'], 'w': f['name'], 'items': items}

    def s_imap(self, ctx):
        g = self.group()
        if not g:
            return None
        items = self.items()
        f = self.worker(ctx, items)
        maxsize = self.r.randint(1, 2) if self.r.random() < 0.3 else None
        return f and {'k': 'imap', 'obj': g['id'], 'w': f['name'], 'items': items,
                      'ordered': self.r.random() < 0.5, 'maxsize': maxsize}

    def s_apply(self, ctx):
        g = self.group()
        if not g:
            return None
        # Called by a member of the same pool, apply runs the worker inline:
        # a failing worker would end the caller in grove (grove_exit cannot
        # be caught; GROVE_LACKS['apply_inline_fail']).
        inline = ctx.grp == g['id']
        f = self.worker(ctx, [1], may_fail=not inline)
        return f and {'k': 'apply', 'obj': g['id'], 'w': f['name'], 'items': [1]}

    def s_apply_async(self, ctx):
        g = self.group()
        if not g or self.nfuncs['g'] + self.nfuncs['w'] >= 9:
            return None
        f = self.worker(ctx, [1])
        if not f:
            return None
        cb = None
        if self.r.random() < 0.6 and self.nfuncs['cb'] < 2:
            c = self.newfunc('cb', ctx)
            c['body'] = self.body(Ctx(c['name'], 'cb', None, ctx.depth + 1), self.r.randint(0, 2))
            cb = c['name']
        return {'k': 'apply_async', 'obj': g['id'], 'w': f['name'], 'items': [1],
                'slot': self.newslot(), 'cb': cb}


class Ctx:
    def __init__(self, who, kind, slot, depth=0, scopes=None):
        self.who = who
        self.kind = kind  # main, g, L, cb, w
        self.slot = slot
        self.depth = depth
        self.scopes = scopes or []
        self.grp = None  # the group it was spawned into (a greenlet's body)


def generate(seed, index, without=(), with_=()):
    rng = random.Random('%s:%d' % (seed, index))
    p = Gen(rng, without, with_).program()
    p['name'] = '%s:%d' % (seed, index)
    return p


# ------------------------------------------------------------------ walking


def bodies(p):
    """(owner, body) for every statement list of the program, nested scopes
    included; owner is 'main' or a function name."""
    out = []

    def rec(owner, body):
        out.append((owner, body))
        for s in body:
            if s['k'] == 'scope':
                rec(owner, s['body'])

    rec('main', p['main'])
    for name, f in p['funcs'].items():
        rec(name, f['body'])
    return out


def walk(body):
    for s in body:
        yield s
        if s['k'] == 'scope':
            yield from walk(s['body'])


def reachable(p):
    """Functions the program can run, in the order they are first named."""
    seen = []

    def visit(body):
        for s in walk(body):
            names = []
            if s['k'] == 'spawn':
                names.append('g%d' % s['slot'])
            if s['k'] == 'link':
                names.append(s['cb'])
            if s['k'] in ('map', 'imap', 'apply', 'apply_async'):
                names.append(s['w'])
            if s['k'] == 'apply_async' and s['cb']:
                names.append(s['cb'])
            for n in names:
                if n in p['funcs'] and n not in seen:
                    seen.append(n)
                    visit(p['funcs'][n]['body'])

    visit(p['main'])
    return seen


def used_objs(p):
    names = ['main'] + reachable(p)
    used = set()
    for n in names:
        body = p['main'] if n == 'main' else p['funcs'][n]['body']
        for s in walk(body):
            if 'obj' in s:
                used.add(s['obj'])
            for oid in s.get('wobjs') or ():
                used.add(oid)
            if s['k'] == 'spawn' and s['grp']:
                used.add(s['grp'])
    return [o for o in p['objs'] if o['id'] in used]


def size(p):
    names = ['main'] + reachable(p)
    n = 0
    for name in names:
        body = p['main'] if name == 'main' else p['funcs'][name]['body']
        n += sum(1 for _ in walk(body))
    return n


# ------------------------------------------------------------ descriptions


def tosfx(to):
    if to is None:
        return ''
    if to == 'nowait':
        return ' block=False'
    return ' timeout=%s' % secs(to[1])


def waitnames(s):
    return ['g%d' % k for k in s['slots']] + list(s['wobjs'])


def slotlist(ks):
    return '[' + ', '.join('g%d' % k for k in ks) + ']'


def desc(s):
    k = s['k']
    if k == 'spawn':
        if s['later'] is not None:
            return 'spawn_later %s g%d' % (secs(s['later']), s['slot'])
        if s['grp']:
            return 'spawn %s g%d' % (s['grp'], s['slot'])
        return 'spawn g%d' % s['slot']
    if k == 'sleep':
        return 'sleep %s' % secs(s['d'])
    if k in ('join', 'get'):
        return '%s g%d%s' % (k, s['slot'], tosfx(s['to']))
    if k == 'kill':
        return 'kill g%d%s' % (s['slot'], tosfx(s['to']))
    if k == 'joinall':
        return 'joinall %s%s%s%s' % (slotlist(s['slots']), tosfx(s['to']),
                                     ' count=%d' % s['count'] if s.get('count') else '',
                                     ' raise_error=True' if s.get('raise') else '')
    if k == 'killall':
        return '%s %s%s' % (k, slotlist(s['slots']), tosfx(s['to']))
    if k == 'wait':
        return '%s [%s]%s%s' % ('iwait' if s['iter'] else 'wait', ', '.join(waitnames(s)),
                                tosfx(s['to']), ' count=%d' % s['count'] if s['count'] else '')
    if k == 'link':
        return '%s g%d %s' % ('link_' + s['how'] if s.get('how') else 'link', s['slot'], s['cb'])
    if k == 'state':
        return 'state g%d' % s['slot']
    if k == 'fail':
        return 'fail %d' % s['code']
    if k == 'pending':
        return 'pending scope%d' % s['sid']
    o = s.get('obj')
    simple = {'ev_set': 'set', 'ev_clear': 'clear', 'ev_isset': 'is_set', 'ar_state': 'state',
              'ar_excval': 'exception', 'q_size': 'size', 'q_done': 'task_done', 'sem_rel': 'release', 'sem_state': 'state',
              'l_get': 'lget', 'l_del': 'ldel', 'g_kill': 'gkill', 'g_len': 'len'}
    if k in simple:
        return '%s %s' % (simple[k], o)
    timed = {'ev_wait': 'wait', 'ar_get': 'get', 'ar_wait': 'wait', 'q_get': 'get',
             'q_peek': 'peek', 'q_join': 'join', 'sem_acq': 'acquire', 'g_join': 'gjoin'}
    if k in timed:
        return '%s %s%s' % (timed[k], o, tosfx(s['to']))
    if k == 'ar_set':
        return 'set %s %d' % (o, s['v'])
    if k == 'ar_exc':
        return 'set_exception %s %d' % (o, s['code'])
    if k == 'q_put':
        return 'put %s %s%s' % (o, s['v'], tosfx(s['to']))
    if k == 'l_set':
        return 'lset %s %d' % (o, s['v'])
    if k in ('map', 'imap'):
        name = 'imap' if k == 'imap' and s['ordered'] else 'imap_unordered' if k == 'imap' else 'map'
        return '%s %s %s %s%s' % (name, o, s['w'], '[' + ', '.join(map(str, s['items'])) + ']',
                                  ' maxsize=%d' % s['maxsize'] if s.get('maxsize') else '')
    if k == 'apply':
        return 'apply %s %s %d' % (o, s['w'], s['items'][0])
    if k == 'apply_async':
        return 'apply_async %s %s %d g%d%s' % (o, s['w'], s['items'][0], s['slot'],
                                                ' ' + s['cb'] if s['cb'] else '')
    if k == 'sleepx':
        return 'sleepx'
    if k == 'failx':
        return 'fail'
    if k == 'scope':
        return 'scope %s' % secs(s['d'])
    raise ValueError(k)


def q(text):
    """A Python string literal."""
    return repr(text)


def cq(text):
    """A C string literal (our descriptions are plain ASCII)."""
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


# ------------------------------------------------------------ Python output


def objkind(p, oid):
    for o in p['objs']:
        if o['id'] == oid:
            return o
    raise KeyError(oid)


def py_ctor(o):
    k, n = o['kind'], o['n']
    arg = '' if n is None else str(n)
    return {
        'event': 'Event()', 'ar': 'AsyncResult()', 'queue': 'Queue(%s)' % arg,
        'lifo': 'LifoQueue(%s)' % arg, 'prio': 'PriorityQueue(%s)' % arg,
        'jq': 'JoinableQueue(%s)' % arg, 'chan': 'Channel()', 'sem': 'Semaphore(%d)' % (n or 0),
        'bsem': 'BoundedSemaphore(%d)' % (n or 1), 'lock': 'BoundedSemaphore(1)', 'rlock': 'RLock()',
        'local': 'local()', 'group': 'Group()', 'pool': 'Pool(%d)' % (n or 1),
    }[k]


def py_to(to, kwname='timeout'):
    """Keyword arguments for a timeout spec (nowait handled by the caller)."""
    if to is None:
        return ''
    return '%s=%s' % (kwname, secs(to[1]))


class PyOut:
    def __init__(self):
        self.lines = []

    def w(self, ind, text):
        self.lines.append('    ' * ind + text)


def emit_py(p):
    o = PyOut()
    o.w(0, '# fidelity program %s (gevent side); run: /usr/bin/python3 this.py' % p.get('name', '?'))
    o.w(0, 'from fidrt import *')
    o.w(0, '')
    for ob in used_objs(p):
        o.w(0, '%s = %s' % (ob['id'], py_ctor(ob)))
    o.w(0, 'G = [None] * %d' % (p['nslots'] + 1))
    o.w(0, '')
    for name in reachable(p):
        f = p['funcs'][name]
        kind = f['kind']
        if kind == 'g':
            o.w(0, 'def %s():' % name)
            o.w(1, 'who = %s' % q(name))
            o.w(1, "tr(who + ': start')")
        elif kind == 'L':
            o.w(0, 'def %s(src):' % name)
            o.w(1, 'who = %s' % q(name))
            o.w(1, "tr(who + ': fired g%d ok=%%s' %% bool(src.successful()))" % f['src'])
        elif kind == 'cb':
            o.w(0, 'def %s(v):' % name)
            o.w(1, 'who = %s' % q(name))
            o.w(1, "tr(who + ': result ' + fv(v))")
        elif kind == 'w':
            o.w(0, 'def %s(x):' % name)
            o.w(1, "who = '%s(%%d)' %% x" % name)
            o.w(1, "tr(who + ': start')")
        ended = py_body(o, p, f['body'], 1, f)
        if not ended:
            if kind == 'g':
                o.w(1, "tr(who + ': return')")
                o.w(1, 'return %d' % (100 + f['id']))
            elif kind == 'w':
                o.w(1, "tr(who + ': return')")
                o.w(1, 'return %d * 1000 + x' % f['id'])
        o.w(0, '')
    o.w(0, 'def main():')
    o.w(1, "who = 'main'")
    py_body(o, p, p['main'], 1, None)
    o.w(1, 'pass')
    o.w(0, '')
    o.w(0, 'run(main)')
    return '\n'.join(o.lines) + '\n'


def py_body(o, p, body, ind, f):
    """Emit statements; returns True if the body ends in a failure."""
    for s in body:
        py_stmt(o, p, s, ind, f)
        if s['k'] == 'fail':
            return True
    return False


def py_stmt(o, p, s, ind, f):
    k = s['k']
    d = desc(s)
    W = lambda text: o.w(ind, text)
    OP = lambda call, extra='': W('op(who, %s, lambda: %s%s)' % (q(d), call, extra))
    to = s.get('to')

    def slotcheck(k_):
        W('if G[%d] is None:' % k_)
        o.w(ind + 1, "tr(who + %s)" % q(': %s -> unset' % d))
        W('else:')
        return ind + 1

    if k == 'spawn':
        fn = 'g%d' % s['slot']
        if s['later'] is not None:
            W('G[%d] = gevent.spawn_later(%s, %s)' % (s['slot'], secs(s['later']), fn))
            W("tr(who + %s)" % q(': %s -> ok' % d))
        elif s['grp']:
            W('G[%d] = op(who, %s, lambda: %s.spawn(%s), fmt=lambda r: %s)' % (
                s['slot'], q(d), s['grp'], fn, q('ok')))
            W('G[%d] = None if G[%d] is FAILED else G[%d]' % (s['slot'], s['slot'], s['slot']))
        else:
            W('G[%d] = gevent.spawn(%s)' % (s['slot'], fn))
            W("tr(who + %s)" % q(': %s -> ok' % d))
    elif k == 'sleep':
        OP('gevent.sleep(%s)' % secs(s['d']))
    elif k == 'sleepx':
        OP('gevent.sleep({%s}[x])' % ', '.join('%d: %s' % (x, secs(dd)) for x, dd in sorted(s['table'].items())))
    elif k == 'join':
        i = slotcheck(s['slot'])
        arg = '' if to is None else secs(to[1])
        o.w(i, 'op(who, %s, lambda: G[%d].join(%s), fmt=lambda r: %s %% bool(G[%d].ready()))' % (
            q(d), s['slot'], arg, q('dead=%s'), s['slot']))
    elif k == 'get':
        i = slotcheck(s['slot'])
        arg = 'block=False' if to == 'nowait' else py_to(to)
        o.w(i, 'op(who, %s, lambda: G[%d].get(%s))' % (q(d), s['slot'], arg))
    elif k in ('joinall', 'killall'):
        W('gs = [g for g in (%s) if g is not None]' % ''.join('G[%d], ' % x for x in s['slots']))
        if k == 'joinall':
            call = 'gevent.joinall(gs%s%s%s)' % ('' if to is None else ', timeout=' + secs(to[1]),
                                               ', count=%d' % s['count'] if s.get('count') else '',
                                               ', raise_error=True' if s.get('raise') else '')
        elif to == 'nowait':
            call = 'gevent.killall(gs, block=False)'
        else:
            call = 'gevent.killall(gs%s)' % ('' if to is None else ', timeout=' + secs(to[1]))
        W("op(who, %s, lambda: %s, fmt=lambda r: 'dead=[' + ', '.join(str(bool(g.ready())) for g in gs) + ']')"
          % (q(d), call))
    elif k == 'wait':
        W('wo = [(n, o) for (n, o) in (%s) if o is not None]' % ''.join(
            '(%s, %s), ' % (q(n), 'G[%d]' % int(n[1:]) if n[0] == 'g' else n) for n in waitnames(s)))
        kws = ''.join([', timeout=' + secs(to[1]) if to is not None else '',
                       ', count=%d' % s['count'] if s['count'] else ''])
        if s['iter']:
            W('it = gevent.iwait([o for _, o in wo]%s)' % kws)
            W("tr(who + %s)" % q(': %s -> ok' % d))
            W('drainw(who, it, wo)')
        else:
            W("op(who, %s, lambda: gevent.wait([o for _, o in wo]%s), fmt=lambda r: '[' + ', '.join("
              "n for x in r for n, o in wo if o is x) + ']')" % (q(d), kws))
    elif k == 'kill':
        i = slotcheck(s['slot'])
        arg = 'block=False' if to == 'nowait' else py_to(to)
        o.w(i, 'op(who, %s, lambda: G[%d].kill(%s), fmt=lambda r: %s %% bool(G[%d].ready()))' % (
            q(d), s['slot'], arg, q('dead=%s'), s['slot']))
    elif k == 'link':
        i = slotcheck(s['slot'])
        o.w(i, 'G[%d].%s(%s)' % (s['slot'], 'link_' + s['how'] if s.get('how') else 'link', s['cb']))
        o.w(i, "tr(who + %s)" % q(': %s -> ok' % d))
    elif k == 'state':
        W("tr(who + %s + gstate(G[%d]))" % (q(': %s -> ' % d), s['slot']))
    elif k == 'fail':
        W("tr(who + %s)" % q(': ' + d))
        W('raise AppError(%d)' % s['code'])
    elif k == 'failx':
        W('if x in (%s):' % ''.join('%d, ' % x for x in s['items']))
        o.w(ind + 1, "tr(who + ': fail')")
        o.w(ind + 1, 'raise AppError(-5100 - x)')
    elif k == 'ev_set':
        W('%s.set()' % s['obj'])
        W("tr(who + %s)" % q(': %s -> ok' % d))
    elif k == 'ev_clear':
        W('%s.clear()' % s['obj'])
        W("tr(who + %s)" % q(': %s -> ok' % d))
    elif k == 'ev_isset':
        W("tr(who + %s + str(%s.is_set()))" % (q(': %s -> ' % d), s['obj']))
    elif k == 'ev_wait':
        OP('%s.wait(%s)' % (s['obj'], py_to(to)))
    elif k == 'ar_set':
        W('%s.set(%d)' % (s['obj'], s['v']))
        W("tr(who + %s)" % q(': %s -> ok' % d))
    elif k == 'ar_exc':
        W('%s.set_exception(AppError(%d))' % (s['obj'], s['code']))
        W("tr(who + %s)" % q(': %s -> ok' % d))
    elif k == 'ar_get':
        arg = 'block=False' if to == 'nowait' else py_to(to)
        OP('%s.get(%s)' % (s['obj'], arg))
    elif k == 'ar_wait':
        W('op(who, %s, lambda: %s.wait(%s), fmt=lambda r: %s %% bool(%s.ready()))' % (
            q(d), s['obj'], py_to(to), q('ready=%s'), s['obj']))
    elif k == 'ar_state':
        W("tr(who + %s %% (bool(%s.ready()), bool(%s.successful())))" % (
            q(': %s -> ready=%%s ok=%%s' % d), s['obj'], s['obj']))
    elif k == 'ar_excval':
        W("tr(who + %s + ('none' if %s.exception is None else 'err=%%d' %% %s.exception.code))" % (
            q(': %s -> ' % d), s['obj'], s['obj']))
    elif k in ('q_put', 'q_get', 'q_peek'):
        ob = s['obj']
        name = {'q_put': 'put', 'q_get': 'get', 'q_peek': 'peek'}[k]
        val = str(s['v']) if k == 'q_put' else ''
        if to == 'nowait':
            call = '%s.%s_nowait(%s)' % (ob, name, val)
        else:
            args = [a for a in (val, py_to(to)) if a]
            call = '%s.%s(%s)' % (ob, name, ', '.join(args))
        W('op(who, %s, lambda: %s%s)' % (q(d), call, ', nowait=True' if to == 'nowait' else ''))
    elif k == 'q_size':
        W("tr(who + %s %% (%s.qsize(), %s.empty(), %s.full()))" % (
            q(': %s -> %%d empty=%%s full=%%s' % d), s['obj'], s['obj'], s['obj']))
    elif k == 'q_done':
        W("op(who, %s, lambda: %s.task_done(), errs=((ValueError, 'EOVERFLOW'),))" % (q(d), s['obj']))
    elif k == 'q_join':
        OP('%s.join(%s)' % (s['obj'], py_to(to)))
    elif k == 'sem_acq':
        if to == 'nowait':
            arg = 'blocking=False'
        else:
            arg = py_to(to)
        W('op(who, %s, lambda: %s.acquire(%s), fmt=lambda r: str(bool(r)))' % (q(d), s['obj'], arg))
    elif k == 'sem_rel':
        W("op(who, %s, lambda: %s.release(), fmt=lambda r: 'ok', errs=((ValueError, 'EOVERFLOW'), "
          "(RuntimeError, 'EPERM')))" % (q(d), s['obj']))
    elif k == 'sem_state':
        W("tr(who + %s %% (%s.locked(), %s.counter))" % (q(': %s -> locked=%%s counter=%%d' % d),
                                                          s['obj'], s['obj']))
    elif k == 'scope':
        t = '_t%d' % s['id']
        W('%s = scope(who, %s)' % (t, secs(s['d'])))
        W('try:')
        py_body(o, p, s['body'], ind + 1, f)
        o.w(ind + 1, 'pass')
        W('except Timeout as ex:')
        o.w(ind + 1, 'if ex is not %s: raise' % t)
        W('finally:')
        o.w(ind + 1, 'unscope(%s)' % t)
        W("tr(who + ': scope end')")
    elif k == 'pending':
        W("tr(who + %s + str(bool(_t%d.pending)))" % (q(': %s -> ' % d), s['sid']))
    elif k == 'l_set':
        W('%s.v = %d' % (s['obj'], s['v']))
        W("tr(who + %s)" % q(': %s -> ok' % d))
    elif k == 'l_get':
        W("op(who, %s, lambda: %s.v, errs=((AttributeError, 'ENOENT'),))" % (q(d), s['obj']))
    elif k == 'l_del':
        W("op(who, %s, lambda: delattr(%s, 'v'), errs=((AttributeError, 'ENOENT'),))" % (q(d), s['obj']))
    elif k == 'g_join':
        OP('%s.join(%s)' % (s['obj'], py_to(to)))
    elif k == 'g_kill':
        OP('%s.kill()' % s['obj'])
    elif k == 'g_len':
        ob = s['obj']
        if objkind(p, ob)['kind'] == 'pool':
            W("tr(who + %s %% (len(%s), %s.free_count(), %s.full()))" % (
                q(': %s -> %%d free=%%d full=%%s' % d), ob, ob, ob))
        else:
            W("tr(who + %s %% len(%s))" % (q(': %s -> %%d' % d), ob))
    elif k == 'map':
        OP('%s.map(%s, %r)' % (s['obj'], s['w'], s['items']))
    elif k == 'imap':
        meth = 'imap' if s['ordered'] else 'imap_unordered'
        W('it = %s.%s(%s, %r%s)' % (s['obj'], meth, s['w'], s['items'],
                                    ', maxsize=%d' % s['maxsize'] if s.get('maxsize') else ''))
        W("tr(who + %s)" % q(': %s -> ok' % d))
        W('drain(who, it)')
    elif k == 'apply':
        OP('%s.apply(%s, (%d,))' % (s['obj'], s['w'], s['items'][0]))
    elif k == 'apply_async':
        cb = ', callback=%s' % s['cb'] if s['cb'] else ''
        W('G[%d] = %s.apply_async(%s, (%d,)%s)' % (s['slot'], s['obj'], s['w'], s['items'][0], cb))
        W("tr(who + %s)" % q(': %s -> ok' % d))
    else:
        raise ValueError(k)


# ----------------------------------------------------------------- C output


def c_to(to):
    # 'nowait' (gevent's block=False) has its own call in C (_nowait,
    # try_acquire): timeout 0 is gevent's timeout=0, which yields once.
    if to is None:
        return 'GROVE_FOREVER'
    assert to != 'nowait'
    return secs(to[1])


def c_ctor(o):
    k, n = o['kind'], o['n']
    return {
        'event': 'grove_event_new()', 'ar': 'grove_async_result_new()',
        'queue': 'grove_queue_new(%d)' % (n or 0), 'lifo': 'grove_lifo_queue_new(%d)' % (n or 0),
        'prio': 'grove_priority_queue_new(%d, NULL)' % (n or 0),
        'jq': 'grove_joinable_queue_new(%d)' % (n or 0), 'chan': 'grove_channel_new()',
        'sem': 'grove_semaphore_new(%d)' % (n or 0), 'bsem': 'grove_bounded_semaphore_new(%d)' % (n or 1),
        'lock': 'grove_lock_new()', 'rlock': 'grove_rlock_new()', 'local': 'grove_local_new(NULL)',
        'group': 'grove_group_new()', 'pool': 'grove_pool_new(%d)' % (n or 1),
    }[k]


C_TYPE = {'event': 'grove_event', 'ar': 'grove_async_result', 'queue': 'grove_queue',
          'lifo': 'grove_queue', 'prio': 'grove_queue', 'jq': 'grove_queue', 'chan': 'grove_queue',
          'sem': 'grove_semaphore', 'bsem': 'grove_semaphore', 'lock': 'grove_lock',
          'rlock': 'grove_rlock', 'local': 'grove_local', 'group': 'grove_group', 'pool': 'grove_group'}
C_FREE = {'event': 'grove_event_free', 'ar': 'grove_async_result_free', 'queue': 'grove_queue_free',
          'lifo': 'grove_queue_free', 'prio': 'grove_queue_free', 'jq': 'grove_queue_free',
          'chan': 'grove_queue_free', 'sem': 'grove_semaphore_free', 'bsem': 'grove_semaphore_free',
          'lock': 'grove_lock_free', 'rlock': 'grove_rlock_free', 'local': 'grove_local_free',
          'group': 'grove_group_free', 'pool': 'grove_group_free'}


class COut:
    def __init__(self, pre):
        self.lines = []
        self.pre = pre

    def w(self, ind, text):
        self.lines.append('  ' * ind + text)


def emit_c(p, pre):
    """The program as C, every symbol prefixed with `pre`; its entry point is
    `static int <pre>main(void)`."""
    o = COut(pre)
    P = pre
    objs = used_objs(p)
    names = reachable(p)
    o.w(0, '/* ---- fidelity program %s (grove side) ---- */' % p.get('name', '?'))
    for ob in objs:
        o.w(0, 'static %s *%s%s;' % (C_TYPE[ob['kind']], P, ob['id']))
    o.w(0, 'static grove_greenlet *%sG[%d];' % (P, p['nslots'] + 1))
    for name in names:
        f = p['funcs'][name]
        if f['kind'] in ('g', 'w'):
            o.w(0, 'static void *%s%s(void *arg);' % (P, name))
        elif f['kind'] == 'L':
            o.w(0, 'static void %s%s(grove_greenlet *src, void *arg);' % (P, name))
        else:
            o.w(0, 'static void %s%s(void *v, void *arg);' % (P, name))
    for name in names:
        f = p['funcs'][name]
        kind = f['kind']
        scopes = [s['id'] for s in walk(f['body']) if s['k'] == 'scope']
        if kind == 'g':
            o.w(0, 'static void *%s%s(void *arg) {' % (P, name))
            o.w(1, 'const char *who = "%s";' % name)
        elif kind == 'w':
            o.w(0, 'static void *%s%s(void *arg) {' % (P, name))
            o.w(1, 'int x = (int)(intptr_t)arg;')
            o.w(1, 'char who[32];')
            o.w(1, 'snprintf(who, sizeof who, "%s(%%d)", x);' % name)
        elif kind == 'L':
            o.w(0, 'static void %s%s(grove_greenlet *src, void *arg) {' % (P, name))
            o.w(1, 'const char *who = "%s";' % name)
        else:
            o.w(0, 'static void %s%s(void *v0, void *arg) {' % (P, name))
            o.w(1, 'const char *who = "%s";' % name)
        o.w(1, 'int rc = 0, sx = 0;')
        o.w(1, 'void *v = NULL;')
        for sid in scopes:
            o.w(1, 'grove_timeout *t%d = NULL;' % sid)
        o.w(1, '(void)rc; (void)sx; (void)v; (void)arg;')
        o.w(1, 'fid_enter();')
        if kind in ('g', 'w'):
            o.w(1, 'tr("%s: start", who);')
        elif kind == 'L':
            o.w(1, 'tr("%%s: fired g%d ok=%%s", who, fid_b(grove_successful(src)));' % f['src'])
        else:
            o.w(1, 'tr("%s: result %s", who, fv(v0));')
        ret = 'return NULL;' if kind in ('g', 'w') else 'return;'
        ended = c_body(o, p, f['body'], 1, f, [], ret)
        if not ended:
            if kind == 'g':
                o.w(1, 'tr("%s: return", who);')
                o.w(1, 'return (void *)(intptr_t)%d;' % (100 + f['id']))
            elif kind == 'w':
                o.w(1, 'tr("%s: return", who);')
                o.w(1, 'return (void *)(intptr_t)(%d * 1000 + x);' % f['id'])
        elif kind in ('g', 'w'):
            o.w(1, 'return NULL;')
        o.w(0, '}')
    o.w(0, 'static int %sfree_objs(void) {' % P)
    o.w(1, 'int bad = 0;')
    for ob in objs:
        if ob['kind'] == 'rlock':
            # An rlock still held (by main, or by a greenlet that ended
            # holding it) cannot be freed: release main's holds; one held by
            # a dead greenlet keeps the hub from closing, legitimately.
            o.w(1, 'if (grove_rlock_free(%s%s) != 0) {' % (P, ob['id']))
            o.w(2, 'while (grove_rlock_release(%s%s) == 0) {}' % (P, ob['id']))
            o.w(2, 'if (grove_rlock_free(%s%s) != 0) return -1;' % (P, ob['id']))
            o.w(1, '}')
        else:
            o.w(1, 'if (%s(%s%s) != 0) bad++;' % (C_FREE[ob['kind']], P, ob['id']))
    o.w(1, 'return bad;')
    o.w(0, '}')
    scopes = [s['id'] for s in walk(p['main']) if s['k'] == 'scope']
    o.w(0, 'static int %smain(void) {' % P)
    o.w(1, 'const char *who = "main";')
    o.w(1, 'int rc = 0, sx = 0;')
    o.w(1, 'void *v = NULL;')
    for sid in scopes:
        o.w(1, 'grove_timeout *t%d = NULL;' % sid)
    o.w(1, '(void)rc; (void)sx; (void)v;')
    for ob in objs:
        o.w(1, '%s%s = %s;' % (P, ob['id'], c_ctor(ob)))
    c_body(o, p, p['main'], 1, None, [], None)
    o.w(1, 'tr("main: end");')
    grps = [ob for ob in objs if ob['kind'] in ('group', 'pool')]
    o.w(1, 'grove_group *grps[] = {%s};' % ', '.join(['NULL'] + [P + g['id'] for g in grps]))
    o.w(1, 'fid_cleanup(%sG, %d, grps, %d, %sfree_objs);' % (P, p['nslots'] + 1, len(grps) + 1, P))
    o.w(1, 'return 0;')
    o.w(0, '}')
    return '\n'.join(o.lines) + '\n'


def c_body(o, p, body, ind, f, scopes, ret):
    for s in body:
        c_stmt(o, p, s, ind, f, scopes, ret)
        if s['k'] == 'fail':
            return True
    return False


def c_stmt(o, p, s, ind, f, scopes, ret):
    P = o.pre
    k = s['k']
    d = desc(s)
    to = s.get('to')
    W = lambda text, i=None: o.w(ind if i is None else i, text)
    G = lambda n: '%sG[%d]' % (P, n)
    ob = P + s['obj'] if 'obj' in s else None
    in_main = f is None
    expired = ' || '.join('grove_timeout_expired(t%d)' % t for t in scopes)

    def sxline(i):
        if scopes:
            W('sx = rc == GROVE_ETIMEDOUT && (%s);' % expired, i)
        else:
            W('sx = 0;', i)

    def ctrl(i):
        if ret is not None:
            W('if (rc == GROVE_ECANCELED) %s' % ret, i)
        if scopes:
            # The outermost expired scope is the one gevent raises.
            W('if (sx) {', i)
            for j, t in enumerate(scopes):
                inner = scopes[j + 1:]
                cancels = ' '.join('grove_timeout_cancel(t%d);' % x for x in reversed(inner))
                W('if (grove_timeout_expired(t%d)) { %s goto %ss%d_x; }' % (
                    t, cancels, P, t), i + 1)
            W('}', i)

    def blocking(call, tmo_ok, okstr, i=None):
        i = ind if i is None else i
        W('rc = %s;' % call, i)
        sxline(i)
        W('res(who, %s, rc, sx, %d, %s);' % (cq(d), tmo_ok, okstr), i)
        ctrl(i)

    def slotcheck(n):
        W('if (!%s) {' % G(n))
        W('tr("%%s: %s -> unset", who);' % d, ind + 1)
        W('} else {')

    if k == 'spawn':
        fn = P + 'g%d' % s['slot']
        if s['later'] is not None:
            W('%s = grove_spawn_later(%s, %s, NULL);' % (G(s['slot']), secs(s['later']), fn))
            W('tr("%%s: %s -> ok", who);' % d)
        elif s['grp']:
            W('%s = grove_group_spawn(%s%s, %s, NULL);' % (G(s['slot']), P, s['grp'], fn))
            W('if (%s) {' % G(s['slot']))
            W('tr("%%s: %s -> ok", who);' % d, ind + 1)
            W('} else {')
            W('rc = fid_null_rc(%d, %s);' % (in_main, expired or '0'), ind + 1)
            sxline(ind + 1)
            W('res(who, %s, rc, sx, 0, "ok");' % cq(d), ind + 1)
            ctrl(ind + 1)
            W('}')
        else:
            W('%s = grove_spawn(%s, NULL);' % (G(s['slot']), fn))
            W('tr("%%s: %s -> ok", who);' % d)
    elif k == 'sleep':
        blocking('grove_sleep(%s)' % secs(s['d']), 0, '"ok"')
    elif k == 'sleepx':
        blocking('grove_sleep(%s0)' % ''.join('x == %d ? %s : ' % (x, secs(dd)) for x, dd in
                                               sorted(s['table'].items())), 0, '"ok"')
    elif k == 'join':
        slotcheck(s['slot'])
        blocking('grove_join(%s, %s)' % (G(s['slot']), c_to(to)), 1,
                 'grove_ready(%s) ? "dead=True" : "dead=False"' % G(s['slot']), ind + 1)
        W('}')
    elif k == 'get':
        slotcheck(s['slot'])
        if to == 'nowait':
            blocking('grove_get_nowait(%s, &v)' % G(s['slot']), 0, 'fv(v)', ind + 1)
        else:
            blocking('grove_get(%s, &v, %s)' % (G(s['slot']), c_to(to)), 0, 'fv(v)', ind + 1)
        W('}')
    elif k in ('joinall', 'killall'):
        W('{')
        W('grove_greenlet *gs[] = {%s};' % ', '.join(G(x) for x in s['slots']), ind + 1)
        n = len(s['slots'])
        if k == 'killall' and to == 'nowait':
            W('grove_killall_nowait(gs, %d);' % n, ind + 1)
            W('tr("%%s: %s -> %%s", who, fid_dead(gs, %d));' % (d, n), ind + 1)
        elif k == 'joinall':
            # gevent's joinall returns on its timeout; killall raises Timeout.
            blocking('grove_joinall_ex(gs, %d, %s, %d, %s, NULL, NULL)' % (
                n, c_to(to), s.get('count') or 0, 'GROVE_RAISE_ERROR' if s.get('raise') else '0'),
                1, 'fid_dead(gs, %d)' % n, ind + 1)
        else:
            blocking('grove_killall(gs, %d, %s)' % (n, c_to(to)), 0, 'fid_dead(gs, %d)' % n, ind + 1)
        W('}')
    elif k == 'wait':
        names = waitnames(s)
        W('{')
        W('grove_waitable ws[%d];' % len(names), ind + 1)
        W('const char *wn[%d];' % len(names), ind + 1)
        W('size_t nw = 0, ready[%d], nr = 0, ix = 0;' % len(names), ind + 1)
        W('(void)ready; (void)nr; (void)ix;', ind + 1)
        for nm in names:
            if nm[0] == 'g':
                W('if (%s) { ws[nw] = GROVE_WAITABLE_GREENLET(%s); wn[nw++] = "%s"; }' % (
                    G(int(nm[1:])), G(int(nm[1:])), nm), ind + 1)
            else:
                macro = 'GROVE_WAITABLE_EVENT' if objkind(p, nm)['kind'] == 'event' else 'GROVE_WAITABLE_ASYNC_RESULT'
                W('ws[nw] = %s(%s%s); wn[nw++] = "%s";' % (macro, P, nm, nm), ind + 1)
        if s['iter']:
            W('grove_iwait *it = grove_iwait_new(ws, nw, %d, %s);' % (s['count'] or 0, c_to(to)), ind + 1)
            W('tr("%%s: %s -> ok", who);' % d, ind + 1)
            W('for (;;) {', ind + 1)
            W('rc = grove_iwait_next(it, &ix);', ind + 2)
            sxline(ind + 2)
            W('if (rc == GROVE_ETIMEDOUT && !sx) rc = GROVE_EOF; /* gevent: StopIteration */', ind + 2)
            W('res(who, "next", rc, sx, 0, wn[ix]);', ind + 2)
            W('if (rc != 0) break;', ind + 2)
            W('}', ind + 1)
            W('grove_iwait_free(it);', ind + 1)
            ctrl(ind + 1)
        else:
            blocking('grove_wait(ws, nw, %d, %s, ready, &nr)' % (s['count'] or 0, c_to(to)), 1,
                     'fid_names(wn, ready, nr)', ind + 1)
        W('}')
    elif k == 'kill':
        slotcheck(s['slot'])
        if to == 'nowait':
            W('grove_kill_nowait(%s);' % G(s['slot']), ind + 1)
            W('tr("%%s: %s -> %%s", who, grove_ready(%s) ? "dead=True" : "dead=False");' % (
                d, G(s['slot'])), ind + 1)
        else:
            blocking('grove_kill(%s, %s)' % (G(s['slot']), c_to(to)), 1,
                     'grove_ready(%s) ? "dead=True" : "dead=False"' % G(s['slot']), ind + 1)
        W('}')
    elif k == 'link':
        slotcheck(s['slot'])
        W('grove_link%s(%s, %s%s, NULL);' % ('_' + s['how'] if s.get('how') else '', G(s['slot']), P,
                                             s['cb']), ind + 1)
        W('tr("%%s: %s -> ok", who);' % d, ind + 1)
        W('}')
    elif k == 'state':
        W('tr("%%s: %s -> %%s", who, gstate(%s));' % (d, G(s['slot'])))
    elif k == 'fail':
        W('tr("%%s: %s", who);' % d)
        W('grove_exit(%d);' % s['code'])
    elif k == 'failx':
        W('if (%s) {' % ' || '.join('x == %d' % x for x in s['items']))
        W('tr("%s: fail", who);', ind + 1)
        W('grove_exit(-5100 - x);', ind + 1)
        W('}')
    elif k == 'ev_set':
        W('grove_event_set(%s);' % ob)
        W('tr("%%s: %s -> ok", who);' % d)
    elif k == 'ev_clear':
        W('grove_event_clear(%s);' % ob)
        W('tr("%%s: %s -> ok", who);' % d)
    elif k == 'ev_isset':
        W('tr("%%s: %s -> %%s", who, fid_b(grove_event_is_set(%s)));' % (d, ob))
    elif k == 'ev_wait':
        blocking('grove_event_wait(%s, %s)' % (ob, c_to(to)), 1, 'fid_b(rc == 0)')
    elif k == 'ar_set':
        W('grove_async_result_set(%s, (void *)(intptr_t)%d);' % (ob, s['v']))
        W('tr("%%s: %s -> ok", who);' % d)
    elif k == 'ar_exc':
        W('grove_async_result_set_error(%s, %d);' % (ob, s['code']))
        W('tr("%%s: %s -> ok", who);' % d)
    elif k == 'ar_get':
        if to == 'nowait':
            blocking('grove_async_result_get_nowait(%s, &v)' % ob, 0, 'fv(v)')
        else:
            blocking('grove_async_result_get(%s, &v, %s)' % (ob, c_to(to)), 0, 'fv(v)')
    elif k == 'ar_wait':
        blocking('grove_async_result_wait(%s, %s)' % (ob, c_to(to)), 1,
                 'grove_async_result_ready(%s) ? "ready=True" : "ready=False"' % ob)
    elif k == 'ar_state':
        W('tr("%%s: %s -> ready=%%s ok=%%s", who, fid_b(grove_async_result_ready(%s)), '
          'fid_b(grove_async_result_successful(%s)));' % (d, ob, ob))
    elif k == 'ar_excval':
        W('rc = grove_async_result_error(%s);' % ob)
        W('if (rc) tr("%%s: %s -> err=%%d", who, rc); else tr("%%s: %s -> none", who);' % (d, d))
    elif k == 'q_put':
        val = 'arg' if s['v'] == 'x' else '(void *)(intptr_t)%d' % s['v']
        if to == 'nowait':
            blocking('grove_queue_put_nowait(%s, %s)' % (ob, val), 0, '"ok"')
        else:
            blocking('grove_queue_put(%s, %s, %s)' % (ob, val, c_to(to)), 0, '"ok"')
    elif k in ('q_get', 'q_peek'):
        name = 'get' if k == 'q_get' else 'peek'
        if to == 'nowait':
            blocking('grove_queue_%s_nowait(%s, &v)' % (name, ob), 0, 'fv(v)')
        else:
            blocking('grove_queue_%s(%s, &v, %s)' % (name, ob, c_to(to)), 0, 'fv(v)')
    elif k == 'q_size':
        W('tr("%%s: %s -> %%zu empty=%%s full=%%s", who, grove_queue_qsize(%s), '
          'fid_b(grove_queue_empty(%s)), fid_b(grove_queue_full(%s)));' % (d, ob, ob, ob))
    elif k == 'q_done':
        blocking('grove_queue_task_done(%s)' % ob, 0, '"ok"')
    elif k == 'q_join':
        blocking('grove_queue_join(%s, %s)' % (ob, c_to(to)), 1, 'fid_b(rc == 0)')
    elif k == 'sem_acq':
        kind = objkind(p, s['obj'])['kind']
        fn = {'rlock': 'grove_rlock_acquire', 'lock': 'grove_lock_acquire'}.get(kind, 'grove_semaphore_acquire')
        if to == 'nowait':
            fn = fn.replace('_acquire', '_try_acquire')
            blocking('%s(%s)' % (fn, ob), 1, 'fid_b(rc == 0)')
        else:
            blocking('%s(%s, %s)' % (fn, ob, c_to(to)), 1, 'fid_b(rc == 0)')
    elif k == 'sem_rel':
        kind = objkind(p, s['obj'])['kind']
        fn = {'rlock': 'grove_rlock_release', 'lock': 'grove_lock_release'}.get(kind, 'grove_semaphore_release')
        blocking('%s(%s)' % (fn, ob), 0, '"ok"')
    elif k == 'sem_state':
        W('tr("%%s: %s -> locked=%%s counter=%%d", who, fid_b(grove_semaphore_locked(%s)), '
          'grove_semaphore_counter(%s));' % (d, ob, ob))
    elif k == 'scope':
        t = 't%d' % s['id']
        W('%s = grove_timeout_start(%s);' % (t, secs(s['d'])))
        W('tr("%%s: scope %s", who);' % secs(s['d']))
        c_body(o, p, s['body'], ind, f, scopes + [s['id']], ret)
        W('%ss%d_x:' % (P, s['id']))
        W('grove_timeout_cancel(%s);' % t)
        W('tr("%s: scope end", who);')
    elif k == 'pending':
        W('tr("%%s: %s -> %%s", who, fid_b(grove_timeout_pending(t%d)));' % (d, s['sid']))
    elif k == 'l_set':
        W('grove_local_set(%s, (void *)(intptr_t)%d);' % (ob, s['v']))
        W('tr("%%s: %s -> ok", who);' % d)
    elif k == 'l_get':
        blocking('grove_local_lookup(%s, &v)' % ob, 0, 'fv(v)')
    elif k == 'l_del':
        blocking('grove_local_delete(%s)' % ob, 0, '"ok"')
    elif k == 'g_join':
        blocking('grove_group_join(%s, %s)' % (ob, c_to(to)), 1, 'fid_b(rc == 0)')
    elif k == 'g_kill':
        blocking('grove_group_kill(%s, GROVE_FOREVER)' % ob, 0, '"ok"')
    elif k == 'g_len':
        if objkind(p, s['obj'])['kind'] == 'pool':
            W('tr("%%s: %s -> %%zu free=%%zu full=%%s", who, grove_group_size(%s), '
              'grove_pool_free_count(%s), fid_b(grove_pool_full(%s)));' % (d, ob, ob, ob))
        else:
            W('tr("%%s: %s -> %%zu", who, grove_group_size(%s));' % (d, ob))
    elif k in ('map', 'imap'):
        n = len(s['items'])
        W('{')
        W('void *args[] = {%s};' % ', '.join('(void *)(intptr_t)%d' % x for x in s['items']), ind + 1)
        if k == 'map':
            W('void *r[%d] = {0};' % n, ind + 1)
            blocking('grove_group_map(%s, %s%s, args, %d, r)' % (ob, P, s['w'], n), 0,
                     'fid_list(r, %d)' % n, ind + 1)
        else:
            W('grove_imap_opts io = {.unordered = %s, .maxsize = %d};' % (
                'false' if s['ordered'] else 'true', s.get('maxsize') or 0), ind + 1)
            W('grove_imap *it = grove_group_imap_ex(%s, %s%s, args, %d, &io);' % (ob, P, s['w'], n),
              ind + 1)
            W('tr("%%s: %s -> ok", who);' % d, ind + 1)
            W('for (;;) {', ind + 1)
            W('rc = grove_imap_next(it, &v, NULL, GROVE_FOREVER);', ind + 2)
            sxline(ind + 2)
            W('res(who, "next", rc, sx, 0, fv(v));', ind + 2)
            W('if (rc != 0) break;', ind + 2)
            W('}', ind + 1)
            W('grove_imap_free(it);', ind + 1)
            ctrl(ind + 1)
        W('}')
    elif k == 'apply':
        blocking('grove_group_apply(%s, %s%s, (void *)(intptr_t)%d, &v)' % (ob, P, s['w'], s['items'][0]),
                 0, 'fv(v)')
    elif k == 'apply_async':
        cb = P + s['cb'] if s['cb'] else 'NULL'
        W('%s = grove_group_apply_async(%s, %s%s, (void *)(intptr_t)%d, %s, NULL);' % (
            G(s['slot']), ob, P, s['w'], s['items'][0], cb))
        W('tr("%%s: %s -> ok", who);' % d)
    else:
        raise ValueError(k)


def emit_c_batch(progs):
    """Several programs in one C file: `./binary I` runs program I."""
    out = ['/* generated by tests/fidelity/fidgen.py */', '#include "fidrt.h"', '']
    for i, p in enumerate(progs):
        out.append(emit_c(p, 'p%d_' % i))
    out.append('static int (*const fid_progs[])(void) = {%s};' % ', '.join(
        'p%d_main' % i for i in range(len(progs))))
    out.append('int main(int argc, char **argv) {')
    out.append('  int i = argc > 1 ? atoi(argv[1]) : -1;')
    out.append('  if (i < 0 || i >= %d) {' % len(progs))
    out.append('    fprintf(stderr, "usage: %%s INDEX (0..%d)\\n", argv[0]);' % (len(progs) - 1))
    out.append('    return 2;')
    out.append('  }')
    out.append('  return fid_progs[i]();')
    out.append('}')
    return '\n'.join(out) + '\n'


def clone(p):
    return copy.deepcopy(p)


# ------------------------------------------------------------ plain listing


def emit_plain(p):
    """The program as plain gevent code, for reading (DIVERGENCES.md): what
    each statement calls, without the tracing harness. Every statement prints
    one trace line `who: <desc> -> <result>` when it returns (see emit_py for
    the runnable program); a scope is `with Timeout(d, False)`, which ends its
    block quietly when it expires, as the harness does."""
    out = []
    objs = used_objs(p)
    for ob in objs:
        out.append('%s = %s' % (ob['id'], py_ctor(ob).replace('BoundedSemaphore(1)', 'BoundedSemaphore(1)')))
    if objs:
        out.append('')
    for name in reachable(p):
        f = p['funcs'][name]
        arg = {'g': '', 'L': 'src', 'cb': 'value', 'w': 'x'}[f['kind']]
        out.append('def %s(%s):' % (name, arg))
        if not f['body']:
            out.append('    pass')
        plain_body(out, p, f['body'], 1)
        out.append('')
    out.append('# main')
    plain_body(out, p, p['main'], 0)
    return '\n'.join(out) + '\n'


def plain_body(out, p, body, ind):
    for s in body:
        plain_stmt(out, p, s, ind)


def plain_stmt(out, p, s, ind):
    W = lambda t: out.append('    ' * ind + t)
    k = s['k']
    to = s.get('to')

    def kw(nowait='block=False'):
        if to is None:
            return ''
        if to == 'nowait':
            return nowait
        return 'timeout=%s' % secs(to[1])

    g = lambda n: 'G[%d]' % n
    o = s.get('obj')
    if k == 'spawn':
        if s['later'] is not None:
            W('%s = gevent.spawn_later(%s, g%d)' % (g(s['slot']), secs(s['later']), s['slot']))
        elif s['grp']:
            W('%s = %s.spawn(g%d)' % (g(s['slot']), s['grp'], s['slot']))
        else:
            W('%s = gevent.spawn(g%d)' % (g(s['slot']), s['slot']))
    elif k == 'sleep':
        W('gevent.sleep(%s)' % secs(s['d']))
    elif k == 'sleepx':
        W('gevent.sleep({%s}[x])' % ', '.join('%d: %s' % (x, secs(d)) for x, d in sorted(s['table'].items())))
    elif k == 'join':
        W('%s.join(%s)' % (g(s['slot']), kw()))
    elif k == 'get':
        W('%s.get(%s)' % (g(s['slot']), kw()))
    elif k == 'joinall':
        extra = ''.join([', ' + kw() if kw() else '', ', count=%d' % s['count'] if s.get('count') else '',
                         ', raise_error=True' if s.get('raise') else ''])
        W('gevent.joinall([%s]%s)' % (', '.join(g(x) for x in s['slots']), extra))
    elif k == 'wait':
        objs = ', '.join(g(int(n[1:])) if n[0] == 'g' else n for n in waitnames(s))
        extra = ''.join([', ' + kw() if kw() else '', ', count=%d' % s['count'] if s['count'] else ''])
        if s['iter']:
            W('for x in gevent.iwait([%s]%s): pass' % (objs, extra))
        else:
            W('gevent.wait([%s]%s)' % (objs, extra))
    elif k == 'killall':
        W('gevent.killall([%s]%s)' % (', '.join(g(x) for x in s['slots']), ', ' + kw() if kw() else ''))
    elif k == 'kill':
        W('%s.kill(%s)' % (g(s['slot']), kw()))
    elif k == 'link':
        W('%s.%s(%s)' % (g(s['slot']), 'link_' + s['how'] if s.get('how') else 'link', s['cb']))
    elif k == 'state':
        W('%s.ready(), %s.successful(), bool(%s), %s.value' % ((g(s['slot']),) * 4))
    elif k == 'fail':
        W('raise AppError(%d)' % s['code'])
    elif k == 'failx':
        W('if x in (%s): raise AppError(-5100 - x)' % ''.join('%d, ' % x for x in s['items']))
    elif k in ('ev_set', 'ev_clear'):
        W('%s.%s()' % (o, k[3:]))
    elif k == 'ev_isset':
        W('%s.is_set()' % o)
    elif k in ('ev_wait', 'ar_wait', 'q_join', 'g_join'):
        W('%s.%s(%s)' % (o, 'wait' if 'wait' in k else 'join', kw()))
    elif k == 'ar_set':
        W('%s.set(%d)' % (o, s['v']))
    elif k == 'ar_exc':
        W('%s.set_exception(AppError(%d))' % (o, s['code']))
    elif k == 'ar_get':
        W('%s.get(%s)' % (o, kw()))
    elif k == 'ar_state':
        W('%s.ready(), %s.successful()' % (o, o))
    elif k == 'ar_excval':
        W('%s.exception' % o)
    elif k in ('q_put', 'q_get', 'q_peek'):
        name = k[2:]
        val = str(s['v']) if k == 'q_put' else ''
        if to == 'nowait':
            W('%s.%s_nowait(%s)' % (o, name, val))
        else:
            W('%s.%s(%s)' % (o, name, ', '.join(a for a in (val, kw()) if a)))
    elif k == 'q_size':
        W('%s.qsize(), %s.empty(), %s.full()' % (o, o, o))
    elif k == 'q_done':
        W('%s.task_done()' % o)
    elif k == 'sem_acq':
        W('%s.acquire(%s)' % (o, kw('blocking=False')))
    elif k == 'sem_rel':
        W('%s.release()' % o)
    elif k == 'sem_state':
        W('%s.locked(), %s.counter' % (o, o))
    elif k == 'scope':
        W('with Timeout(%s, False):' % secs(s['d']))
        if not s['body']:
            W('    pass')
        plain_body(out, p, s['body'], ind + 1)
    elif k == 'pending':
        W('scope%d.pending' % s['sid'])
    elif k == 'l_set':
        W('%s.v = %d' % (o, s['v']))
    elif k == 'l_get':
        W('%s.v' % o)
    elif k == 'l_del':
        W('del %s.v' % o)
    elif k == 'g_kill':
        W('%s.kill()' % o)
    elif k == 'g_len':
        W('len(%s)' % o)
    elif k == 'map':
        W('%s.map(%s, %r)' % (o, s['w'], s['items']))
    elif k == 'imap':
        W('for value in %s.%s(%s, %r%s): pass' % (o, 'imap' if s['ordered'] else 'imap_unordered', s['w'],
                                                 s['items'], ', maxsize=%d' % s['maxsize'] if s.get('maxsize') else ''))
    elif k == 'apply':
        W('%s.apply(%s, (%d,))' % (o, s['w'], s['items'][0]))
    elif k == 'apply_async':
        W('G[%d] = %s.apply_async(%s, (%d,)%s)' % (s['slot'], o, s['w'], s['items'][0],
                                                 ', callback=%s' % s['cb'] if s['cb'] else ''))
    else:
        raise ValueError(k)
