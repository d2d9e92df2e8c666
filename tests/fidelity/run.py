#!/usr/bin/python3
"""run.py - grove against real gevent, program by program.

Generates random programs (fidgen.py), runs each under gevent (Python side)
and grove (C side), compares the traces line by line, confirms every
divergence by running it again, groups divergences by signature (the first
differing line of each side, names and numbers masked), and shrinks one
program per signature to a minimal one (fidshrink.py).

  run.py -n 1000 [--seed S]          a sweep; prints the seed and a summary
  run.py --ctest                      the fixed-seed sample run by ctest:
                                      fails on a divergence not listed in
                                      expected.txt (or listed differently)
  run.py --repro S:I [--shrink]       one program: both sources and traces
  run.py --list-features              what --without can leave out

The C side of many programs is compiled into one binary (a dispatch table,
`binary I` runs program I), and every program runs in a fresh process: the
C binary exec'd, the Python program in a child forked from this process
(gevent imported once, before any hub exists). Exit status 77: gevent is not
importable by this Python.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import fidgen  # noqa: E402
import fidshrink  # noqa: E402

SKIP = 77


# ----------------------------------------------------------------- running


class Job:
    def __init__(self, key, kind, src=None, binary=None, index=None):
        self.key = key
        self.kind = kind  # 'py' or 'c'
        self.src = src
        self.binary = binary
        self.index = index
        self.out = ''
        self.err = ''
        self.status = None
        self.timed_out = False
        self.elapsed = 0.0

    def finish(self):
        """pybatch: hand each program's outcome to its own Job."""
        for i, sub in enumerate(self.subs):
            base = os.path.join(self.dir, str(i))
            if not os.path.exists(base + '.rc'):
                continue  # not finished: run again alone
            with open(base + '.done', errors='replace') as f:
                sub.out = f.read()
            with open(base + '.err', errors='replace') as f:
                sub.err = f.read()
            with open(base + '.rc') as f:
                sub.status = int(f.read()) << 8
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def ok(self):
        return (not self.timed_out and self.status is not None and os.WIFEXITED(self.status)
                and os.WEXITSTATUS(self.status) == 0)

    def describe(self):
        if self.timed_out:
            return 'timed out'
        if self.status is None:
            return 'not run'
        if os.WIFSIGNALED(self.status):
            return 'killed by signal %d' % os.WTERMSIG(self.status)
        return 'exit %d' % os.WEXITSTATUS(self.status)


def _py_batch(job):
    """In a forked child: run job.progs one after another, each on a hub of
    its own (see fidrt.py, MULTI), writing <dir>/<i>.out/.err/.rc as each
    one ends, so a batch killed half way keeps what it finished."""
    import fidrt
    from gevent.hub import Hub
    from gevent._hub_local import set_hub
    fidrt.MULTI = True
    keep = []
    for i, (key, src) in enumerate(job.progs):
        buf = []
        fidrt.tr = buf.append
        fidrt.SCOPES = []
        hub = Hub(default=False)
        set_hub(hub)
        g = {'__name__': '__main__'}
        rc, err = 5, 'the program did not call run()'
        try:
            exec(compile(src, key + '.py', 'exec'), g)
        except fidrt.ProgramEnd:
            rc, err = 0, ''
        except fidrt.ProgramFailed as e:
            rc, err = 3, e.args[0]
        except BaseException:
            rc, err = 4, traceback.format_exc()
        keep.append((g, hub))  # never resumed, never collected
        base = os.path.join(job.dir, str(i))
        with open(base + '.out', 'w') as f:
            f.write(''.join(line + '\n' for line in buf))
        with open(base + '.err', 'w') as f:
            f.write(err)
        os.rename(base + '.out', base + '.done')
        with open(base + '.rc', 'w') as f:
            f.write(str(rc))


