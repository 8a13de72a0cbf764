//! The whole-process figure of section 1: each side runs in a process of its own, on a
//! multi-thread runtime built as `#[tokio::main]` builds it, and reports the CPU time its whole
//! process used (every thread: the caller's, the runtime's workers, reqwest's connection tasks).
//! The loopback server stays in the parent process, so none of its work is counted.
//!
//! Each round, the parent starts one child per side (`worker <base URL> <side>`) and asks every
//! child in turn, in a rotating order, for a batch of calls to warm up (not counted) and then for
//! the batch that counts; a child answers with what a batch cost its process. Only one child
//! works at a time. Fresh processes each round, so that what stays fixed for a process's life
//! (where its memory lies, which connections it opened) varies between samples instead of
//! favouring one side for the whole run.
//!
//! With `CLERK_BENCH_BASELINE` set to another build of this benchmark (an earlier commit's, say),
//! that build's facade with the default policy runs as a fourth side in the same rounds, so that
//! a change is measured before and after in one run.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

use super::{Side, drive, median, micros};

/// Rounds, unless `CLERK_BENCH_ROUNDS` says otherwise: 20
/// rounds make the 20,000 calls per side of the issue; on a busy machine more rounds steady the
/// ratios.
const ROUNDS: usize = 20;
/// Calls per side in each round.
const CALLS: usize = 1_000;
/// Calls each fresh process makes first, not counted: connections, caches, the allocator.
const WARM_UP: usize = 300;

/// CPU time (user + system) this process has used, all threads together.
fn process_cpu() -> Duration {
    // SAFETY: `getrusage` fills the struct it is given; an all-zero `rusage` is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a pointer to a live struct.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(status, 0, "getrusage");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The child: runs batches of calls for one side as the parent asks, on a multi-thread runtime.
/// Reads a number of calls per line on stdin and answers `<cpu ns> <wall ns>` per line.
pub fn worker(base: &str, side: &str) {
    let side = Side::parse(side);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    let caller = side.caller(base);
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let calls: usize = line.expect("a line").trim().parse().expect("a number");
        let (wall, cpu) = (Instant::now(), process_cpu());
        runtime.block_on(drive(calls, &caller));
        let (cpu, wall) = (process_cpu() - cpu, wall.elapsed());
        writeln!(stdout, "{} {}", cpu.as_nanos(), wall.as_nanos()).expect("stdout");
        stdout.flush().expect("stdout");
    }
}

struct Worker {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Worker {
    fn start(program: &Path, base: &str, side: Side) -> Worker {
        let mut child = Command::new(program)
            .args(["worker", base, side.name()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a worker process");
        let input = child.stdin.take().expect("piped stdin");
        let output = BufReader::new(child.stdout.take().expect("piped stdout"));
        Worker {
            child,
            input,
            output,
        }
    }

    /// Has the child make `calls` calls; what they cost its process (CPU, wall).
    fn batch(&mut self, calls: usize) -> (Duration, Duration) {
        writeln!(self.input, "{calls}").expect("worker stdin");
        self.input.flush().expect("worker stdin");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("worker stdout");
        let mut fields = line
            .split_whitespace()
            .map(|f| f.parse::<u64>().expect("ns"));
        let (cpu, wall) = (fields.next().expect("cpu"), fields.next().expect("wall"));
        (Duration::from_nanos(cpu), Duration::from_nanos(wall))
    }

    fn stop(self) {
        let Worker {
            mut child, input, ..
        } = self;
        drop(input);
        child.wait().expect("the worker ends");
    }
}

/// Runs the comparison against the server at `base` and prints per-call figures and ratios.
pub fn compare(base: &str) {
    let this = std::env::current_exe().expect("this benchmark's path");
    // (label, program, side), the floor last.
    let mut sides: Vec<(String, PathBuf, Side)> = Side::ALL
        .iter()
        .map(|&side| (side.label().to_owned(), this.clone(), side))
        .collect();
    if let Some(baseline) = std::env::var_os("CLERK_BENCH_BASELINE") {
        let side = (
            "default policy, baseline build".to_owned(),
            PathBuf::from(baseline),
            Side::DefaultPolicy,
        );
        sides.insert(0, side);
    }
    let mut cpu: Vec<Vec<Duration>> = vec![Vec::new(); sides.len()];
    let mut wall: Vec<Vec<Duration>> = vec![Vec::new(); sides.len()];
    let mut total: Vec<Duration> = vec![Duration::ZERO; sides.len()];
    let rounds = std::env::var("CLERK_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS);
    for round in 0..rounds {
        let mut workers: Vec<Worker> = sides
            .iter()
            .map(|(_, program, side)| Worker::start(program, base, *side))
            .collect();
        for turn in 0..sides.len() {
            let side = (round + turn) % sides.len();
            workers[side].batch(WARM_UP);
        }
        for turn in 0..sides.len() {
            let side = (round + turn) % sides.len();
            let (c, w) = workers[side].batch(CALLS);
            cpu[side].push(c / CALLS as u32);
            wall[side].push(w / CALLS as u32);
            total[side] += c;
        }
        for worker in workers {
            worker.stop();
        }
    }
    let floor = sides.len() - 1;
    let (floor_cpu, floor_total) = (median(cpu[floor].clone()), total[floor]);
    println!(
        "one role, 8 in flight, each side in a process of its own on a multi-thread runtime, \
         {} calls per side in {rounds} interleaved rounds, process CPU (user + system):",
        rounds * CALLS
    );
    for (i, (label, _, _)) in sides.iter().enumerate() {
        let median_cpu = median(cpu[i].clone());
        println!(
            "  {label:<30} CPU {} per call (median round) | ratio {:.3} | all rounds ratio {:.3} | wall {}",
            micros(median_cpu),
            median_cpu.as_secs_f64() / floor_cpu.as_secs_f64(),
            total[i].as_secs_f64() / floor_total.as_secs_f64(),
            micros(median(wall[i].clone())),
        );
    }
    println!();
}
