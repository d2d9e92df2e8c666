// caf-peer: grove-bench's benchmarks written with the C++ Actor Framework
// 0.17 (Debian 12's libcaf-dev) and event-based actors, for the side-by-side
// comparison (scripts/bench.sh).
//
//   caf-peer [--quick] [--threads N] NAME...
//
// Prints `NAME VALUE UNIT` lines exactly as grove-bench does, with the same
// names and units (each figure is the best of grove-bench's number of
// repetitions; one with --quick, and one skynet per process), and exits
// non-zero if a result is wrong. The message loops are shorter than
// grove-bench's (the rates do not depend on their length); skynet and the
// idle actors are the full million. --threads sets the
// scheduler's max-threads (the driver runs 1 and one per core).
//
//   spawn_join      ns per spawn of an actor that sends its value to its
//                   parent and ends, + receiving that value
//   actor_pingpong  msgs/s between two actors bouncing a ball
//   call_roundtrip  ns per request(...).then(...) to an echo actor
//   actors_1m_idle  RSS bytes per idle event-based actor (1M actors)
//   skynet          1M actors in a 10-ary tree summing their ids, seconds
//   pipeline        msgs/s through source -> parse -> transform -> sink; CAF
//                   mailboxes are unbounded, so each hop is held to 64 messages
//                   in flight by credit (acks of 32)
//
// grove's several-hub benchmarks, run by the driver with one thread per core
// (CAF has no hubs: an actor is scheduled on the worker of whoever sent it a
// message and other workers steal; nothing here pins an actor to a thread):
//
//   cross_hub_pingpong  actor_pingpong, --threads workers
//   cross_hub_call      call_roundtrip, --threads workers
//   parallel_pingpong   total msgs/s of one ping-pong pair per worker, all at
//                       once; parallel_pingpong_ratio: over the same pairs in
//                       a second actor system with max-threads 1
//   skynet_hubs         skynet, --threads workers (it spreads its actors over
//                       every worker by itself)
//   hubs_idle_cpu       % of a CPU used over 2 s by the process, an echo actor
//                       having answered 1000 requests and waiting
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace caf;

using ball_atom = atom_constant<atom("ball")>;
using start_atom = atom_constant<atom("start")>;
using done_atom = atom_constant<atom("done")>;
using ping_atom = atom_constant<atom("ping")>;
using v_atom = atom_constant<atom("v")>;
using ack_atom = atom_constant<atom("ack")>;

namespace {

bool quick;

long size(long full, long small) { return quick ? small : full; }

double now_s() {
  auto t = std::chrono::steady_clock::now().time_since_epoch();
  return std::chrono::duration<double>(t).count();
}

long rss_bytes() {
  long pages = 0, res = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &res) != 2)
      res = 0;
    std::fclose(f);
  }
  return res * sysconf(_SC_PAGESIZE);
}

void report(const char* name, double value, const char* unit) {
  std::printf("%s %.*f %s\n", name, value >= 100 ? 0 : 2, value, unit);
  std::fflush(stdout);
}

[[noreturn]] void fail(const char* name, const char* why) {
  std::fprintf(stderr, "caf-peer: %s: %s\n", name, why);
  std::_Exit(1);
}

template <class F>
double best(int reps, bool lower, F fn) {
  if (quick)
    reps = 1;
  double b = fn();
  for (int i = 1; i < reps; i++) {
    double v = fn();
    if (lower ? v < b : v > b)
      b = v;
  }
  return b;
}

// ---- spawn_join ---------------------------------------------------------

void child(event_based_actor* self, actor parent, int64_t i) {
  self->send(parent, i); // no behavior: the actor ends here
}

struct spawner_state {
  int64_t i = 0, sum = 0;
};

behavior spawner(stateful_actor<spawner_state>* self, int64_t n, actor main) {
  self->spawn(child, actor_cast<actor>(self), int64_t{0});
  return {[=](int64_t v) {
    self->state.sum += v;
    if (++self->state.i == n) {
      self->send(main, done_atom::value, self->state.sum);
      self->quit();
    } else {
      self->spawn(child, actor_cast<actor>(self), self->state.i);
    }
  }};
}

