//! The Tokio peer of schedrt-bench's `spawn_blocking_roundtrip` (bench/bench.c):
//! a task on a 2-worker runtime awaits 1,000 `spawn_blocking` jobs one after
//! another; main waits for it on a std channel inside `block_on`, as the
//! chained_spawn port does. Same timing loop and output as
//! ../shared/bench/tokio-bench (beside the project): `tokio <workload> <median_ns_per_iter> <ns_per_op>`.
//! Env: BENCH_WARMUP_ITERS (5), BENCH_WARMUP_MS (200), BENCH_MIN_ITERS (51),
//!      BENCH_MIN_MS (500), BENCH_MAX_ITERS (100000), BENCH_WORKERS (2).

use std::sync::mpsc;
use std::time::{Duration, Instant};

const ITER: usize = 1_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Warm up, then time each iteration of `body` separately; return the median.
fn measure<F: FnMut()>(mut body: F) -> f64 {
    let warmup_iters = env_u64("BENCH_WARMUP_ITERS", 5) as usize;
    let warmup = Duration::from_millis(env_u64("BENCH_WARMUP_MS", 200));
    let min_iters = env_u64("BENCH_MIN_ITERS", 51) as usize;
    let min_time = Duration::from_millis(env_u64("BENCH_MIN_MS", 500));
    let max_iters = env_u64("BENCH_MAX_ITERS", 100_000) as usize;
    let t0 = Instant::now();
    let mut n = 0;
    while n < warmup_iters || t0.elapsed() < warmup {
        body();
        n += 1;
    }
    let mut samples: Vec<u64> = Vec::with_capacity(min_iters);
    let t0 = Instant::now();
    while samples.len() < min_iters || (t0.elapsed() < min_time && samples.len() < max_iters) {
        let t = Instant::now();
        body();
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    let m = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[m] as f64
    } else {
        (samples[m - 1] + samples[m]) as f64 / 2.0
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(env_u64("BENCH_WORKERS", 2) as usize)
        .enable_all()
        .build()
        .unwrap();
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    let median = measure(|| {
        let done_tx = done_tx.clone();
        rt.block_on(async {
            tokio::spawn(async move {
                for i in 0..ITER {
                    let r = tokio::task::spawn_blocking(move || std::hint::black_box(i))
                        .await
                        .unwrap();
                    assert_eq!(r, i);
                }
                done_tx.send(()).unwrap();
            });
            done_rx.recv().unwrap();
        });
    });
    println!(
        "tokio spawn_blocking_roundtrip {:.0} {:.1}",
        median,
        median / ITER as f64
    );
}
