//! The dependency graph of a plan's steps, shared by planning and apply: nodes are numbered in
//! the order they were added, each waits for a set of others. Planning adds nodes and edges and
//! asks for an order ([`Dag::order`]: topological, insertion order wherever the edges allow, or
//! `None` on a cycle); apply walks the same graph ([`walk`]), running each node once everything
//! it waits for has succeeded. Knows nothing of Clerk or of what a node does.

use std::{collections::BTreeSet, future::Future, sync::Arc, time::Duration};

use futures::{StreamExt, stream::FuturesUnordered};
use tokio::{sync::watch, time::Instant};

/// A request to stop an apply early (on Ctrl-C, say): once triggered, no new step starts, and
/// the steps already running get a grace period to finish. Clones share one state: keep one to
/// trigger and put another in [`ApplyOptions::interrupt`](crate::ApplyOptions::interrupt).
#[derive(Clone, Debug)]
pub struct Interrupt {
    at: Arc<watch::Sender<Option<Instant>>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt {
            at: Arc::new(watch::Sender::new(None)),
        }
    }
}

impl Interrupt {
    /// A request not yet made.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the request (again: no effect); the grace period counts from the first call.
    pub fn trigger(&self) {
        let now = Instant::now();
        self.at
            .send_if_modified(|at| at.is_none() && at.replace(now).is_none());
    }

    /// Whether the request was made.
    pub fn is_triggered(&self) -> bool {
        self.at.borrow().is_some()
    }

    /// Resolves when the request is made, with when it was first made.
    async fn triggered_at(&self) -> Instant {
        let mut receiver = self.at.subscribe();
        // Copied out at once: the borrow must not live across an await (apply stays `Send`).
        let at = receiver
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|at| *at);
        match at {
            Some(at) => at,
            // The sender lives in `self`, so it cannot be gone; never resolve if it were.
            None => std::future::pending().await,
        }
    }
}

/// Nodes `0..len`, each with the nodes it waits for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dag {
    after: Vec<BTreeSet<usize>>,
}

impl Dag {
    /// A graph whose node `i` waits for the nodes of the `i`th list. Edges to nodes that do not
    /// exist are kept: such a node is never ready (see [`walk`]).
    pub(crate) fn from_edges<I>(lists: impl IntoIterator<Item = I>) -> Self
    where
        I: IntoIterator<Item = usize>,
    {
        Dag {
            after: lists
                .into_iter()
                .map(|after| after.into_iter().collect())
                .collect(),
        }
    }

    /// Adds a node waiting for `after`; returns its number.
    pub(crate) fn add(&mut self, after: impl IntoIterator<Item = usize>) -> usize {
        let node = self.after.len();
        self.after.push(BTreeSet::new());
        self.depend(node, after);
        node
    }

    /// Makes `node` wait for `on` too (never for itself).
    pub(crate) fn depend(&mut self, node: usize, on: impl IntoIterator<Item = usize>) {
        if let Some(after) = self.after.get_mut(node) {
            after.extend(on.into_iter().filter(|&other| other != node));
        }
    }

    /// How many nodes there are.
    pub(crate) fn len(&self) -> usize {
        self.after.len()
    }

    /// The nodes `node` waits for, ascending.
    pub(crate) fn after(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        self.after.get(node).into_iter().flatten().copied()
    }

    /// For each node, the nodes that wait for it (edges to missing nodes left out).
    fn dependents(&self) -> Vec<Vec<usize>> {
        let n = self.len();
        let mut dependents = vec![Vec::new(); n];
        for (node, after) in self.after.iter().enumerate() {
            for &before in after.iter().filter(|&&b| b < n) {
                dependents[before].push(node);
            }
        }
        dependents
    }

