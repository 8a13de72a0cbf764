//! Client benchmarks against an in-process loopback server; see `docs/benchmarks.md`.
//!
//! `cargo bench --bench client` runs all three; `cargo bench --bench client -- overhead`
//! (or `listing`, `memory`) runs one, and `-- process` only the whole-process part of the
//! first. Every figure that matters is a ratio of two measurements taken in the same run, so
//! the machine's speed mostly cancels out.

mod process;
mod server;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicIsize, Ordering},
    },
    time::{Duration, Instant},
};

use clerk_rbac::{Clerk, Page, Permission, Role};
use futures::StreamExt;
use reqwest::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use server::{Server, query_value};

const SECRET_KEY: &str = "sk_test_benchmarks";
const API_VERSION: &str = "2026-05-12";
const PAGE: u64 = 500;
/// Roles in the listing benchmark.
const ROLES: u64 = 10_000;
/// Permissions per role in every role fixture.
const PERMISSIONS_PER_ROLE: usize = 5;
/// Totals the memory benchmark streams, in permissions.
const MEMORY_TOTALS: [u64; 3] = [10_000, 100_000, 1_000_000];

// ---------------------------------------------------------------------------------------------
// Allocation counting: only allocations made on a thread that opted in (the benchmark's main
// thread, which also runs the client's runtime) count, so the server's buffers stay out.

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static PEAK_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

