//! Runs a plan's steps: each once every step it waits for has succeeded, independent steps
//! concurrently (up to a limit), and a failed step's dependents skipped, transitively, while
//! everything else goes on. Knows nothing of Clerk: the caller passes what a step does.

use std::{collections::BTreeSet, future::Future};

use futures::{StreamExt, stream::FuturesUnordered};

use super::plan::Step;

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<T, E> {
    /// It succeeded, with this result.
    Done(T),
    /// It failed with this error.
    Failed(E),
    /// It was not run because the step with this id (which it waits for, directly or not)
    /// failed.
    Skipped { failed: usize },
}

/// Runs `steps` (ids are positions; every step waits only for earlier ones), with at most
/// `concurrency` running at once. `execute(id)` runs one step; `started` and `finished` are
/// told about every step (skipped ones are only finished).
pub(crate) async fn run<T, E, F, Fut>(
    steps: &[Step],
    concurrency: usize,
    mut execute: F,
    mut started: impl FnMut(usize),
    mut finished: impl FnMut(usize, &Outcome<T, E>),
) -> Vec<Outcome<T, E>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let n = steps.len();
    let mut outcomes: Vec<Option<Outcome<T, E>>> = (0..n).map(|_| None).collect();
    let mut waiting: Vec<usize> = steps.iter().map(|s| s.after.len()).collect();
    let mut dependents = vec![Vec::new(); n];
    for step in steps {
        for &before in &step.after {
            if before < n {
                dependents[before].push(step.id);
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&s| waiting[s] == 0).collect();
    let mut running = FuturesUnordered::new();
    let limit = concurrency.max(1);

    loop {
        while running.len() < limit {
            let Some(id) = ready.pop_first() else { break };
            started(id);
            let step = execute(id);
            running.push(async move { (id, step.await) });
        }
        let Some((id, result)) = running.next().await else {
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
                // Everything that waits for it, directly or not, is skipped; a step skipped
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
    outcomes
        .into_iter()
        .enumerate()
        // Only a step waiting for a step that does not exist is never reached; say so rather
        // than panic on a hand-edited plan.
        .map(|(id, outcome)| outcome.unwrap_or(Outcome::Skipped { failed: id }))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc, time::Duration};

    use super::*;
    use crate::plan::Action;

    fn steps(after: &[&[usize]]) -> Vec<Step> {
        after
            .iter()
            .enumerate()
            .map(|(id, after)| Step {
                id,
                action: Action::DeleteRole {
                    key: format!("org:r{id}"),
                },
                after: after.to_vec(),
            })
            .collect()
    }

    /// Runs `plan` where the steps in `failing` fail; returns the outcomes and the order in
    /// which steps started.
    async fn run_with(
        plan: &[Step],
        concurrency: usize,
        failing: &[usize],
    ) -> (Vec<Outcome<(), String>>, Vec<usize>) {
        let order = Rc::new(RefCell::new(Vec::new()));
        let seen = order.clone();
        let outcomes = run(
            plan,
            concurrency,
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
        run(
            &plan,
            3,
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
        run(
            &plan,
            4,
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
        let mut plan = steps(&[&[]]);
        plan[0].after = vec![7];
        let (outcomes, order) = run_with(&plan, 1, &[]).await;
        assert!(order.is_empty());
        assert_eq!(outcomes, [Outcome::Skipped { failed: 0 }]);
    }

    #[tokio::test]
    async fn an_empty_plan_finishes_at_once() {
        let (outcomes, _) = run_with(&[], 4, &[]).await;
        assert!(outcomes.is_empty());
    }
}