    /// Every node once, each after those it waits for; among nodes that are ready at the same
    /// time the earliest added comes first. `None` when some nodes wait for each other in a
    /// circle (or for a node that does not exist).
    pub(crate) fn order(&self) -> Option<Vec<usize>> {
        let mut waiting: Vec<usize> = self.after.iter().map(BTreeSet::len).collect();
        let dependents = self.dependents();
        let mut ready: BTreeSet<usize> = (0..self.len()).filter(|&s| waiting[s] == 0).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(node) = ready.pop_first() {
            order.push(node);
            for &next in &dependents[node] {
                waiting[next] -= 1;
                if waiting[next] == 0 {
                    ready.insert(next);
                }
            }
        }
        (order.len() == self.len()).then_some(order)
    }
}

/// How one node ended in [`walk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<T, E> {
    /// It succeeded, with this result.
    Done(T),
    /// It failed with this error.
    Failed(E),
    /// It was not run because the node with this number (which it waits for, directly or
    /// not) failed.
    Skipped { failed: usize },
    /// It was not started because the walk was interrupted.
    NotStarted,
    /// It was running when the interrupted walk's grace period ran out; how it ended is
    /// unknown.
    Abandoned,
}

/// Runs every node of `dag` once all it waits for succeeded, at most `concurrency` at once
/// (the earliest-numbered ready node first); a failure skips what depends on it, transitively,
/// while everything else goes on. `execute(node)` runs one node; `started` and `finished` are
/// told about every node (skipped ones are only finished).
///
/// Once `stop`'s interrupt is triggered no node starts; running ones get its grace period,
/// after which they are dropped ([`Outcome::Abandoned`]). Nodes never started are then
/// [`Outcome::NotStarted`] (and not told to `finished`).
pub(crate) async fn walk<T, E, F, Fut>(
    dag: &Dag,
    concurrency: usize,
    stop: Option<(&Interrupt, Duration)>,
    mut execute: F,
    mut started: impl FnMut(usize),
    mut finished: impl FnMut(usize, &Outcome<T, E>),
) -> Vec<Outcome<T, E>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let n = dag.len();
    let mut outcomes: Vec<Option<Outcome<T, E>>> = (0..n).map(|_| None).collect();
    let mut waiting: Vec<usize> = dag.after.iter().map(BTreeSet::len).collect();
    let dependents = dag.dependents();
    let mut ready: BTreeSet<usize> = (0..n).filter(|&s| waiting[s] == 0).collect();
    let mut running = FuturesUnordered::new();
    let limit = concurrency.max(1);
    let interrupt = stop.map(|(interrupt, _)| interrupt);
    let mut expiry = std::pin::pin!(async move {
        match stop {
            Some((interrupt, grace)) => {
                let at = interrupt.triggered_at().await;
                tokio::time::sleep_until(at + grace).await;
            }
            None => std::future::pending().await,
        }
    });
    let mut was_started = vec![false; n];

    loop {
        while running.len() < limit && !interrupt.is_some_and(Interrupt::is_triggered) {
            let Some(id) = ready.pop_first() else { break };
            was_started[id] = true;
            started(id);
            let step = execute(id);
            running.push(async move { (id, step.await) });
        }
        let next = tokio::select! {
            biased;
            next = running.next() => next,
            () = &mut expiry => break,
        };
        let Some((id, result)) = next else {
            break;
        };
        match result {
            Ok(value) => {
                let outcome = Outcome::Done(value);
                finished(id, &outcome);
                outcomes[id] = Some(outcome);
                for &next in &dependents[id] {
                    waiting[next] -= 1;
                    if waiting[next] == 0 && outcomes[next].is_none() {
                        ready.insert(next);
                    }
                }
            }
            Err(error) => {
                let outcome = Outcome::Failed(error);
                finished(id, &outcome);
                outcomes[id] = Some(outcome);
                // Everything that waits for it, directly or not, is skipped; a node skipped
                // for an earlier failure keeps that reason.
                let mut stack = dependents[id].clone();
                while let Some(next) = stack.pop() {
                    if outcomes[next].is_none() {
                        let skipped = Outcome::Skipped { failed: id };
                        finished(next, &skipped);
                        outcomes[next] = Some(skipped);
                        stack.extend(dependents[next].iter().copied());
                    }
                }
            }
        }
    }
    drop(running);
    let interrupted = interrupt.is_some_and(Interrupt::is_triggered);
    outcomes
        .into_iter()
        .enumerate()
        .map(|(id, outcome)| match outcome {
            Some(outcome) => outcome,
            None if was_started[id] => Outcome::Abandoned,
            None if interrupted => Outcome::NotStarted,
            // Only a node waiting for a node that does not exist is never reached otherwise;
            // say so rather than panic on a hand-edited plan.
            None => Outcome::Skipped { failed: id },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc, time::Duration};

    use super::*;

    fn steps(after: &[&[usize]]) -> Dag {
        Dag::from_edges(after.iter().map(|after| after.iter().copied()))
    }

    /// Runs `plan` where the steps in `failing` fail; returns the outcomes and the order in
    /// which steps started.
    async fn run_with(
        plan: &Dag,
        concurrency: usize,
        failing: &[usize],
    ) -> (Vec<Outcome<(), String>>, Vec<usize>) {
        let order = Rc::new(RefCell::new(Vec::new()));
        let seen = order.clone();
        let outcomes = walk(
            plan,
            concurrency,
            None,
            |id| {
                let fails = failing.contains(&id);
                async move {
                    // Later ids finish first, so that completion order differs from start order.
                    tokio::time::sleep(Duration::from_millis(100 - id as u64)).await;
                    if fails {
                        Err(format!("step {id} broke"))
                    } else {
                        Ok(())
                    }
                }
            },
            move |id| seen.borrow_mut().push(id),
            |_, _| {},
        )
        .await;
        let order = order.borrow().clone();
        (outcomes, order)
    }

    #[tokio::test(start_paused = true)]
    async fn every_step_runs_after_what_it_waits_for() {
        let plan = steps(&[&[], &[0], &[0], &[1, 2], &[]]);
        let (outcomes, order) = run_with(&plan, 8, &[]).await;
        assert!(outcomes.iter().all(|o| *o == Outcome::Done(())));
        let at = |id| order.iter().position(|&s| s == id).unwrap();
        assert!(at(0) < at(1) && at(0) < at(2) && at(1) < at(3) && at(2) < at(3));
        assert_eq!(order.len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn independent_steps_run_at_the_same_time_up_to_the_limit() {
        let plan = steps(&[&[], &[], &[], &[], &[], &[]]);
        let running = Rc::new(RefCell::new((0usize, 0usize)));
        let track = running.clone();
        let start = tokio::time::Instant::now();
        walk(
            &plan,
            3,
            None,
            |_| {
                let track = track.clone();
                async move {
                    {
                        let mut r = track.borrow_mut();
                        r.0 += 1;
                        r.1 = r.1.max(r.0);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    track.borrow_mut().0 -= 1;
                    Ok::<(), String>(())
                }
            },
            |_| {},
            |_, _| {},
        )
        .await;
        assert_eq!(running.borrow().1, 3, "three at once, never more");
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "six one-second steps, three at a time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_skips_its_dependents_and_nothing_else() {
        // 0 ← 1 ← 3, 0 ← 2, 4 alone, 5 waits for 2 and 3.
        let plan = steps(&[&[], &[0], &[0], &[1], &[], &[2, 3]]);
        let (outcomes, order) = run_with(&plan, 2, &[1]).await;
        assert_eq!(outcomes[0], Outcome::Done(()));
        assert_eq!(outcomes[1], Outcome::Failed("step 1 broke".into()));
        assert_eq!(outcomes[2], Outcome::Done(()));
        assert_eq!(outcomes[3], Outcome::Skipped { failed: 1 });
        assert_eq!(outcomes[4], Outcome::Done(()));
        assert_eq!(outcomes[5], Outcome::Skipped { failed: 1 });
        assert!(
            !order.contains(&3) && !order.contains(&5),
            "skipped steps never start"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_skipped_step_names_the_failure_that_caused_it() {
        let plan = steps(&[&[], &[], &[0, 1]]);
        let (outcomes, _) = run_with(&plan, 1, &[0, 1]).await;
        assert!(matches!(outcomes[2], Outcome::Skipped { failed: 0 | 1 }));
    }

    #[tokio::test(start_paused = true)]
    async fn every_step_is_reported_once() {
        let plan = steps(&[&[], &[0], &[1], &[], &[3]]);
        let finished = RefCell::new(Vec::new());
        walk(
            &plan,
            4,
            None,
            |id| async move { if id == 0 { Err(()) } else { Ok(()) } },
            |_| {},
            |id, _: &Outcome<(), ()>| finished.borrow_mut().push(id),
        )
        .await;
        let mut finished = finished.into_inner();
        finished.sort();
        assert_eq!(finished, [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_step_waiting_for_a_missing_step_is_skipped_not_a_panic() {
        let plan = steps(&[&[7]]);
        let (outcomes, order) = run_with(&plan, 1, &[]).await;
        assert!(order.is_empty());
        assert_eq!(outcomes, [Outcome::Skipped { failed: 0 }]);
    }

    #[tokio::test]
    async fn an_empty_plan_finishes_at_once() {
        let (outcomes, _) = run_with(&Dag::default(), 4, &[]).await;
        assert!(outcomes.is_empty());
    }

    #[test]
    fn the_order_keeps_insertion_order_as_far_as_edges_allow() {
        // 0 waits for 2; 1 and 3 are free.
        let dag = steps(&[&[2], &[], &[], &[1]]);
        assert_eq!(dag.order(), Some(vec![1, 2, 0, 3]));
    }

    #[test]
    fn a_cycle_has_no_order() {
        let mut dag = steps(&[&[], &[0], &[1]]);
        assert!(dag.order().is_some());
        dag.depend(0, [2]);
        assert_eq!(dag.order(), None);
    }

    #[test]
    fn a_node_never_waits_for_itself() {
        let mut dag = steps(&[&[]]);
        dag.depend(0, [0]);
        assert_eq!(dag.after(0).count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_interrupt_starts_nothing_new_and_lets_running_nodes_finish() {
        // 0 and 1 run at once (1 s and 3 s); 2 waits for 0; 3 waits for 1.
        let plan = steps(&[&[], &[], &[0], &[1]]);
        let interrupt = Interrupt::new();
        let trigger = interrupt.clone();
        let outcomes = walk(
            &plan,
            2,
            Some((&interrupt, Duration::from_secs(10))),
            |id| {
                let trigger = trigger.clone();
                async move {
                    if id == 0 {
                        trigger.trigger();
                    }
                    tokio::time::sleep(Duration::from_secs(1 + 2 * id as u64)).await;
                    Ok::<(), ()>(())
                }
            },
            |_| {},
            |_, _| {},
        )
        .await;
        assert_eq!(
            outcomes,
            [
                Outcome::Done(()),
                Outcome::Done(()),
                Outcome::NotStarted,
                Outcome::NotStarted
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_outlasting_the_grace_period_is_abandoned() {
        let plan = steps(&[&[], &[]]);
        let interrupt = Interrupt::new();
        interrupt.trigger();
        let outcomes = walk(
            &plan,
            2,
            Some((&interrupt, Duration::from_secs(5))),
            |_| async { Ok::<(), ()>(()) },
            |_| {},
            |_, _| {},
        )
        .await;
        assert_eq!(outcomes, [Outcome::NotStarted, Outcome::NotStarted]);

        let interrupt = Interrupt::new();
        let trigger = interrupt.clone();
        let outcomes = walk(
            &plan,
            2,
            Some((&interrupt, Duration::from_secs(5))),
            |id| {
                let trigger = trigger.clone();
                async move {
                    trigger.trigger();
                    tokio::time::sleep(Duration::from_secs(if id == 0 { 1 } else { 60 })).await;
                    Ok::<(), ()>(())
                }
            },
            |_| {},
            |_, _| {},
        )
        .await;
        assert_eq!(outcomes, [Outcome::Done(()), Outcome::Abandoned]);
    }
}