fn note(delta: isize) {
    let live = LIVE_BYTES.fetch_add(delta, Ordering::Relaxed) + delta;
    PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && counted() {
            note(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        if counted() {
            note(-(layout.size() as isize));
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && counted() {
            note(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Runs `work` and returns its output with the most bytes it had allocated at once (on this
/// thread) beyond what was live when it started.
async fn peak_bytes_during<F: Future>(work: F) -> (F::Output, usize) {
    let start = LIVE_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(start, Ordering::Relaxed);
    let output = work.await;
    let peak = PEAK_BYTES.load(Ordering::Relaxed) - start;
    (output, peak.max(0) as usize)
}

// ---------------------------------------------------------------------------------------------
// Fixtures, rendered to bytes once.

fn permission(i: u64) -> Value {
    json!({
        "object": "permission",
        "id": format!("perm_{i:08}"),
        "name": format!("Permission {i}"),
        "key": format!("org:resource{i}:read"),
        "description": "Reads the resource",
        "type": "user",
        "created_at": 1_700_000_000_000_u64 + i,
        "updated_at": 1_700_000_000_001_u64 + i,
    })
}

fn role(i: u64) -> Value {
    let permissions: Vec<Value> = (0..PERMISSIONS_PER_ROLE as u64)
        .map(|p| permission(i * 10 + p))
        .collect();
    json!({
        "object": "role",
        "id": format!("role_{i:08}"),
        "name": format!("Role {i}"),
        "key": format!("org:role{i}"),
        "description": "A role for the benchmarks",
        "is_creator_eligible": true,
        "permissions": permissions,
        "created_at": 1_700_000_000_000_u64 + i,
        "updated_at": 1_700_000_000_001_u64 + i,
    })
}

fn bytes(value: &Value) -> Arc<Vec<u8>> {
    Arc::new(serde_json::to_vec(value).expect("fixtures serialize"))
}

/// Routes: `/v1/organization_roles/<id>`, `/v1/organization_roles?...` (a list of [`ROLES`]
/// roles) and `/p<total>/v1/organization_permissions?...` (a list of `total` permissions).
fn start_server() -> Server {
    let one_role = bytes(&role(1));
    let role_page =
        bytes(&json!({"data": (0..PAGE).map(role).collect::<Vec<_>>(), "total_count": ROLES}));
    let empty_roles = bytes(&json!({"data": [], "total_count": ROLES}));
    let permissions: Vec<Value> = (0..PAGE).map(permission).collect();
    // (total, a full page, an empty page)
    type Pages = (u64, Arc<Vec<u8>>, Arc<Vec<u8>>);
    let permission_pages: Vec<Pages> = MEMORY_TOTALS
        .iter()
        .map(|&total| {
            let full = bytes(&json!({"data": permissions, "total_count": total}));
            let empty = bytes(&json!({"data": [], "total_count": total}));
            (total, full, empty)
        })
        .collect();

    Server::start(Arc::new(move |target: &str| {
        let offset: u64 = query_value(target, "offset").map_or(0, |o| o.parse().expect("offset"));
        let path = target.split('?').next().unwrap_or_default();
        if path == "/v1/organization_roles" {
            return Some(if offset < ROLES {
                role_page.clone()
            } else {
                empty_roles.clone()
            });
        }
        if path.starts_with("/v1/organization_roles/") {
            return Some(one_role.clone());
        }
        let total: u64 = path
            .strip_prefix("/p")?
            .strip_suffix("/v1/organization_permissions")?
            .parse()
            .ok()?;
        let (_, full, empty) = permission_pages.iter().find(|(t, _, _)| *t == total)?;
        Some(if offset < total {
            full.clone()
        } else {
            empty.clone()
        })
    }))
}

fn client(base_url: &str) -> Clerk {
    Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(base_url)
        .build()
        .expect("a loopback URL is a valid base")
}

// ---------------------------------------------------------------------------------------------
// Measuring.

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The same request as the facade's, written by hand with reqwest and serde_json: the URL built
/// for the call (`base` + `path`), the same headers, same timeout, decoded into the same type
/// from the whole body.
async fn by_hand<T: DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    query: &[(&str, &str)],
) -> T {
    let response = http
        .get(format!("{base}/v1/{path}"))
        .query(query)
        .header(AUTHORIZATION, concat!("Bearer ", "sk_test_benchmarks"))
        .header("clerk-api-version", API_VERSION)
        .header(USER_AGENT, "clerk-rbac-bench")
        .header(ACCEPT, "application/json")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the server answers");
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.bytes().await.expect("a whole body");
    serde_json::from_slice(&body).expect("the fixture decodes")
}

/// Median time per call of `facade` and `hand` over `rounds` batches of `calls`, alternating
/// which goes first in each round.
async fn compare<A, B, FA, FB>(
    rounds: usize,
    calls: usize,
    mut facade: FA,
    mut hand: FB,
) -> (Duration, Duration)
where
    FA: FnMut() -> A,
    FB: FnMut() -> B,
    A: Future,
    B: Future,
{
    for _ in 0..calls {
        black_box(facade().await);
        black_box(hand().await);
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for which in [round % 2, 1 - round % 2] {
            let started = Instant::now();
            for _ in 0..calls {
                if which == 0 {
                    black_box(facade().await);
                } else {
                    black_box(hand().await);
                }
            }
            let per_call = started.elapsed() / calls as u32;
            if which == 0 {
                a.push(per_call)
            } else {
                b.push(per_call)
            }
        }
    }
    (median(a), median(b))
}

// ---------------------------------------------------------------------------------------------
// 1. Per-call overhead.

async fn overhead(server: &Server) {
    println!("## 1. Per-call overhead: facade vs hand-written reqwest + serde_json");
    let clerk = client(&server.url());
    let http = reqwest::Client::new();
    let base = server.url();

    let (facade, hand) = compare(
        31,
        200,
        || async {
            clerk
                .organization_roles()
                .get("role_00000001")
                .await
                .expect("a role")
        },
        || by_hand::<Role>(&http, &base, "organization_roles/role_00000001", &[]),
    )
    .await;
    let ratio = facade.as_secs_f64() / hand.as_secs_f64();
    println!(
        "single role:           facade {} | by hand {} | ratio {ratio:.3}",
        micros(facade),
        micros(hand)
    );

    let (facade, hand) = compare(
        21,
        10,
        || async {
            clerk
                .organization_roles()
                .list()
                .limit(500)
                .offset(0)
                .send()
                .await
                .expect("a page")
        },
        || {
            by_hand::<Page<Role>>(
                &http,
                &base,
                "organization_roles",
                &[("limit", "500"), ("offset", "0")],
            )
        },
    )
    .await;
    let ratio = facade.as_secs_f64() / hand.as_secs_f64();
    println!(
        "page of 500 roles ({PERMISSIONS_PER_ROLE} permissions each): facade {} | by hand {} | ratio {ratio:.3}",
        ms(facade),
        ms(hand)
    );
    println!();
    in_flight(server).await;
}

/// CPU time this thread has used. The client runs on a current-thread runtime on this thread
/// (reqwest's connection tasks included) and the server on its own, so this is the client's cost.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// 20,000 GETs of one role, 8 in flight, for three sides measured in interleaved rounds: the
/// facade with the default retry policy (what users run), the facade with retries off, and the
/// hand-written call. Wall time and this thread's CPU time per call, medians over the rounds.
async fn in_flight(server: &Server) {
    // Short rounds, interleaved, so that the three sides meet the same machine conditions.
    const ROUNDS: usize = 100;
    const CALLS: usize = 200;
    const IN_FLIGHT: usize = 8;
    let with_retries = client(&server.url());
    let without_retries = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(server.url())
        .retry(clerk_rbac::RetryPolicy::none())
        .build()
        .expect("a loopback URL is a valid base");
    let http = reqwest::Client::new();
    let base = server.url();

    async fn batch<F: Future>(call: impl FnMut(usize) -> F) -> (Duration, Duration) {
        let (wall, cpu) = (Instant::now(), thread_cpu());
        futures::stream::iter(0..CALLS)
            .map(call)
            .buffer_unordered(IN_FLIGHT)
            .for_each(|out| {
                black_box(out);
                async {}
            })
            .await;
        (
            wall.elapsed() / CALLS as u32,
            (thread_cpu() - cpu) / CALLS as u32,
        )
    }
    let sides = ["default policy", "retries off", "by hand"];
    let mut samples: Vec<(Vec<Duration>, Vec<Duration>)> = vec![Default::default(); 3];
    for round in 0..=ROUNDS {
        for turn in 0..3 {
            let side = (round + turn) % 3;
            let (wall, cpu) = match side {
                0 => batch(|_| with_retries.organization_roles().get("role_00000001")).await,
                1 => batch(|_| without_retries.organization_roles().get("role_00000001")).await,
                _ => {
                    let path = "organization_roles/role_00000001";
                    batch(|_| by_hand::<Role>(&http, &base, path, &[])).await
                }
            };
            // Round 0 warms the pools up and is not counted.
            if round > 0 {
                samples[side].0.push(wall);
                samples[side].1.push(cpu);
            }
        }
    }
    let medians: Vec<(Duration, Duration)> = samples
        .into_iter()
        .map(|(wall, cpu)| (median(wall), median(cpu)))
        .collect();
    let (hand_wall, hand_cpu) = medians[2];
    println!(
        "one role, {IN_FLIGHT} in flight, {} calls per side in {ROUNDS} interleaved rounds:",
        ROUNDS * CALLS
    );
    for (side, (wall, cpu)) in sides.iter().zip(&medians) {
        println!(
            "  {side:<15} wall {} | CPU {} | wall ratio {:.3} | CPU ratio {:.3}",
            micros(*wall),
            micros(*cpu),
            wall.as_secs_f64() / hand_wall.as_secs_f64(),
            cpu.as_secs_f64() / hand_cpu.as_secs_f64(),
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// 2. Listing 10,000 roles with 20 ms of server latency.

async fn sequential_listing(clerk: &Clerk) -> usize {
    let mut offset = 0;
    let mut items = 0;
    loop {
        let page = clerk
            .organization_roles()
            .list()
            .limit(500)
            .offset(offset)
            .send()
            .await
            .expect("a page");
        items += page.data.len();
        offset += PAGE;
        if page.data.len() < PAGE as usize
            || i64::try_from(offset).is_ok_and(|o| o >= page.total_count)
        {
            return items;
        }
    }
}

async fn streamed_listing(clerk: &Clerk, concurrency: usize) -> usize {
    let mut roles = clerk
        .organization_roles()
        .list()
        .concurrency(concurrency)
        .stream();
    let mut items = 0;
    while let Some(role) = roles.next().await {
        black_box(role.expect("a role"));
        items += 1;
    }
    items
}

async fn listing(server: &Server, runtime: &str) {
    const RUNS: usize = 7;
    let latency = Duration::from_millis(20);
    println!(
        "## 2. Listing {ROLES} roles ({PAGE} a page) with {} ms of server latency, {runtime} runtime",
        latency.as_millis()
    );
    let clerk = client(&server.url());
    server.set_latency(latency);
    // Warm up: open a few pooled connections.
    assert_eq!(streamed_listing(&clerk, 8).await, ROLES as usize);

    let mut round_trips = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        black_box(
            clerk
                .organization_roles()
                .list()
                .limit(500)
                .send()
                .await
                .expect("a page"),
        );
        round_trips.push(started.elapsed());
    }
    let round_trip = median(round_trips);
    println!("one page round trip: {}", ms(round_trip));

    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        assert_eq!(sequential_listing(&clerk).await, ROLES as usize);
        times.push(started.elapsed());
    }
    let sequential = median(times);
    println!("sequential offset loop: {}", ms(sequential));

    let pages = ROLES.div_ceil(PAGE);
    for concurrency in [1, 4, 6, 8] {
        let mut times = Vec::new();
        let requests_before = server.requests();
        for _ in 0..RUNS {
            let started = Instant::now();
            assert_eq!(streamed_listing(&clerk, concurrency).await, ROLES as usize);
            times.push(started.elapsed());
        }
        let requests = (server.requests() - requests_before) / RUNS as u64;
        let streamed = median(times);
        let ideal_trips = 1 + (pages - 1).div_ceil(concurrency as u64);
        let ideal = round_trip * ideal_trips as u32;
        println!(
            "stream, concurrency {concurrency}: {} ({requests} requests) | {:.2}x faster than sequential | \
             {:.2}x the ideal of {ideal_trips} round trips ({})",
            ms(streamed),
            sequential.as_secs_f64() / streamed.as_secs_f64(),
            streamed.as_secs_f64() / ideal.as_secs_f64(),
            ms(ideal),
        );
    }
    server.set_latency(Duration::ZERO);
    println!();
}

// ---------------------------------------------------------------------------------------------
// 3. Peak memory while streaming.

async fn memory(server: &Server) {
    println!(
        "## 3. Peak heap above baseline while listing small items (permissions, {PAGE} a page)"
    );
    for total in MEMORY_TOTALS {
        let clerk = client(&format!("{}/p{total}", server.url()));
        // Warm up the connection pool so both measurements start from the same state.
        let warm = clerk
            .organization_permissions()
            .list()
            .limit(1)
            .send()
            .await
            .expect("a page");
        assert_eq!(u64::try_from(warm.total_count), Ok(total));

        let (count, streamed_peak) = peak_bytes_during(async {
            let mut permissions = clerk.organization_permissions().list().stream();
            let mut count = 0_u64;
            while let Some(permission) = permissions.next().await {
                black_box(permission.expect("a permission"));
                count += 1;
            }
            count
        })
        .await;
        assert_eq!(count, total);
        let line = format!(
            "{total:>9} items: stream (concurrency {}) peak {:>10}",
            clerk_rbac::DEFAULT_CONCURRENCY,
            mib(streamed_peak)
        );
        if total <= 100_000 {
            let (all, collected_peak) = peak_bytes_during(async {
                let all: Vec<Permission> = clerk
                    .organization_permissions()
                    .list()
                    .collect_all()
                    .await
                    .expect("all");
                all.len()
            })
            .await;
            assert_eq!(all as u64, total);
            println!("{line} | collect_all peak {:>10}", mib(collected_peak));
        } else {
            println!("{line}");
        }
    }
    println!();
}

/// The role every per-call measurement GETs, and its path.
const ROLE_ID: &str = "role_00000001";
const ROLE_PATH: &str = "organization_roles/role_00000001";

/// One of the three ways section 1 makes the same call.
#[derive(Clone, Copy, Debug)]
enum Side {
    /// The facade with the default retry policy (what users run).
    DefaultPolicy,
    /// The facade with `RetryPolicy::none()`.
    RetriesOff,
    /// The hand-written reqwest + serde_json call (the floor).
    ByHand,
}

impl Side {
    /// Every side, the floor last.
    const ALL: [Side; 3] = [Side::DefaultPolicy, Side::RetriesOff, Side::ByHand];

    /// The side's name on command lines.
    fn name(self) -> &'static str {
        match self {
            Side::DefaultPolicy => "default-policy",
            Side::RetriesOff => "retries-off",
            Side::ByHand => "by-hand",
        }
    }

    /// The side's name in printed tables.
    fn label(self) -> &'static str {
        match self {
            Side::DefaultPolicy => "default policy",
            Side::RetriesOff => "retries off",
            Side::ByHand => "by hand",
        }
    }

    fn parse(name: &str) -> Side {
        Side::ALL
            .into_iter()
            .find(|side| side.name() == name)
            .unwrap_or_else(|| panic!("unknown side {name:?}"))
    }

    /// What makes this side's calls against the server at `base`.
    fn caller(self, base: &str) -> Caller {
        match self {
            Side::DefaultPolicy => Caller::Facade(client(base)),
            Side::RetriesOff => Caller::Facade(
                Clerk::builder()
                    .secret_key(SECRET_KEY)
                    .base_url(base)
                    .retry(clerk_rbac::RetryPolicy::none())
                    .build()
                    .expect("a loopback URL is a valid base"),
            ),
            Side::ByHand => Caller::ByHand(reqwest::Client::new(), base.to_owned()),
        }
    }
}

/// A side's client.
enum Caller {
    Facade(Clerk),
    ByHand(reqwest::Client, String),
}

/// `calls` GETs of one role by `caller`, 8 in flight. Each side has its own future type, so
/// that neither is sized or laid out for the other.
async fn drive(calls: usize, caller: &Caller) {
    async fn run<F: Future<Output = ()>>(calls: usize, call: impl FnMut(usize) -> F) {
        futures::stream::iter(0..calls)
            .map(call)
            .buffer_unordered(8)
            .for_each(|()| async {})
            .await;
    }
    match caller {
        Caller::Facade(clerk) => {
            run(calls, |_| async {
                let role = clerk.organization_roles().get(ROLE_ID).await;
                black_box(role.expect("a role"));
            })
            .await
        }
        Caller::ByHand(http, base) => {
            run(calls, |_| async {
                black_box(by_hand::<Role>(http, base, ROLE_PATH, &[]).await);
            })
            .await
        }
    }
}

/// `calls <side> <n> [multi-thread <base URL>]`: only `n` GETs of one role by one side
/// (`default-policy`, `retries-off` or `by-hand`), 8 in flight, after 200 to warm up; for
/// `benches/instructions.sh`, which counts the instructions each side takes under callgrind.
/// Without more arguments the server runs in this process, on its own thread, and the calls on
/// a current-thread runtime on the main thread; with `multi-thread <base URL>` the calls run on
/// a multi-thread runtime as `#[tokio::main]` builds it, against a server in another process
/// (`serve`), so that every thread of this process is the client's.
fn calls(side: &str, n: usize, multi_thread_against: Option<&str>) {
    let server;
    let (runtime, base) = match multi_thread_against {
        Some(base) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build();
            (runtime, base.to_owned())
        }
        None => {
            server = start_server();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            (runtime, server.url())
        }
    };
    let runtime = runtime.expect("client runtime");
    let caller = Side::parse(side).caller(&base);
    for n in [200, n] {
        runtime.block_on(drive(n, &caller));
    }
}

/// `serve`: runs the benchmark server alone and prints its base URL; it serves until killed.
fn serve() {
    let server = start_server();
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["calls", side, n] => return calls(side, n.parse().expect("a number of calls"), None),
        ["calls", side, n, "multi-thread", base] => {
            return calls(side, n.parse().expect("a number of calls"), Some(base));
        }
        ["serve"] => return serve(),
        ["worker", base, side] => return process::worker(base, side),
        _ => {}
    }
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with("--"));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let server = start_server();
    COUNTED.with(|counted| counted.set(true));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    runtime.block_on(async {
        if wanted("overhead") {
            overhead(&server).await;
        }
        if wanted("listing") {
            listing(&server, "current-thread").await;
        }
        if wanted("memory") {
            memory(&server).await;
        }
    });
    // `process` runs only this part of section 1.
    if wanted("overhead") || filter.as_deref() == Some("process") {
        println!("## 1. Per-call overhead, whole process on a multi-thread runtime");
        process::compare(&server.url());
    }
    if wanted("listing") {
        // The same listing where page tasks can be read and decoded on another thread.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("multi-thread runtime");
        runtime.block_on(listing(&server, "2-worker multi-thread"));
    }
}
