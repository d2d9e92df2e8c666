// go-peer: grove-bench's benchmarks written the Go way, with goroutines and
// channels, for the side-by-side comparison (scripts/bench.sh).
//
//	go-peer [--quick] NAME...
//
// Prints `NAME VALUE UNIT` lines exactly as grove-bench does, with the same
// names, units, sizes and repetitions (each figure is the best of its
// repetitions; one with --quick, and one skynet per process), and exits
// non-zero if a result is wrong. GOMAXPROCS is taken
// from the environment; the driver runs it with GOMAXPROCS=1 and the default.
//
//	yield           ns per runtime.Gosched() between two goroutines
//	spawn_join      ns per `go f(i)` + run + exit + receive its result
//	queue_pingpong  msgs/s between two goroutines over two unbuffered channels
//	greenlets_1m    1M goroutines blocked on one channel: RSS bytes each, and
//	                the time to start them (greenlets_1m_spawn)
//	actor_pingpong  msgs/s between two goroutine "actors" with inbox channels
//	call_roundtrip  ns per request carrying its own reply channel + the reply
//	actors_1m_idle  RSS bytes per idle actor (goroutine blocked on its inbox)
//	skynet          1M goroutines in a 10-ary tree summing their ids, seconds
//	pipeline        msgs/s through source -> parse -> transform -> sink,
//	                channels buffered to 64
//
// grove's several-hub benchmarks, run by the driver with the default
// GOMAXPROCS only (Go has no hubs: its scheduler places the goroutines on
// the Ps as it likes, and cannot be told to keep two on two cores):
//
//	cross_hub_pingpong  msgs/s between two goroutines over two unbuffered
//	                    channels (queue_pingpong's loop, grove-bench's count)
//	cross_hub_call      call_roundtrip, under the default GOMAXPROCS
//	parallel_pingpong   total msgs/s of one such pair per P (GOMAXPROCS of
//	                    them, all at once); parallel_pingpong_ratio: over the
//	                    same pairs run with runtime.GOMAXPROCS(1)
//	skynet_hubs         skynet under the default GOMAXPROCS (it spreads its
//	                    goroutines over every P by itself)
//	hubs_idle_cpu       % of a CPU used over 2 s by a process whose server
//	                    goroutine has answered 1000 calls and waits
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

var quick bool

// size returns the full-mode or the quick-mode size, as grove-bench uses.
func size(full, small int) int {
	if quick {
		return small
	}
	return full
}

func report(name string, value float64, unit string) {
	if value >= 100 {
		fmt.Printf("%s %.0f %s\n", name, value, unit)
	} else {
		fmt.Printf("%s %.2f %s\n", name, value, unit)
	}
}

func fail(name, why string) {
	fmt.Fprintf(os.Stderr, "go-peer: %s: %s\n", name, why)
	os.Exit(1)
}

func rssBytes() int64 {
	var pages, res int64
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0
	}
	defer f.Close()
	fmt.Fscan(f, &pages, &res)
	return res * int64(os.Getpagesize())
}

// best runs fn reps times (once with --quick) and keeps the smallest
// (lower=true) or the largest value.
func best(reps int, lower bool, fn func() float64) float64 {
	if quick {
		reps = 1
	}
	b := fn()
	for i := 1; i < reps; i++ {
		v := fn()
		if (lower && v < b) || (!lower && v > b) {
			b = v
		}
	}
	return b
}

func benchYield() {
	n := size(2000000, 200000)
	ns := best(3, true, func() float64 {
		var wg sync.WaitGroup
		t0 := time.Now()
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					runtime.Gosched()
				}
			}()
		}
		wg.Wait()
		return float64(time.Since(t0).Nanoseconds()) / float64(2*n)
	})
	report("yield", ns, "ns")
}

func benchSpawnJoin() {
	n := size(100000, 20000)
	ns := best(5, true, func() float64 {
		res := make(chan int)
		sum := 0
		t0 := time.Now()
		for i := 0; i < n; i++ {
			go func(i int) { res <- i }(i)
			sum += <-res
		}
		dt := time.Since(t0)
		if sum != n*(n-1)/2 {
			fail("spawn_join", "wrong sum")
		}
		return float64(dt.Nanoseconds()) / float64(n)
	})
	report("spawn_join", ns, "ns")
}

