//! Fleet benchmark: 50 targets, each its own simulator with Clerk's rate limits (100 requests
//! per 10 s for the development keys used here) and its own client paced to that limit. Two
//! changes are applied to the whole fleet: a small one (two requests per target) and a
//! 200-request one (200 permissions created per target). Each fleet apply is compared with the
//! same change applied to one target alone, measured in the same run, interleaved (alone,
//! fleet, alone, fleet, ...): all targets hold the same state and get the same change, so the
//! lone target stands for the slowest one. Peak heap (a counting global allocator; the 50
//! simulators live in this process and count too) and 429 answers (at the simulators, and
//! surfaced in the reports) are printed with the times. See `BENCHMARKS.md`, "Fleets".
//!
//! `cargo bench -p clerk-rbac-sync --bench fleet` (about two minutes).
//! `CLERK_RBAC_BENCH_TARGETS=10` runs a smaller fleet. `CLERK_RBAC_BENCH_LATENCY_MS=50` makes
//! every simulator answer after that delay, as a real instance across a network does (on
//! loopback with no delay the small change measures only CPU: 51 simulators and 51 plans on the
//! machine's cores). `CLERK_RBAC_BENCH_PARTS=small` (or `bulk`) runs one of the two changes.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    fmt::Write as _,
    path::Path,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use clerk_rbac_simulator::{RateLimits, Simulator};
use clerk_rbac_sync::{
    ApplyOptions, DesiredState, PermissionSpec, StepOutcome,
    fleet::{self, Fleet, FleetOptions, FleetReport, TargetOutcome},
};

