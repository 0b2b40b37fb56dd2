// Peer of schedrt-bench's channel_mpsc: 4 producer tasks x 10,000 messages
// through tokio::sync::mpsc::channel(64) into one consumer task, on a
// multi-thread runtime of 2 workers; an iteration creates the channel, spawns
// the tasks from block_on and awaits the consumer. Same timing loop and
// output as schedrt-bench: `tokio channel_mpsc <median_ns_per_iter> <ns_per_op>`.
// Env: BENCH_WARMUP_ITERS (5), BENCH_WARMUP_MS (200), BENCH_MIN_ITERS (51),
//      BENCH_MIN_MS (500), BENCH_MAX_ITERS (100000).
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const PRODUCERS: usize = 4;
const MESSAGES: usize = 10_000;
const CAPACITY: usize = 64;

fn env(name: &str, def: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(def)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let body = || {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<usize>(CAPACITY);
            let consumer = tokio::spawn(async move {
                let mut n = 0usize;
                while rx.recv().await.is_some() {
                    n += 1;
                }
                n
            });
            for _ in 0..PRODUCERS {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..MESSAGES {
                        tx.send(i + 1).await.unwrap();
                    }
                });
            }
            drop(tx);
            let n = consumer.await.unwrap();
            assert_eq!(n, PRODUCERS * MESSAGES);
        })
    };
    let warmup_iters = env("BENCH_WARMUP_ITERS", 5);
    let warmup = Duration::from_millis(env("BENCH_WARMUP_MS", 200));
    let min_iters = env("BENCH_MIN_ITERS", 51) as usize;
    let min_time = Duration::from_millis(env("BENCH_MIN_MS", 500));
    let max_iters = env("BENCH_MAX_ITERS", 100_000) as usize;
    let t0 = Instant::now();
    let mut n = 0;
    while n < warmup_iters || t0.elapsed() < warmup {
        body();
        n += 1;
    }
    let mut samples: Vec<u128> = Vec::new();
    let t0 = Instant::now();
    while samples.len() < min_iters || (t0.elapsed() < min_time && samples.len() < max_iters) {
        let t = Instant::now();
        body();
        samples.push(t.elapsed().as_nanos());
    }
    samples.sort_unstable();
    let k = samples.len();
    let median = if k % 2 == 1 {
        samples[k / 2] as f64
    } else {
        (samples[k / 2 - 1] + samples[k / 2]) as f64 / 2.0
    };
    println!("tokio channel_mpsc {:.0} {:.1}", median, median / (PRODUCERS * MESSAGES) as f64);
}