func benchQueuePingpong() {
	n := size(2000000, 200000)
	rate := best(3, false, func() float64 {
		ping, pong := make(chan int), make(chan int)
		go func() {
			for i := 0; i < n; i++ {
				pong <- <-ping
			}
		}()
		t0 := time.Now()
		for i := 1; i <= n; i++ {
			ping <- i
			if <-pong != i {
				fail("queue_pingpong", "wrong reply")
			}
		}
		return 2 * float64(n) / time.Since(t0).Seconds()
	})
	report("queue_pingpong", rate/1e6, "M msgs/s")
}

func benchGreenlets1M() {
	n := size(1000000, 100000)
	done := make(chan struct{})
	var started, woken sync.WaitGroup
	runtime.GC()
	rss0 := rssBytes()
	t0 := time.Now()
	started.Add(n)
	woken.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-done // blocked, as on an Event
			woken.Done()
		}()
	}
	started.Wait()
	dt := time.Since(t0)
	runtime.Gosched()
	rss1 := rssBytes()
	close(done)
	woken.Wait()
	report("greenlets_1m", float64(rss1-rss0)/float64(n), "B/greenlet")
	report("greenlets_1m_spawn", dt.Seconds(), "s")
}

// An actor is a goroutine that owns an inbox channel.
type ball struct{ hits int }

func benchActorPingpong() {
	n := size(2000000, 200000)
	rate := best(3, false, func() float64 {
		a, b := make(chan ball, 16), make(chan ball, 16)
		done := make(chan struct{})
		player := func(inbox, peer chan ball) {
			for m := range inbox {
				if m.hits == n {
					close(done)
					return
				}
				peer <- ball{m.hits + 1}
			}
		}
		go player(a, b)
		go player(b, a)
		t0 := time.Now()
		a <- ball{1}
		<-done
		dt := time.Since(t0)
		close(a)
		close(b)
		return float64(n) / dt.Seconds()
	})
	report("actor_pingpong", rate/1e6, "M msgs/s")
}

type request struct {
	arg   int
	reply chan int
}

func benchCallRoundtrip() { callRoundtrip("call_roundtrip") }

func callRoundtrip(name string) {
	n := size(1000000, 100000)
	server := make(chan request)
	go func() {
		for r := range server {
			r.reply <- r.arg
		}
	}()
	ns := best(3, true, func() float64 {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			r := request{i, make(chan int, 1)}
			server <- r
			if <-r.reply != i {
				fail(name, "wrong reply")
			}
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(n)
	})
	close(server)
	report(name, ns, "ns")
}

func benchActors1MIdle() {
	n := size(1000000, 100000)
	inboxes := make([]chan ball, n)
	var started, ended sync.WaitGroup
	runtime.GC()
	rss0 := rssBytes()
	started.Add(n)
	ended.Add(n)
	for i := range inboxes {
		inboxes[i] = make(chan ball, 1)
		go func(inbox chan ball) {
			started.Done() // "init" has run
			for range inbox {
			}
			ended.Done()
		}(inboxes[i])
	}
	started.Wait()
	runtime.Gosched()
	rss1 := rssBytes()
	for _, c := range inboxes {
		close(c)
	}
	ended.Wait()
	// the slice of inbox references (8 B each) is the benchmark's, not the actors'
	per := float64(rss1-rss0-int64(n)*8) / float64(n)
	report("actors_1m_idle", per, "B/actor")
}

