"""fidshrink - smaller variants of a program, and a canonical renaming.

candidates(p) yields programs strictly "lighter" than p (see weight): whole
bodies emptied, halves, quarters ... single statements deleted, scopes
unwrapped, map items dropped, timeouts made infinite, timed sleeps made 0.
The shrinker (run.py) keeps the first variant that still fails the same
way and starts again from it, until no variant does.

canonical(p) renumbers greenlets, callbacks, workers, objects and scopes in
the order they first appear, so a minimal program reads g1, g2, E0 ...
"""
import copy

import fidgen


def weight(p):
    n = fidgen.size(p)
    timed = 0
    items = 0
    for name in ['main'] + fidgen.reachable(p):
        body = p['main'] if name == 'main' else p['funcs'][name]['body']
        for s in fidgen.walk(body):
            if s.get('to') not in (None, 'nowait'):
                timed += 1
            if s['k'] == 'sleep' and s['d']:
                timed += 1
            if s['k'] == 'spawn' and s['later'] is not None:
                timed += 1
            items += len(s.get('items') or ())
    return n * 100 + timed * 10 + items


def _bodies(p):
    """Paths to every statement list: ('main',) or ('f', name), then scope
    indexes. Only reachable code."""
    out = []

    def rec(path, body):
        out.append(path)
        for i, s in enumerate(body):
            if s['k'] == 'scope':
                rec(path + (i,), s['body'])

    rec(('main',), p['main'])
    for name in fidgen.reachable(p):
        rec(('f', name), p['funcs'][name]['body'])
    return out


def _get(p, path):
    body = p['main'] if path[0] == 'main' else p['funcs'][path[1]]['body']
    for i in path[1 if path[0] == 'main' else 2:]:
        body = body[i]['body']
    return body


def candidates(p):
    w0 = weight(p)
    seen = set()

    def ok(c):
        if weight(c) >= w0:
            return False
        key = fidgen.emit_py(c)
        if key in seen:
            return False
        seen.add(key)
        return True

    paths = _bodies(p)
    # 1. Empty whole bodies (a greenlet that does nothing but start).
    for path in paths:
        if _get(p, path):
            c = copy.deepcopy(p)
            del _get(c, path)[:]
            if ok(c):
                yield c
    # 2. Delete chunks, largest first (ddmin).
    for path in paths:
        n = len(_get(p, path))
        size = n // 2
        while size >= 1:
            for start in range(0, n, size):
                c = copy.deepcopy(p)
                del _get(c, path)[start:start + size]
                if ok(c):
                    yield c
            size //= 2
    # 3. Unwrap scopes.
    for path in paths:
        body = _get(p, path)
        for i, s in enumerate(body):
            if s['k'] == 'scope':
                c = copy.deepcopy(p)
                b = _get(c, path)
                sid = b[i]['id']
                b[i:i + 1] = [x for x in b[i]['body'] if not (x['k'] == 'pending' and x['sid'] == sid)]
                if ok(c):
                    yield c
    # 4. Fewer map items; simpler timeouts and sleeps.
    for path in paths:
        body = _get(p, path)
        for i, s in enumerate(body):
            if s.get('items') and len(s['items']) > 1 and s['k'] in ('map', 'imap'):
                for x in s['items']:
                    c = copy.deepcopy(p)
                    cs = _get(c, path)[i]
                    cs['items'] = [y for y in cs['items'] if y != x]
                    for ws in fidgen.walk(c['funcs'][cs['w']]['body']):
                        if ws['k'] == 'failx':
                            ws['items'] = [y for y in ws['items'] if y != x] or ws['items']
                    if ok(c):
                        yield c
            variants = []
            if s.get('to') not in (None, 'nowait'):
                variants.append(('to', None))
            if s['k'] == 'sleep' and s['d']:
                variants.append(('d', 0))
            if s['k'] == 'spawn' and s['later'] is not None:
                variants.append(('later', None))
            for field, val in variants:
                c = copy.deepcopy(p)
                _get(c, path)[i][field] = val
                if ok(c):
                    yield c


def canonical(p):
    """The same program with everything renumbered in order of appearance."""
    p = copy.deepcopy(p)
    order = []  # statements in textual order, following spawns into bodies
    seen_f = set()

    def visit(body):
        for s in fidgen.walk(body):
            order.append(s)
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
                if n in p['funcs'] and n not in seen_f:
                    seen_f.add(n)
                    visit(p['funcs'][n]['body'])

    visit(p['main'])
    slotmap = {}

    def sl(k):
        if k not in slotmap:
            slotmap[k] = len(slotmap) + 1
        return slotmap[k]

    for s in order:
        if 'slot' in s:
            sl(s['slot'])
        for k in s.get('slots') or ():
            sl(k)
    fmap = {}
    counts = {'L': 0, 'w': 0, 'cb': 0}
    for name in fidgen.reachable(p):
        f = p['funcs'][name]
        if f['kind'] == 'g':
            fmap[name] = 'g%d' % slotmap[f['id']]
        else:
            counts[f['kind']] += 1
            fmap[name] = '%s%d' % (f['kind'], counts[f['kind']])
    omap = {}
    ocount = {}
    for s in order:
        for key in ('obj', 'grp', 'wobjs'):
            for oid in (s.get(key) or []) if key == 'wobjs' else [s.get(key)]:
                if oid and oid not in omap:
                    pre = oid[0]
                    omap[oid] = '%s%d' % (pre, ocount.get(pre, 0))
                    ocount[pre] = ocount.get(pre, 0) + 1
        for key in ():
            oid = s.get(key)
            if oid and oid not in omap:
                pre = oid[0]
                omap[oid] = '%s%d' % (pre, ocount.get(pre, 0))
                ocount[pre] = ocount.get(pre, 0) + 1
    scopemap = {}
    for s in order:
        if 'slot' in s:
            s['slot'] = slotmap[s['slot']]
        if s.get('slots'):
            s['slots'] = sorted(slotmap[k] for k in s['slots'])
        for key in ('obj', 'grp'):
            if s.get(key):
                s[key] = omap[s[key]]
        if s.get('wobjs'):
            s['wobjs'] = [omap[o] for o in s['wobjs']]
        for key in ('w', 'cb'):
            if s.get(key):
                s[key] = fmap[s[key]]
        if s['k'] == 'scope':
            scopemap[s['id']] = len(scopemap) + 1
            s['id'] = scopemap[s['id']]
        if s['k'] == 'pending':
            s['sid'] = scopemap[s['sid']]
    funcs = {}
    for name in list(fmap):
        f = p['funcs'][name]
        f['name'] = fmap[name]
        if f['kind'] == 'g':
            f['id'] = slotmap[f['id']]
        else:
            f['id'] = int(fmap[name].lstrip('Lwcb'))
        if f['kind'] == 'L':
            f['src'] = slotmap[f['src']]
        funcs[f['name']] = f
    p['funcs'] = funcs
    p['objs'] = [dict(o, id=omap[o['id']]) for o in p['objs'] if o['id'] in omap]
    p['objs'].sort(key=lambda o: (o['id'][0], int(o['id'][1:])))
    p['nslots'] = max(slotmap.values()) if slotmap else 0
    return p