void bench_spawn_join(actor_system& sys) {
  int64_t n = size(50000, 20000);
  double ns = best(5, true, [&] {
    scoped_actor main{sys};
    double t0 = now_s();
    sys.spawn(spawner, n, actor_cast<actor>(main));
    int64_t sum = 0;
    main->receive([&](done_atom, int64_t s) { sum = s; });
    double dt = now_s() - t0;
    if (sum != n * (n - 1) / 2)
      fail("spawn_join", "wrong sum");
    return dt * 1e9 / (double)n;
  });
  report("spawn_join", ns, "ns");
}

// ---- actor_pingpong ---------------------------------------------------------

behavior player(event_based_actor* self, int64_t n, actor main) {
  return {
      [=](start_atom, const actor& peer) { self->send(peer, ball_atom::value, int64_t{1}); },
      [=](ball_atom, int64_t hits) {
        if (hits == n) {
          self->send(main, done_atom::value);
          return;
        }
        self->send(actor_cast<actor>(self->current_sender()), ball_atom::value, hits + 1);
      },
  };
}

void actor_pingpong(actor_system& sys, const char* name) {
  int64_t n = size(500000, 100000);
  double rate = best(3, false, [&] {
    scoped_actor main{sys};
    auto a = sys.spawn(player, n, actor_cast<actor>(main));
    auto b = sys.spawn(player, n, actor_cast<actor>(main));
    double t0 = now_s();
    main->send(a, start_atom::value, b);
    main->receive([](done_atom) {});
    double dt = now_s() - t0;
    anon_send_exit(a, exit_reason::user_shutdown);
    anon_send_exit(b, exit_reason::user_shutdown);
    return (double)n / dt;
  });
  report(name, rate / 1e6, "M msgs/s");
}

void bench_actor_pingpong(actor_system& sys) { actor_pingpong(sys, "actor_pingpong"); }

// ---- call_roundtrip -------------------------------------------------------------

behavior echo(event_based_actor*) {
  return {[](ping_atom, int64_t i) { return i; }};
}

void call_loop(event_based_actor* self, actor server, int64_t i, int64_t n, actor main) {
  if (i == n) {
    self->send(main, done_atom::value);
    self->quit();
    return;
  }
  self->request(server, infinite, ping_atom::value, i).then([=](int64_t r) {
    if (r != i)
      fail("call_roundtrip", "wrong reply");
    call_loop(self, server, i + 1, n, main);
  });
}

behavior caller(event_based_actor* self, actor server, int64_t n, actor main) {
  call_loop(self, server, 0, n, main);
  return {[](done_atom) {}}; // stays alive while its requests are out
}

void call_roundtrip(actor_system& sys, const char* name) {
  int64_t n = size(250000, 50000);
  auto server = sys.spawn(echo);
  double ns = best(3, true, [&] {
    scoped_actor main{sys};
    double t0 = now_s();
    sys.spawn(caller, server, n, actor_cast<actor>(main));
    main->receive([](done_atom) {});
    return (now_s() - t0) * 1e9 / (double)n;
  });
  anon_send_exit(server, exit_reason::user_shutdown);
  report(name, ns, "ns");
}

void bench_call_roundtrip(actor_system& sys) { call_roundtrip(sys, "call_roundtrip"); }

// ---- actors_1m_idle ----------------------------------------------------------------

std::atomic<long> idle_started;

behavior idle(event_based_actor*) {
  idle_started++;
  return {[](ping_atom) {}};
}

void bench_actors_1m_idle(actor_system& sys) {
  long n = size(1000000, 100000);
  std::vector<actor> actors;
  actors.reserve(n);
  long rss0 = rss_bytes();
  for (long i = 0; i < n; i++)
    actors.push_back(sys.spawn(idle));
  while (idle_started < n) // every one has run its init
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  long rss1 = rss_bytes();
  for (auto& a : actors)
    anon_send_exit(a, exit_reason::user_shutdown);
  actors.clear();
  sys.await_all_actors_done();
  // the handles were reserved before rss0: they are not counted
  report("actors_1m_idle", (double)(rss1 - rss0) / (double)n, "B/actor");
}

// ---- skynet ----------------------------------------------------------------------------

struct sky_state {
  int64_t sum = 0;
  int pending = 10;
};

