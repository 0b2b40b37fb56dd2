// Peer of schedrt-bench's channel_mpsc: 4 producer goroutines x 10,000
// messages through make(chan int, 64) into one consumer goroutine, with
// GOMAXPROCS=2; an iteration makes the channel, starts the goroutines and
// waits for the consumer, which ends when the last producer closed its side
// (a WaitGroup, then close: Go channels have no counted senders). Same timing
// loop and output as schedrt-bench: `go channel_mpsc <median_ns_per_iter> <ns_per_op>`.
// Env: BENCH_WARMUP_ITERS (5), BENCH_WARMUP_MS (200), BENCH_MIN_ITERS (51),
//      BENCH_MIN_MS (500), BENCH_MAX_ITERS (100000).
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
)

const (
	producers = 4
	messages  = 10_000
	capacity  = 64
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func body() {
	ch := make(chan int, capacity)
	done := make(chan int)
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	var wg sync.WaitGroup
	wg.Add(producers)
	for p := 0; p < producers; p++ {
		go func() {
			for i := 0; i < messages; i++ {
				ch <- i + 1
			}
			wg.Done()
		}()
	}
	go func() { wg.Wait(); close(ch) }()
	if n := <-done; n != producers*messages {
		panic("messages lost")
	}
}

func main() {
	runtime.GOMAXPROCS(2)
	warmupIters := envInt("BENCH_WARMUP_ITERS", 5)
	warmup := time.Duration(envInt("BENCH_WARMUP_MS", 200)) * time.Millisecond
	minIters := envInt("BENCH_MIN_ITERS", 51)
	minTime := time.Duration(envInt("BENCH_MIN_MS", 500)) * time.Millisecond
	maxIters := envInt("BENCH_MAX_ITERS", 100_000)
	t0 := time.Now()
	for n := 0; n < warmupIters || time.Since(t0) < warmup; n++ {
		body()
	}
	var s []float64
	t0 = time.Now()
	for len(s) < minIters || (time.Since(t0) < minTime && len(s) < maxIters) {
		t := time.Now()
		body()
		s = append(s, float64(time.Since(t).Nanoseconds()))
	}
	sort.Float64s(s)
	k := len(s)
	median := s[k/2]
	if k%2 == 0 {
		median = (s[k/2-1] + s[k/2]) / 2
	}
	fmt.Printf("go channel_mpsc %.0f %.1f\n", median, median/float64(producers*messages))
}