func skynet(c chan int64, num, size int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	step := size / 10
	for i := int64(0); i < 10; i++ {
		go skynet(rc, num+i*step, step)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

func benchSkynet() { skynetRun("skynet") }

func skynetRun(name string) {
	n := int64(size(1000000, 100000))
	s := best(1, true, func() float64 { // seconds each: one per process
		c := make(chan int64)
		t0 := time.Now()
		go skynet(c, 0, n)
		sum := <-c
		dt := time.Since(t0)
		if sum != n*(n-1)/2 {
			fail(name, "wrong sum")
		}
		return dt.Seconds()
	})
	report(name, s, "s")
}

func benchPipeline() {
	n := size(2000000, 200000)
	rate := best(3, false, func() float64 {
		parse, transform, sink := make(chan int64, 64), make(chan int64, 64), make(chan int64, 64)
		result := make(chan int64)
		go func() {
			for v := range parse {
				transform <- v + 1
			}
			close(transform)
		}()
		go func() {
			for v := range transform {
				sink <- v * 2
			}
			close(sink)
		}()
		go func() {
			var acc int64
			for v := range sink {
				acc += v
			}
			result <- acc
		}()
		t0 := time.Now()
		for i := 0; i < n; i++ {
			parse <- int64(i)
		}
		close(parse)
		sum := <-result
		dt := time.Since(t0)
		if sum != int64(n)*int64(n+1) { // sum of 2*(i+1)
			fail("pipeline", "wrong sum")
		}
		return 3 * float64(n) / dt.Seconds() // messages delivered between stages
	})
	report("pipeline", rate/1e6, "M msgs/s")
}

// ---- grove's several-hub benchmarks ----------------------------------------------

// runPairs runs `pairs` ping-pong pairs at once, n messages each (two
// goroutines, two unbuffered channels), and returns the wall time until the
// last pair ends.
func runPairs(name string, pairs, n int) float64 {
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(pairs)
	done.Add(pairs)
	for p := 0; p < pairs; p++ {
		ping, pong := make(chan int), make(chan int)
		go func() {
			for v := range ping {
				pong <- v + 1
			}
		}()
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			for i := 0; i < n/2; i++ {
				ping <- i
				if <-pong != i+1 {
					fail(name, "wrong reply")
				}
			}
			close(ping)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return time.Since(t0).Seconds()
}

func benchCrossHubPingpong() {
	n := size(2000000, 200000)
	rate := best(3, false, func() float64 {
		return float64(n) / runPairs("cross_hub_pingpong", 1, n)
	})
	report("cross_hub_pingpong", rate/1e6, "M msgs/s")
}

func benchCrossHubCall() { callRoundtrip("cross_hub_call") }

func benchParallelPingpong() {
	n := size(2000000, 200000)
	procs := runtime.GOMAXPROCS(0)
	pairs := procs
	measure := func() float64 {
		return best(3, false, func() float64 {
			return float64(pairs*n) / runPairs("parallel_pingpong", pairs, n)
		})
	}
	runtime.GOMAXPROCS(1) // the same pairs on one P
	one := measure()
	runtime.GOMAXPROCS(procs)
	all := measure()
	report("parallel_pingpong", all/1e6, "M msgs/s")
	report("parallel_pingpong_ratio", all/one, "x")
}

func benchSkynetHubs() { skynetRun("skynet_hubs") }

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		fail("hubs_idle_cpu", "getrusage failed")
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func benchHubsIdleCPU() {
	server := make(chan request)
	go func() {
		for r := range server {
			r.reply <- r.arg
		}
	}()
	for i := 0; i < 1000; i++ { // a little traffic first, as grove-bench does
		r := request{i, make(chan int, 1)}
		server <- r
		if <-r.reply != i {
			fail("hubs_idle_cpu", "wrong reply")
		}
	}
	secs := 2.0
	if quick {
		secs = 1.0
	}
	c0, t0 := cpuSeconds(), time.Now()
	time.Sleep(time.Duration(secs * float64(time.Second)))
	pct := (cpuSeconds() - c0) / time.Since(t0).Seconds() * 100
	close(server)
	report("hubs_idle_cpu", pct, "%")
}

func main() {
	benches := []struct {
		name string
		fn   func()
	}{
		{"yield", benchYield},
		{"spawn_join", benchSpawnJoin},
		{"queue_pingpong", benchQueuePingpong},
		{"greenlets_1m", benchGreenlets1M},
		{"actor_pingpong", benchActorPingpong},
		{"call_roundtrip", benchCallRoundtrip},
		{"actors_1m_idle", benchActors1MIdle},
		{"skynet", benchSkynet},
		{"pipeline", benchPipeline},
		{"cross_hub_pingpong", benchCrossHubPingpong},
		{"cross_hub_call", benchCrossHubCall},
		{"parallel_pingpong", benchParallelPingpong},
		{"skynet_hubs", benchSkynetHubs},
		{"hubs_idle_cpu", benchHubsIdleCPU},
	}
	var names []string
	for _, a := range os.Args[1:] {
		if a == "--quick" {
			quick = true
		} else {
			names = append(names, a)
		}
	}
	for _, name := range names {
		found := false
		for _, b := range benches {
			if b.name == name {
				b.fn()
				found = true
			}
		}
		if !found {
			fmt.Fprintf(os.Stderr, "go-peer: unknown benchmark %s\n", name)
			os.Exit(2)
		}
	}
	if len(names) == 0 {
		for _, b := range benches {
			b.fn()
		}
	}
}