behavior skynet(stateful_actor<sky_state>* self, actor parent, int64_t num, int64_t size) {
  if (size == 1) {
    self->send(parent, num);
    return {}; // no behavior: the actor ends
  }
  int64_t step = size / 10;
  for (int64_t i = 0; i < 10; i++)
    self->spawn(skynet, actor_cast<actor>(self), num + i * step, step);
  return {[=](int64_t v) {
    self->state.sum += v;
    if (--self->state.pending == 0) {
      self->send(parent, self->state.sum);
      self->quit();
    }
  }};
}

void skynet_run(actor_system& sys, const char* name) {
  int64_t n = size(1000000, 100000);
  double s = best(1, true, [&] { // seconds each: one per process
    scoped_actor main{sys};
    double t0 = now_s();
    sys.spawn(skynet, actor_cast<actor>(main), int64_t{0}, n);
    int64_t sum = -1;
    main->receive([&](int64_t v) { sum = v; });
    double dt = now_s() - t0;
    if (sum != n * (n - 1) / 2)
      fail(name, "wrong sum");
    return dt;
  });
  report(name, s, "s");
}

void bench_skynet(actor_system& sys) { skynet_run(sys, "skynet"); }

// ---- pipeline ------------------------------------------------------------------------------

constexpr int window = 64, ack_every = 32;

// A stage forwards f(v) downstream while it has credit; every 32 messages it
// has passed on, it gives its upstream 32 credits back. So each hop holds at
// most 64 messages (mailbox + the stage's buffer), as a bounded inbox would.
struct stage_state {
  std::deque<int64_t> buf;
  actor upstream;
  int credit = window, passed = 0;
  int64_t left = 0;
};

behavior stage(stateful_actor<stage_state>* self, actor next, int op, int64_t n) {
  self->state.left = n;
  auto flush = [=] {
    auto& st = self->state;
    while (st.credit > 0 && !st.buf.empty()) {
      int64_t v = st.buf.front();
      st.buf.pop_front();
      self->send(next, v_atom::value, op == 0 ? v + 1 : v * 2);
      st.credit--;
      if (++st.passed == ack_every) {
        self->send(st.upstream, ack_atom::value, ack_every);
        st.passed = 0;
      }
      if (--st.left == 0)
        self->quit();
    }
  };
  return {
      [=](v_atom, int64_t v) {
        self->state.upstream = actor_cast<actor>(self->current_sender());
        self->state.buf.push_back(v);
        flush();
      },
      [=](ack_atom, int k) {
        self->state.credit += k;
        flush();
      },
  };
}

struct sink_state {
  int64_t acc = 0, left = 0;
  int taken = 0;
};

behavior sink(stateful_actor<sink_state>* self, int64_t n, actor main) {
  self->state.left = n;
  return {[=](v_atom, int64_t v) {
    auto& st = self->state;
    st.acc += v;
    if (++st.taken == ack_every) {
      self->send(actor_cast<actor>(self->current_sender()), ack_atom::value, ack_every);
      st.taken = 0;
    }
    if (--st.left == 0) {
      self->send(main, done_atom::value, st.acc);
      self->quit();
    }
  }};
}

struct source_state {
  int64_t i = 0;
};

behavior source(stateful_actor<source_state>* self, actor next, int64_t n) {
  auto send_up_to = [=](int credit) {
    for (; credit > 0 && self->state.i < n; credit--)
      self->send(next, v_atom::value, self->state.i++);
    if (self->state.i == n)
      self->quit();
  };
  send_up_to(window);
  return {[=](ack_atom, int k) { send_up_to(k); }};
}

void bench_pipeline(actor_system& sys) {
  int64_t n = size(500000, 100000);
  double rate = best(3, false, [&] {
    scoped_actor main{sys};
    auto snk = sys.spawn(sink, n, actor_cast<actor>(main));
    auto transform = sys.spawn(stage, snk, 1, n);
    auto parse = sys.spawn(stage, transform, 0, n);
    double t0 = now_s();
    sys.spawn(source, parse, n);
    int64_t sum = -1;
    main->receive([&](done_atom, int64_t s) { sum = s; });
    double dt = now_s() - t0;
    if (sum != n * (n + 1)) // sum of 2*(i+1)
      fail("pipeline", "wrong sum");
    return 3.0 * (double)n / dt; // messages delivered between stages
  });
  report("pipeline", rate / 1e6, "M msgs/s");
}

// ---- grove's several-hub benchmarks ---------------------------------------------------

long threads; // --threads (0: CAF's default, one per core)