/// Counts heap bytes in use and the most in use since the last [`reset_peak`].
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn reset_peak() -> usize {
    let now = CURRENT.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// What one measured apply gave.
struct Measured {
    elapsed: Duration,
    /// Peak heap above the heap at the start, in bytes.
    peak_growth: usize,
    /// 429 answers the simulators gave.
    limited_at_server: usize,
    /// Steps or targets that ended on a 429.
    limited_in_report: usize,
    /// Changing requests sent, over every target.
    changes: usize,
    /// Whether every target ended well.
    success: bool,
}

fn limited(report: &FleetReport) -> usize {
    report
        .targets
        .iter()
        .map(|t| match &t.outcome {
            TargetOutcome::Failed(e) => usize::from(e.message.contains("429")),
            other => other.report().map_or(0, |r| {
                r.steps
                    .iter()
                    .filter(|s| {
                        matches!(
                            s.outcome,
                            StepOutcome::Failed {
                                status: Some(429),
                                ..
                            }
                        )
                    })
                    .count()
            }),
        })
        .sum()
}

/// A fleet file with one development target per simulator, all following `file`.
fn fleet_text(sims: &[Simulator], prefix: &str, file: &str) -> String {
    let mut text = String::from("stages = [\"production\"]\n");
    for (i, sim) in sims.iter().enumerate() {
        let _ = write!(
            text,
            "\n[targets.{prefix}{i:02}]\nsecret_key_env = \"KEY_{i}\"\napi_url = \"{}\"\nfile = \"{file}\"\n",
            sim.base_url()
        );
    }
    text
}

/// Plans and applies `file` on every simulator of `sims` as one fleet; each run uses fresh keys
/// (`run` picks them), so no rate limit window carries over from the run before.
async fn apply_fleet(
    sims: &[Simulator],
    dir: &Path,
    prefix: &str,
    file: &str,
    run: usize,
) -> Measured {
    for sim in sims {
        sim.clear_requests();
    }
    let fleet = Fleet::from_toml(&fleet_text(sims, prefix, file), "bench-fleet.toml", dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let prefix = prefix.to_owned();
    let options = FleetOptions::new()
        .env(move |name| {
            name.strip_prefix("KEY_")
                .map(|i| format!("sk_test_bench{run}x{prefix}{i}"))
        })
        .apply(ApplyOptions::new().poll_interval(Duration::from_millis(200)));
    let start_heap = reset_peak();
    let started = Instant::now();
    let targets = fleet.select(&[]).expect("targets");
    let plans = fleet::plan(&fleet, &targets, &options).await;
    let report = fleet::apply(&plans, &options).await;
    let elapsed = started.elapsed();
    let peak_growth = PEAK.load(Ordering::Relaxed).saturating_sub(start_heap);
    let mut limited_at_server = 0;
    let mut changes = 0;
    for sim in sims {
        let requests = sim.requests();
        limited_at_server += requests.iter().filter(|r| r.status == Some(429)).count();
        changes += requests.iter().filter(|r| r.method != "GET").count();
    }
    if !report.is_success() {
        eprintln!("{}", report.render(false));
    }
    Measured {
        elapsed,
        peak_growth,
        limited_at_server,
        limited_in_report: limited(&report),
        changes,
        success: report.is_success(),
    }
}

/// The example file, with round `round`'s small change: one role's description and one new
/// permission that role holds (two requests per target).
fn small(base: &DesiredState, round: usize) -> DesiredState {
    let mut state = base.clone();
    let key = format!("org:small:round{round}");
    state.permissions.insert(
        key.clone(),
        PermissionSpec {
            name: format!("Small change {round}"),
            description: None,
            renamed_from: None,
        },
    );
    let role = state
        .roles
        .get_mut("org:accountant")
        .expect("in the example");
    role.description = Some(format!("Changed in round {round}"));
    role.permissions.push(key);
    state
}

/// `state` with 200 more permissions (200 creates per target).
fn bulk(state: &DesiredState, round: usize) -> DesiredState {
    let mut state = state.clone();
    for i in 0..200 {
        state.permissions.insert(
            format!("org:bulk{round}:p{i:03}"),
            PermissionSpec {
                name: format!("Bulk {round}.{i}"),
                description: None,
                renamed_from: None,
            },
        );
    }
    state
}

fn print_pair(what: &str, alone: &Measured, fleet: &Measured, targets: usize) {
    let ratio = fleet.elapsed.as_secs_f64() / alone.elapsed.as_secs_f64();
    println!(
        "  {what}: alone {:.2} s ({} changing requests), fleet of {targets} {:.2} s ({} changing requests): {ratio:.3}× the lone target{}",
        alone.elapsed.as_secs_f64(),
        alone.changes,
        fleet.elapsed.as_secs_f64(),
        fleet.changes,
        if alone.success && fleet.success {
            ""
        } else {
            " (NOT every target ended well)"
        }
    );
    println!(
        "    peak heap above the start: alone {:.2} MiB, fleet {:.2} MiB ({:.3} MiB per target); 429 answers: {} at the simulators, {} surfaced in the reports",
        mib(alone.peak_growth),
        mib(fleet.peak_growth),
        mib(fleet.peak_growth) / targets as f64,
        alone.limited_at_server + fleet.limited_at_server,
        alone.limited_in_report + fleet.limited_in_report,
    );
}

fn main() {
    let targets: usize = std::env::var("CLERK_RBAC_BENCH_TARGETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let latency = Duration::from_millis(
        std::env::var("CLERK_RBAC_BENCH_LATENCY_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    );
    let parts = std::env::var("CLERK_RBAC_BENCH_PARTS").unwrap_or_else(|_| "small,bulk".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("clerk-rbac-fleet-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut fleet_sims = Vec::new();
        for _ in 0..targets {
            fleet_sims.push(
                Simulator::builder()
                    .rate_limits(RateLimits::clerk())
                    .latency(latency)
                    .start()
                    .await
                    .expect("simulator"),
            );
        }
        let alone_sim = vec![
            Simulator::builder()
                .rate_limits(RateLimits::clerk())
                .latency(latency)
                .start()
                .await
                .expect("simulator"),
        ];
        println!(
            "{targets} targets + 1 alone, each its own simulator with Clerk's rate limits; development keys (100 requests per 10 s), clients paced to them; parallelism {}; {} ms per answer",
            fleet::DEFAULT_PARALLELISM,
            latency.as_millis()
        );

        let base = DesiredState::from_toml(clerk_rbac_sync::EXAMPLE_FILE, "rbac.toml").expect("example");
        let write = |name: &str, state: &DesiredState| {
            std::fs::write(dir.join(name), state.to_toml()).expect("write");
            name.to_owned()
        };
        let mut run = 0;
        let mut next = || {
            run += 1;
            run
        };

        // Every instance starts from the example file (not measured).
        let file = write("base.toml", &base);
        apply_fleet(&alone_sim, &dir, "alone", &file, next()).await;
        let setup = apply_fleet(&fleet_sims, &dir, "t", &file, next()).await;
        assert!(setup.success, "setup");

        let mut state = base.clone();
        if parts.contains("small") {
        println!("1. small change (a description and a new permission: 2 requests per target)");
        let mut ratios = Vec::new();
        for round in 0..3 {
            state = small(&base, round);
            let file = write(&format!("small{round}.toml"), &state);
            let alone = apply_fleet(&alone_sim, &dir, "alone", &file, next()).await;
            let fleet = apply_fleet(&fleet_sims, &dir, "t", &file, next()).await;
            print_pair(&format!("round {round}"), &alone, &fleet, targets);
            ratios.push(fleet.elapsed.as_secs_f64() / alone.elapsed.as_secs_f64());
        }
        println!("  median ratio {:.3}", median(&mut ratios));
        }

        if parts.contains("bulk") {
        println!("2. 200-request change (200 permissions created per target)");
        let mut ratios = Vec::new();
        for round in 0..2 {
            state = bulk(&state, round);
            let file = write(&format!("bulk{round}.toml"), &state);
            let alone = apply_fleet(&alone_sim, &dir, "alone", &file, next()).await;
            let fleet = apply_fleet(&fleet_sims, &dir, "t", &file, next()).await;
            print_pair(&format!("round {round}"), &alone, &fleet, targets);
            ratios.push(fleet.elapsed.as_secs_f64() / alone.elapsed.as_secs_f64());
        }
        println!("  median ratio {:.3}", median(&mut ratios));
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}