class Runner:
    """Runs jobs in fresh processes, `jobs` at a time, each with a time limit."""

    def __init__(self, jobs, timeout, tmp):
        self.jobs = jobs
        self.timeout = timeout
        self.tmp = tmp
        self.seq = 0

    def _start(self, job):
        self.seq += 1
        out = os.path.join(self.tmp, 'o%d' % self.seq)
        err = os.path.join(self.tmp, 'e%d' % self.seq)
        job._files = (out, err)
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                fd2 = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd2, 2)
                os.close(fd)
                os.close(fd2)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                if job.kind == 'c':
                    os.execv(job.binary, [job.binary, str(job.index)])
                if job.kind == 'pybatch':
                    _py_batch(job)
                    os._exit(0)
                code = compile(job.src, job.key + '.py', 'exec')
                exec(code, {'__name__': '__main__'})
                os._exit(0)
            except SystemExit as e:
                os._exit(e.code if isinstance(e.code, int) else 1)
            except BaseException:
                traceback.print_exc()
                sys.stderr.flush()
                os._exit(4)
        return pid

    def run(self, jobs):
        pending = list(jobs)
        running = {}
        while pending or running:
            while pending and len(running) < self.jobs:
                j = pending.pop(0)
                if j.kind == 'pybatch':
                    self.seq += 1
                    j.dir = os.path.join(self.tmp, 'b%d' % self.seq)
                    os.makedirs(j.dir)
                running[self._start(j)] = (j, time.monotonic())
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid == 0:
                now = time.monotonic()
                for p, (j, t0) in running.items():
                    limit = self.timeout
                    if j.kind == 'pybatch':
                        limit = self.timeout + 2.0 * len(j.progs)
                    if now - t0 > limit and not j.timed_out:
                        j.timed_out = True
                        try:
                            os.kill(p, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                time.sleep(0.002)
                continue
            if pid not in running:
                continue
            j, t0 = running.pop(pid)
            j.elapsed = time.monotonic() - t0
            j.status = status
            if j.kind == 'pybatch':
                j.finish()
                for f in j._files:
                    os.unlink(f)
                continue
            out, err = j._files
            with open(out, errors='replace') as f:
                j.out = f.read()
            with open(err, errors='replace') as f:
                j.err = f.read()
            os.unlink(out)
            os.unlink(err)
        return jobs


class Toolchain:
    def __init__(self, args):
        self.cc = args.cc or os.environ.get('CC') or 'cc'
        self.include = args.include or os.path.join(ROOT, 'include')
        lib = args.lib
        if not lib:
            for d in (args.build, 'build'):
                for name in ('libgrove.a', 'libgrove.so'):
                    cand = os.path.join(ROOT, d, name)
                    if not lib and os.path.exists(cand):
                        lib = cand
        if not lib or not os.path.exists(lib):
            sys.exit('run.py: grove library not found (build grove first, or pass --lib PATH)')
        self.lib = os.path.abspath(lib)
        self.cflags = (args.cflags or '').split()
        # The static library starts a program four times faster (no dynamic
        # loading of libzmq and friends); its dependencies come from
        # pkg-config, linked only if needed.
        self.libs = []
        if self.lib.endswith('.a'):
            try:
                out = subprocess.run(['pkg-config', '--libs', 'libuv', 'msgpack', 'libzmq'],
                                     capture_output=True, text=True, check=True).stdout.split()
            except (OSError, subprocess.CalledProcessError):
                out = ['-luv', '-lmsgpackc', '-lzmq']
            self.libs = ['-Wl,--as-needed'] + out + ['-lpthread', '-lm']

    def command(self, src, binary):
        cmd = [self.cc, '-O0', '-w', '-I', HERE, '-I', self.include] + self.cflags + [src, '-o', binary, self.lib]
        if self.lib.endswith('.so'):
            return cmd + ['-Wl,-rpath,' + os.path.dirname(self.lib)]
        return cmd + self.libs


def build_batches(tc, groups, workdir, jobs=2):
    """groups: list of lists of programs. Writes and compiles one C file per
    group (`jobs` compilers at a time); returns the binary paths."""
    procs = []
    bins = []
    for i, progs in enumerate(groups):
        src = os.path.join(workdir, 'batch%d.c' % i)
        binary = os.path.join(workdir, 'batch%d' % i)
        with open(src, 'w') as f:
            f.write(fidgen.emit_c_batch(progs))
        bins.append(binary)
        procs.append((tc.command(src, binary), src))
    live = []
    failed = []

    def reap(block):
        for item in list(live):
            p, s, errf = item
            if (p.wait() if block else p.poll()) is None:
                continue
            live.remove(item)
            if p.returncode != 0:
                with open(errf, errors='replace') as f:
                    failed.append((s, f.read()))

    for cmd, src in procs:
        while len(live) >= jobs:
            reap(False)
            if len(live) >= jobs:
                time.sleep(0.01)
        errf = src + '.err'
        with open(errf, 'w') as ef:
            live.append((subprocess.Popen(cmd, stderr=ef), src, errf))
    while live:
        reap(True)
    if failed:
        s, err = failed[0]
        sys.exit('run.py: compiling %s failed (a generator bug):\n%s' % (s, err[:4000]))
    return bins


# -------------------------------------------------------------- comparing


def lines(text):
    return [l for l in text.split('\n') if l != '']


def norm(line):
    """A trace line without who said it, names and numbers masked."""
    if line is None:
        return '<end>'
    _, _, rest = line.partition(': ')
    rest = re.sub(r'\b(g|L|w|cb)\d+(\(\d+\))?', r'\1', rest)
    rest = re.sub(r'\b([EAQSXP])\d+\b', r'\1', rest)
    rest = re.sub(r'-?\d+(\.\d+)?', 'N', rest)
    return rest


def opword(line):
    """What a trace line is about: its first word after `who: `."""
    if line is None:
        return '<end>'
    return line.partition(': ')[2].split(' ')[0]


def first_diff(a, b):
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            return i, x, y
    return None


class Result:
    """One program's outcome: match, diverge, c_crash, c_hang, py_fail."""

    def __init__(self, prog, py, c):
        self.prog = prog
        self.py = py
        self.c = c
        self.gev = lines(py.out)
        self.grv = lines(c.out)
        self.cleanup = [l for l in c.err.split('\n') if l.startswith('FIDCLEANUP')]
        self.diff = None
        self.sig = None
        self.group = None
        if not py.ok:
            self.status = 'py_fail'
        elif c.timed_out:
            self.status = 'c_hang'
        elif not c.ok:
            self.status = 'c_crash'
        else:
            self.diff = first_diff(self.gev, self.grv)
            self.status = 'diverge' if self.diff else 'match'
            if self.status == 'match' and self.cleanup:
                # Same trace, but grove's hub would not close once every
                # greenlet was killed: something leaked.
                self.status = 'c_cleanup'
        if self.status == 'diverge':
            self.sig = '%s  |  %s' % (norm(self.diff[1]), norm(self.diff[2]))
            self.group = '%s | %s' % (opword(self.diff[1]), opword(self.diff[2]))
        elif self.status in ('c_crash', 'c_hang'):
            self.sig = '%s: %s' % (self.status, c.describe())
        elif self.status == 'c_cleanup':
            self.sig = 'c_cleanup: %s' % re.sub(r'\d+', 'N', self.cleanup[0][len('FIDCLEANUP '):])
        elif self.status == 'py_fail':
            self.sig = 'py_fail: %s' % py.describe()
        if self.group is None:
            self.group = self.sig

    def same_failure(self, other):
        return self.status == other.status and self.sig == other.sig


PY_FRESH = False  # --py-fresh: one forked process per Python program
PY_BATCH = 25


def run_programs(runner, items, tag):
    """items: (program, binary, index) triples. Runs both sides of each and
    returns one Result per item."""
    cjobs = []
    pyjobs = []
    for n, (p, binary, index) in enumerate(items):
        cjobs.append(Job('%s_c%d' % (tag, n), 'c', binary=binary, index=index))
        pyjobs.append(Job('%s_py%d' % (tag, n), 'py', src=fidgen.emit_py(p)))
    jobs = []
    if PY_FRESH:
        jobs = pyjobs
    else:
        # Small sets (the shrinker's) are spread over every job slot.
        per = max(1, min(PY_BATCH, -(-len(pyjobs) // max(1, runner.jobs - 1))))
        for start in range(0, len(pyjobs), per):
            b = Job('%s_pb%d' % (tag, start), 'pybatch')
            b.subs = pyjobs[start:start + per]
            b.progs = [(j.key, j.src) for j in b.subs]
            jobs.append(b)
    # Python batches first: they take longest; C runs fill the gaps.
    runner.run(jobs + cjobs)
    again = [j for j in pyjobs if j.status is None]
    if again:
        runner.run(again)  # what a batch that was killed did not finish
    return [Result(p, pyjobs[n], cjobs[n]) for n, (p, _, _) in enumerate(items)]


def evaluate(runner, tc, progs, workdir, tag):
    """Build and run programs, both sides; one Result per program."""
    os.makedirs(workdir, exist_ok=True)
    binary = build_batches(tc, [progs], workdir)[0]
    return run_programs(runner, [(p, binary, i) for i, p in enumerate(progs)], tag)


# --------------------------------------------------------------- shrinking


def shrink(runner, tc, prog, target, workdir, log=None, max_rounds=200, chunk=24):
    """The smallest variant of prog found that fails as `target` does."""
    cur = prog
    for rnd in range(max_rounds):
        cands = list(fidshrink.candidates(cur))
        found = None
        for start in range(0, len(cands), chunk):
            part = cands[start:start + chunk]
            for r in evaluate(runner, tc, part, workdir, 'shrink'):
                if r.same_failure(target):
                    found = r.prog
                    break
            if found:
                break
        if not found:
            break
        cur = found
        if log:
            log('    shrink round %d: %d statements' % (rnd + 1, fidgen.size(cur)))
    # Renumber for reading, and check it still fails (renaming changes the
    # values printed, never the order).
    canon = fidshrink.canonical(cur)
    canon['name'] = prog.get('name', '?') + ' (shrunk)'
    rs = evaluate(runner, tc, [canon, canon, canon], workdir, 'final')
    if all(r.same_failure(target) for r in rs):
        return canon, rs[0]
    rs = evaluate(runner, tc, [cur, cur], workdir, 'final')
    return cur, rs[0]


# ----------------------------------------------------------------- reports


def side_by_side(r, width=58):
    out = []
    n = max(len(r.gev), len(r.grv))
    at = r.diff[0] if r.diff else None
    out.append('  %-4s %-*s %s' % ('', width, 'gevent', 'grove'))
    for i in range(n):
        a = r.gev[i] if i < len(r.gev) else ''
        b = r.grv[i] if i < len(r.grv) else ''
        mark = '=' if a == b else '!'
        if at is not None and i == at:
            mark = '>'
        out.append('  %-4s %-*s %s %s' % ('%d' % (i + 1), width, a, mark, b))
    return '\n'.join(out)


def show(r, label=''):
    print('=' * 100)
    print('%s %s: %s  [%s]' % (label, r.prog.get('name'), r.status, r.sig or ''))
    print('-' * 40 + ' gevent program')
    print(fidgen.emit_py(r.prog))
    print('-' * 40 + ' traces')
    print(side_by_side(r))
    if r.c.err.strip():
        print('-' * 40 + ' grove stderr')
        print(r.c.err.strip()[:3000])
    if r.py.err.strip() and r.status == 'py_fail':
        print('-' * 40 + ' gevent stderr')
        print(r.py.err.strip()[:3000])


def save(r, d, stem):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, stem + '.py'), 'w') as f:
        f.write(fidgen.emit_py(r.prog))
    with open(os.path.join(d, stem + '.c'), 'w') as f:
        f.write(fidgen.emit_c_batch([r.prog]))
    with open(os.path.join(d, stem + '.gevent.txt'), 'w') as f:
        f.write(r.py.out)
    with open(os.path.join(d, stem + '.grove.txt'), 'w') as f:
        f.write(r.c.out)
    with open(os.path.join(d, stem + '.json'), 'w') as f:
        json.dump(r.prog, f, indent=1, sort_keys=True)


# -------------------------------------------------------------------- main


def have_gevent():
    try:
        import gevent  # noqa: F401
        import fidrt  # noqa: F401  (imported once here, before forking)
    except ImportError as e:
        return str(e)
    return None


def sweep(args, runner, tc, workdir):
    seed = args.seed
    n = args.n
    t0 = time.monotonic()
    cpu0 = os.times()
    progs = [fidgen.generate(seed, i, args.without, args.with_) for i in range(n)]
    print('fidelity: seed %s, %d programs, gevent %s, %d jobs at a time' % (
        seed, n, __import__('gevent').__version__, args.jobs), flush=True)
    results = []
    B = args.batch
    for start in range(0, n, B * 4):
        chunk = progs[start:start + B * 4]
        groups = [chunk[i:i + B] for i in range(0, len(chunk), B)]
        bins = build_batches(tc, groups, workdir)
        items = [(p, binary, i) for grp, binary in zip(groups, bins) for i, p in enumerate(grp)]
        results.extend(run_programs(runner, items, 'sweep%d' % start))
        if not args.quiet:
            done = len(results)
            nd = sum(1 for r in results if r.status != 'match')
            print('  %d/%d programs, %d not matching (%.0f s)' % (
                done, n, nd, time.monotonic() - t0), flush=True)
        for b in bins:
            os.unlink(b)
    # Confirm: a failure counts once it repeats the same way.
    bad = [r for r in results if r.status != 'match']
    confirmed = []
    flaky = []
    if bad:
        reruns = evaluate(runner, tc, [r.prog for r in bad] * args.confirm, workdir, 'confirm')
        for i, r in enumerate(bad):
            again = [reruns[i + k * len(bad)] for k in range(args.confirm)]
            if all(a.same_failure(r) and a.gev == r.gev and a.grv == r.grv for a in again):
                confirmed.append(r)
            else:
                flaky.append((r, again))
    by_sig = {}
    for r in confirmed:
        by_sig.setdefault((r.status, r.sig), []).append(r)
    cleanup = [r for r in results if r.cleanup]
    wall = time.monotonic() - t0
    cpu = os.times()
    cpu_s = (cpu.children_user + cpu.children_system + cpu.user + cpu.system) - (
        cpu0.children_user + cpu0.children_system + cpu0.user + cpu0.system)
    print()
    print('fidelity summary: seed %s' % seed)
    print('  programs run:        %d  (%.0f s wall, %.0f s CPU: runner %.0f s, programs and compilers %.0f s)' % (
        n, wall, cpu_s, cpu.user + cpu.system - cpu0.user - cpu0.system,
        cpu.children_user + cpu.children_system - cpu0.children_user - cpu0.children_system))
    print('  match gevent:        %d' % sum(1 for r in results if r.status == 'match'))
    for st in ('diverge', 'c_crash', 'c_hang', 'c_cleanup', 'py_fail'):
        k = sum(1 for r in confirmed if r.status == st)
        if k:
            print('  %-20s %d' % (st + ':', k))
    if flaky:
        print('  not reproducible:    %d (timing-sensitive on this machine; not counted)' % len(flaky))
    print('  distinct signatures: %d' % len(by_sig))
    for (st, sig), rs in sorted(by_sig.items(), key=lambda kv: -len(kv[1])):
        print('    %5d  %s  (e.g. %s)' % (len(rs), sig, rs[0].prog['name']))
    ddir = os.path.join(workdir, 'divergences')
    for (st, sig), rs in by_sig.items():
        for j, r in enumerate(rs[:3]):
            save(r, ddir, '%s_%d' % (r.prog['name'].replace(':', '_'), j))
    for r, _ in flaky[:20]:
        save(r, os.path.join(workdir, 'flaky'), r.prog['name'].replace(':', '_'))
    for r in cleanup[:20]:
        save(r, os.path.join(workdir, 'cleanup'), r.prog['name'].replace(':', '_'))
    print('  programs and traces of each signature saved in %s' % ddir)
    by_group = {}
    for r in confirmed:
        by_group.setdefault(r.group, []).append(r)
    print('  by what the first differing lines are about (gevent | grove): %d groups' % len(by_group))
    for g, rs in sorted(by_group.items(), key=lambda kv: -len(kv[1])):
        print('    %5d  %s' % (len(rs), g))
    if args.shrink and by_sig:
        # One program per group, then per signature, most frequent first.
        picks = []
        seen = set()
        for g, rs in sorted(by_group.items(), key=lambda kv: -len(kv[1])):
            picks.append(rs)
            seen.add(rs[0].sig)
        for (st, sig), rs in sorted(by_sig.items(), key=lambda kv: -len(kv[1])):
            if sig not in seen:
                picks.append(rs)
        print()
        print('shrinking one program per group, then per signature (at most %d):' % args.shrink,
              flush=True)
        minimal = []
        for rs in picks[:args.shrink]:
            r = min(rs[:8], key=lambda x: fidgen.size(x.prog))
            print('  %s  [%s]: %d statements' % (r.prog['name'], r.sig, fidgen.size(r.prog)), flush=True)
            m, mr = shrink(runner, tc, r.prog, r, os.path.join(workdir, 'shrink'),
                           log=print if args.verbose else None)
            print('    -> %d statements  [%s]' % (fidgen.size(m), mr.sig), flush=True)
            minimal.append((r.sig, len(rs), mr))
            save(mr, os.path.join(workdir, 'minimal'), r.prog['name'].replace(':', '_'))
            with open(os.path.join(workdir, 'minimal.txt'), 'w') as f:
                for sig, count, mr in minimal:
                    kinds = sorted(set(s['k'] for name in ['main'] + fidgen.reachable(mr.prog)
                                       for s in fidgen.walk(mr.prog['main'] if name == 'main'
                                                            else mr.prog['funcs'][name]['body'])))
                    f.write('#' * 100 + '\n')
                    f.write('# signature: %s  (%d programs)\n' % (sig, count))
                    f.write('# statements: %s\n' % ' '.join(kinds))
                    f.write(fidgen.emit_py(mr.prog))
                    f.write('# traces\n' + side_by_side(mr) + '\n')
        print('minimal programs and traces: %s' % os.path.join(workdir, 'minimal.txt'))
    return results, confirmed, flaky


def load_expected(path):
    """expected.txt: `INDEX GEVENT-HASH STATUS [SIGNATURE]` per program."""
    exp = {}
    if not os.path.exists(path):
        return exp
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            idx, h, rest = line.split(' ', 2)
            exp[int(idx)] = (h, rest)
    return exp


def trace_hash(text):
    import hashlib
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def outcome(r):
    return r.status if r.status == 'match' else '%s %s' % (r.status, r.sig)


def ctest(args, runner, tc, workdir):
    """The fixed-seed sample against expected.txt, which records for every
    program what gevent printed (a hash) and the outcome (match, or the
    divergence's signature). A program fails the test only when gevent prints
    what it printed then and grove's outcome is not the recorded one, in four
    runs out of four. On a loaded machine a timer can fire late enough to
    reorder gevent itself: a program whose gevent trace is not the recorded
    one is reported as timing-sensitive here, never as a failure."""
    t0 = time.monotonic()
    n = args.n
    progs = [fidgen.generate(args.seed, i, args.without, args.with_) for i in range(n)]
    print('fidelity sample: seed %s, %d programs, gevent %s' % (
        args.seed, n, __import__('gevent').__version__), flush=True)
    groups = [progs[i:i + args.batch] for i in range(0, n, args.batch)]
    bins = build_batches(tc, groups, workdir)
    items = [(p, b, i) for grp, b in zip(groups, bins) for i, p in enumerate(grp)]
    runs = {i: [r] for i, r in enumerate(run_programs(runner, items, 'ctest'))}
    if args.write_expected:
        # Record what repeats: four runs, gevent printing the same each time.
        look = list(range(n))
        for _ in range(3):
            again = run_programs(runner, [items[i] for i in look], 'ctest_list')
            for i, r in zip(look, again):
                runs[i].append(r)
        stable = [i for i in range(n) if len(set(r.py.out for r in runs[i])) == 1 and
                  len(set(outcome(r) for r in runs[i])) == 1]
        with open(args.expected, 'w') as f:
            f.write('# The ctest sample (seed %s, %d programs): for each program that behaved\n'
                    % (args.seed, n))
            f.write('# the same in four runs, a hash of what gevent printed and the outcome:\n')
            f.write('# match, or the divergence and its signature (gevent | grove). run.py --ctest\n')
            f.write('# fails when gevent prints the recorded trace and grove does something else.\n')
            f.write('# Regenerate after a fix (or a generator change) with\n')
            f.write('#   /usr/bin/python3 tests/fidelity/run.py --ctest --write-expected\n')
            f.write('# and look at a program with run.py --repro %s:INDEX [--shrink].\n' % args.seed)
            for i in stable:
                r = runs[i][0]
                f.write('%d %s %s\n' % (i, trace_hash(r.py.out), outcome(r)))
        div = sum(1 for i in stable if runs[i][0].status != 'match')
        print('wrote %s: %d programs, %d of them diverge; %d left out (not the same in four runs '
              'on this machine)' % (args.expected, len(stable), div, n - len(stable)))
        return 0
    exp = load_expected(args.expected)

    def ok(i, r):
        return i not in exp or outcome(r) == exp[i][1]

    for _ in range(3):
        look = [i for i in range(n) if not any(ok(i, r) for r in runs[i])]
        if not look:
            break
        again = run_programs(runner, [items[i] for i in look], 'ctest_again')
        for i, r in zip(look, again):
            runs[i].append(r)
    # Reruns at the same parallelism, under the same load (ctest -j runs
    # heavy tests beside this one), can all be late the same way: what still
    # fails runs twice more, alone, one program at a time.
    look = [i for i in range(n) if not any(ok(i, r) for r in runs[i])]
    if look:
        saved, runner.jobs = runner.jobs, 1
        for _ in range(2):
            look = [i for i in look if not any(ok(i, r) for r in runs[i])]
            for i in look:
                runs[i].extend(run_programs(runner, [items[i]], 'ctest_alone'))
        runner.jobs = saved
    verdict = {}
    for i in range(n):
        if i not in exp:
            verdict[i] = 'unlisted'
        elif any(ok(i, r) for r in runs[i]):
            verdict[i] = 'known' if exp[i][1] != 'match' else 'match'
        elif not any(trace_hash(r.py.out) == exp[i][0] for r in runs[i]):
            verdict[i] = 'unstable'
        elif exp[i][1] != 'match' and any(r.status == 'match' and trace_hash(r.py.out) == exp[i][0]
                                          for r in runs[i]):
            verdict[i] = 'fixed'
        else:
            verdict[i] = 'new'
    count = lambda v: sum(1 for x in verdict.values() if x == v)
    known = [i for i in range(n) if verdict[i] == 'known']
    print('  %d programs match gevent, %d diverge as expected.txt says (%d signatures), %d diverge '
          'otherwise, %d now match (fixed?); %d timing-sensitive here, %d not in the list (%.0f s)' % (
              count('match'), len(known), len(set(exp[i][1] for i in known)), count('new'),
              count('fixed'), count('unstable'), count('unlisted'), time.monotonic() - t0))
    for i in range(n):
        if verdict[i] == 'unstable':
            print('  timing-sensitive: %s:%d (gevent printed another trace than recorded)' % (
                args.seed, i))
        if verdict[i] == 'fixed':
            print('  now matches gevent (fixed?): %s:%d, listed as [%s]' % (args.seed, i, exp[i][1]))
    if count('fixed'):
        print('  when a divergence is fixed, update the list: '
              '/usr/bin/python3 tests/fidelity/run.py --ctest --write-expected')
    new = [i for i in range(n) if verdict[i] == 'new']
    if args.order_advisory:
        # A sanitizer build: the C side runs several times slower, so a timer
        # that gevent sees expire after some work can expire before it here.
        # Order is the plain build's to check; this run fails on what the
        # sanitizers are for: crashes, hangs, what cannot be freed.
        late = [i for i in new if all(r.status == 'diverge' for r in runs[i])]
        for i in late:
            print('  order differs in this (sanitizer) build, not counted: %s:%d' % (args.seed, i))
        new = [i for i in new if i not in late]
    for i in new[:5]:
        r = [r for r in runs[i] if trace_hash(r.py.out) == exp[i][0]][-1]
        show(r, 'NEW (expected [%s])' % exp[i][1])
    if new:
        print()
        print('FAIL: %d programs do not behave as expected.txt says, while gevent prints what it '
              'printed then (reproduce: /usr/bin/python3 tests/fidelity/run.py --repro %s:INDEX '
              '--shrink)' % (len(new), args.seed))
        return 1
    print('PASS: grove behaves as recorded on every program where gevent does')
    return 0


def load_program(path):
    """A program saved as JSON (run.py saves one beside every divergence)."""
    with open(path) as f:
        p = json.load(f)
    for name in ['main'] + list(p['funcs']):
        body = p['main'] if name == 'main' else p['funcs'][name]['body']
        for s in fidgen.walk(body):
            if s.get('table'):
                s['table'] = {int(k): v for k, v in s['table'].items()}
            if isinstance(s.get('to'), list):
                s['to'] = tuple(s['to'])
    p.setdefault('name', os.path.basename(path))
    return p


def cases(args, runner, tc, workdir):
    """Run every program of a directory of JSON programs (cases/: one minimal
    program per divergence of DIVERGENCES.md) and say which still diverge."""
    files = sorted(f for f in os.listdir(args.cases) if f.endswith('.json'))
    progs = [load_program(os.path.join(args.cases, f)) for f in files]
    rs = evaluate(runner, tc, progs, workdir, 'cases')
    width = max(len(f) for f in files)
    for f, r in zip(files, rs):
        print('  %-*s  %s%s' % (width, f[:-5], r.status, '  [%s]' % r.sig if r.sig else ''))
        if args.verbose and r.status != 'match':
            print(side_by_side(r))
    if args.markdown:
        with open(args.markdown, 'w') as md:
            for f, r in zip(files, rs):
                md.write('### %s\n\n`cases/%s` — %s\n\n' % (r.prog.get('name', f), f, r.status))
                md.write('```python\n%s```\n\n' % fidgen.emit_plain(r.prog))
                md.write('```text\n%s\n```\n\n' % side_by_side(r, width=44))
    print('%d cases: %d match gevent, %d do not' % (
        len(rs), sum(1 for r in rs if r.status == 'match'), sum(1 for r in rs if r.status != 'match')))
    return 0


def repro(args, runner, tc, workdir):
    if args.repro.endswith('.json'):
        p = load_program(args.repro)
    else:
        seed, _, idx = args.repro.rpartition(':')
        p = fidgen.generate(seed, int(idx), args.without, args.with_)
    r = evaluate(runner, tc, [p], workdir, 'repro')[0]
    show(r)
    if args.shrink and r.status != 'match':
        m, mr = shrink(runner, tc, p, r, os.path.join(workdir, 'shrink'), log=print)
        show(mr, 'MINIMAL')
    if args.save:
        save(r, args.save, args.repro.replace(':', '_'))
    return 0 if r.status == 'match' else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-n', type=int, default=300, help='programs to run (default 300)')
    ap.add_argument('--seed', default=None, help='random seed (default: a new one, printed)')
    ap.add_argument('--jobs', type=int, default=max(4, 3 * (os.cpu_count() or 2)),
                    help='processes at a time (programs mostly sleep)')
    ap.add_argument('--timeout', type=float, default=15.0, help='seconds per program run')
    ap.add_argument('--batch', type=int, default=100, help='programs per C binary')
    ap.add_argument('--confirm', type=int, default=1, help='reruns a failure must repeat in')
    ap.add_argument('--order-advisory', action='store_true',
                    help='--ctest in a sanitizer build: a program whose only difference is the '
                         'order (the C side is slower) is reported, not failed')
    ap.add_argument('--shrink', type=int, default=None, nargs='?', const=30,
                    help='shrink one program per signature, at most N signatures (sweep default 30; '
                         'with --repro: shrink it)')
    ap.add_argument('--without', action='append', default=[], choices=sorted(fidgen.FEATURES),
                    help='leave a construct out of the programs')
    ap.add_argument('--with', dest='with_', action='append', default=[], choices=sorted(fidgen.FEATURES),
                    help='put in a construct that is off by default')
    ap.add_argument('--list-features', action='store_true')
    ap.add_argument('--ctest', action='store_true', help='the fixed-seed sample for ctest')
    ap.add_argument('--expected', default=os.path.join(HERE, 'expected.txt'))
    ap.add_argument('--write-expected', action='store_true')
    ap.add_argument('--repro', metavar='SEED:INDEX|FILE.json', help='one program, generated or saved')
    ap.add_argument('--cases', metavar='DIR', nargs='?', const=os.path.join(HERE, 'cases'),
                    help='run the JSON programs of DIR (default tests/fidelity/cases) and report each')
    ap.add_argument('--markdown', metavar='FILE', help='with --cases: write each case, program and traces, as markdown')
    ap.add_argument('--save', metavar='DIR', help='with --repro: save sources and traces there')
    ap.add_argument('--work', help='work directory: binaries, saved divergences (default BUILD/fidelity)')
    ap.add_argument('--build', default='build', help='build directory holding libgrove.a (or .so)')
    ap.add_argument('--lib', help='the grove shared library to link')
    ap.add_argument('--include', help="grove's include directory")
    ap.add_argument('--cc')
    ap.add_argument('--cflags', help='extra compiler and linker flags (e.g. -fsanitize=address)')
    ap.add_argument('--py-fresh', action='store_true',
                    help='one process per Python program (slow; checks the batched way agrees)')
    ap.add_argument('--quiet', action='store_true')
    ap.add_argument('--verbose', action='store_true')
    ap.add_argument('--without-known', action='store_true',
                    help='leave out every construct that triggers a divergence still open '
                         '(fidgen.KNOWN_TRIGGERS)')
    args = ap.parse_args()
    if args.without_known:
        args.without = sorted(set(args.without) | fidgen.KNOWN_TRIGGERS)
    if args.list_features:
        print('constructs --without can leave out:')
        for k, v in sorted(fidgen.FEATURES.items()):
            print('  %-16s %s%s' % (k, v, ' [off by default: --with %s]' % k if k in fidgen.OFF_BY_DEFAULT else ''))
        print('still open (--without-known leaves them out): %s' % ', '.join(sorted(fidgen.KNOWN_TRIGGERS)))
        print('never generated (grove has no such API, or it is a documented difference):')
        for k, v in sorted(fidgen.GROVE_LACKS.items()):
            print('  %-20s %s' % (k, v))
        return 0
    why = have_gevent()
    if why:
        print('SKIP: gevent is not importable by %s (%s); scripts/install-deps.sh python3-gevent '
              'installs it' % (sys.executable, why))
        return SKIP
    if args.ctest:
        if args.seed is None:
            args.seed = 'ctest1'
    elif args.seed is None:
        args.seed = '%08x' % random.SystemRandom().getrandbits(32)
    if args.shrink is None:
        args.shrink = 30 if not args.repro else 0
    global PY_FRESH
    PY_FRESH = args.py_fresh
    tc = Toolchain(args)
    tmp = tempfile.mkdtemp(prefix='fidelity-')
    workdir = os.path.abspath(args.work or os.path.join(ROOT, args.build, 'fidelity'))
    os.makedirs(workdir, exist_ok=True)
    runner = Runner(args.jobs, args.timeout, tmp)
    try:
        if args.repro:
            return repro(args, runner, tc, workdir)
        if args.cases:
            return cases(args, runner, tc, workdir)
        if args.ctest:
            return ctest(args, runner, tc, workdir)
        results, confirmed, flaky = sweep(args, runner, tc, workdir)
        print('reproduce any program: /usr/bin/python3 tests/fidelity/run.py --repro SEED:INDEX')
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