void bench_cross_hub_pingpong(actor_system& sys) { actor_pingpong(sys, "cross_hub_pingpong"); }

void bench_cross_hub_call(actor_system& sys) { call_roundtrip(sys, "cross_hub_call"); }

void bench_skynet_hubs(actor_system& sys) { skynet_run(sys, "skynet_hubs"); }

// `pairs` pairs of players, all balls thrown at once: seconds until the last
// pair is done.
double run_pairs(actor_system& sys, long pairs, int64_t n) {
  scoped_actor main{sys};
  std::vector<actor> ps;
  for (long i = 0; i < 2 * pairs; i++)
    ps.push_back(sys.spawn(player, n, actor_cast<actor>(main)));
  double t0 = now_s();
  for (long i = 0; i < pairs; i++)
    main->send(ps[2 * i], start_atom::value, ps[2 * i + 1]);
  for (long i = 0; i < pairs; i++)
    main->receive([](done_atom) {});
  double dt = now_s() - t0;
  for (auto& p : ps)
    anon_send_exit(p, exit_reason::user_shutdown);
  return dt;
}

void bench_parallel_pingpong(actor_system& sys) {
  int64_t n = size(500000, 100000);
  long pairs = threads > 0 ? threads : (long)std::thread::hardware_concurrency();
  double one;
  { // the same pairs in an actor system of one thread
    actor_system_config cfg1;
    cfg1.set("scheduler.max-threads", 1);
    actor_system sys1{cfg1};
    one = best(3, false, [&] { return (double)(pairs * n) / run_pairs(sys1, pairs, n); });
    sys1.await_all_actors_done();
  }
  double all = best(3, false, [&] { return (double)(pairs * n) / run_pairs(sys, pairs, n); });
  report("parallel_pingpong", all / 1e6, "M msgs/s");
  report("parallel_pingpong_ratio", all / one, "x");
}

double cpu_s() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void bench_hubs_idle_cpu(actor_system& sys) {
  auto server = sys.spawn(echo);
  {
    scoped_actor main{sys};
    for (int64_t i = 0; i < 1000; i++) // a little traffic first, as grove-bench does
      main->request(server, infinite, ping_atom::value, i)
          .receive(
              [&](int64_t r) {
                if (r != i)
                  fail("hubs_idle_cpu", "wrong reply");
              },
              [&](error&) { fail("hubs_idle_cpu", "request failed"); });
  }
  double secs = quick ? 1.0 : 2.0;
  double c0 = cpu_s(), t0 = now_s();
  std::this_thread::sleep_for(std::chrono::duration<double>(secs));
  double pct = (cpu_s() - c0) / (now_s() - t0) * 100.0;
  anon_send_exit(server, exit_reason::user_shutdown);
  report("hubs_idle_cpu", pct, "%");
}

} // namespace

int main(int argc, char** argv) {
  const struct {
    const char* name;
    void (*fn)(actor_system&);
  } benches[] = {
      {"spawn_join", bench_spawn_join},
      {"actor_pingpong", bench_actor_pingpong},
      {"call_roundtrip", bench_call_roundtrip},
      {"actors_1m_idle", bench_actors_1m_idle},
      {"skynet", bench_skynet},
      {"pipeline", bench_pipeline},
      {"cross_hub_pingpong", bench_cross_hub_pingpong},
      {"cross_hub_call", bench_cross_hub_call},
      {"parallel_pingpong", bench_parallel_pingpong},
      {"skynet_hubs", bench_skynet_hubs},
      {"hubs_idle_cpu", bench_hubs_idle_cpu},
  };
  std::vector<std::string> names;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = std::atol(argv[++i]);
    else
      names.emplace_back(argv[i]);
  }
  for (auto& name : names) {
    bool known = false;
    for (auto& b : benches)
      known |= name == b.name;
    if (!known) {
      std::fprintf(stderr, "caf-peer: unknown benchmark %s\n", name.c_str());
      return 2;
    }
  }
  actor_system_config cfg;
  if (threads > 0)
    cfg.set("scheduler.max-threads", threads);
  actor_system sys{cfg};
  for (auto& b : benches) {
    bool want = names.empty();
    for (auto& name : names)
      want |= name == b.name;
    if (want) {
      b.fn(sys);
      sys.await_all_actors_done();
    }
  }
  return 0;
}
