//! `List::stream` and `List::collect_all`: which pages are requested, in which order items come
//! out, and how the stream ends (last page, short page, error, drop).

use std::time::Duration;

use clerk_rbac::{Clerk, Error, Permission, Result};
use futures::StreamExt;
use serde_json::Value;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};

use crate::support::{clerk_errors, mock_clerk, page, permission};

const PERMISSIONS: &str = "/v1/organization_permissions";

/// Permission fixtures `perm_<i>` for each `i` in `ids`.
fn permissions(ids: impl IntoIterator<Item = u64>) -> Vec<Value> {
    ids.into_iter()
        .map(|i| permission(&format!("perm_{i}"), &format!("org:p{i}:read")))
        .collect()
}

/// The page at `offset` (with `limit`) answers `items` and `total_count`, after `delay`.
async fn serve_page(
    server: &MockServer,
    (limit, offset): (u32, u64),
    items: Vec<Value>,
    total_count: u64,
    delay: Duration,
) {
    Mock::given(method("GET"))
        .and(path(PERMISSIONS))
        .and(query_param("limit", limit.to_string()))
        .and(query_param("offset", offset.to_string()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(items, total_count))
                .set_delay(delay),
        )
        .mount(server)
        .await;
}

/// Serves a stable list of `total` permissions in pages of `limit`.
async fn serve_list(server: &MockServer, limit: u32, total: u64) {
    for offset in (0..total.max(1)).step_by(limit as usize) {
        let end = (offset + u64::from(limit)).min(total);
        serve_page(
            server,
            (limit, offset),
            permissions(offset..end),
            total,
            Duration::ZERO,
        )
        .await;
    }
}

/// The page that fails with a Clerk 422, which no retry policy repeats.
async fn fail_page(server: &MockServer, (limit, offset): (u32, u64), delay: Duration) {
    Mock::given(method("GET"))
        .and(path(PERMISSIONS))
        .and(query_param("limit", limit.to_string()))
        .and(query_param("offset", offset.to_string()))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(clerk_errors("form_param_invalid", "bad page", None))
                .set_delay(delay),
        )
        .mount(server)
        .await;
}

/// The `offset` of every request the server received, in arrival order.
async fn offsets_requested(server: &MockServer) -> Vec<u64> {
    let requests = server.received_requests().await.expect("recording is on");
    requests
        .iter()
        .map(|request| {
            let (_, offset) = request
                .url
                .query_pairs()
                .find(|(name, _)| name == "offset")
                .expect("every page request carries an offset");
            offset.parse().expect("offsets are numbers")
        })
        .collect()
}

fn sorted(mut offsets: Vec<u64>) -> Vec<u64> {
    offsets.sort_unstable();
    offsets
}

fn ids(permissions: &[Permission]) -> Vec<String> {
    permissions.iter().map(|p| p.id.clone()).collect()
}

fn expected_ids(range: impl IntoIterator<Item = u64>) -> Vec<String> {
    range.into_iter().map(|i| format!("perm_{i}")).collect()
}

/// Drains a stream into its items and its outcome; a guard turns a hang into a failure.
async fn drain(clerk: &Clerk, limit: u32, concurrency: usize) -> Vec<Result<Permission>> {
    let stream = clerk
        .organization_permissions()
        .list()
        .limit(limit)
        .concurrency(concurrency)
        .stream();
    tokio::time::timeout(Duration::from_secs(20), stream.collect())
        .await
        .expect("the stream ends")
}

#[tokio::test]
async fn an_empty_list_takes_one_request_with_the_default_page_size() {
    let (server, clerk) = mock_clerk().await;
    serve_page(&server, (500, 0), vec![], 0, Duration::ZERO).await;

    let items: Vec<_> = clerk
        .organization_permissions()
        .list()
        .stream()
        .collect()
        .await;

    assert!(items.is_empty(), "{items:?}");
    assert_eq!(offsets_requested(&server).await, [0]);
}

#[tokio::test]
async fn exactly_one_full_page_is_not_followed_by_another_request() {
    let (server, clerk) = mock_clerk().await;
    serve_list(&server, 3, 3).await;

    let items = clerk
        .organization_permissions()
        .list()
        .limit(3)
        .collect_all()
        .await
        .unwrap();

    assert_eq!(ids(&items), expected_ids(0..3));
    assert_eq!(offsets_requested(&server).await, [0]);
}

#[tokio::test]
async fn a_partial_last_page_ends_the_listing() {
    let (server, clerk) = mock_clerk().await;
    serve_list(&server, 2, 5).await;

    let items = clerk
        .organization_permissions()
        .list()
        .limit(2)
        .collect_all()
        .await
        .unwrap();

    assert_eq!(ids(&items), expected_ids(0..5));
    assert_eq!(sorted(offsets_requested(&server).await), [0, 2, 4]);
}

#[tokio::test]
async fn a_starting_offset_is_where_the_stream_starts() {
    let (server, clerk) = mock_clerk().await;
    serve_list(&server, 2, 8).await;
    // `serve_list` serves even offsets; the stream must ask for odd ones.
    for offset in [3, 5, 7] {
        let end = (offset + 2).min(8);
        serve_page(
            &server,
            (2, offset),
            permissions(offset..end),
            8,
            Duration::ZERO,
        )
        .await;
    }

    let items = clerk
        .organization_permissions()
        .list()
        .limit(2)
        .offset(3)
        .collect_all()
        .await;

    assert_eq!(ids(&items.unwrap()), expected_ids(3..8));
    assert_eq!(sorted(offsets_requested(&server).await), [3, 5, 7]);
}

#[tokio::test]
async fn a_growing_total_is_not_chased_beyond_the_first_one() {
    let (server, clerk) = mock_clerk().await;
    // The first page announces 3 items; by the second page a fourth has appeared.
    serve_page(&server, (2, 0), permissions(0..2), 3, Duration::ZERO).await;
    serve_page(&server, (2, 2), permissions(2..4), 4, Duration::ZERO).await;
    serve_page(&server, (2, 4), permissions(4..5), 5, Duration::ZERO).await;

    let items: Vec<_> = drain(&clerk, 2, 4)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    // The planned pages' items come out as served, but the page at offset 4 is never asked for.
    assert_eq!(ids(&items), expected_ids(0..4));
    assert_eq!(sorted(offsets_requested(&server).await), [0, 2]);
}

#[tokio::test]
async fn a_shrinking_total_ends_the_stream_at_the_first_short_page() {
    for concurrency in [1, 4] {
        let (server, clerk) = mock_clerk().await;
        // 8 items when the listing starts; 3 are deleted before the second page is served.
        serve_page(&server, (2, 0), permissions(0..2), 8, Duration::ZERO).await;
        serve_page(&server, (2, 2), permissions([5]), 5, Duration::ZERO).await;
        serve_page(&server, (2, 4), vec![], 5, Duration::ZERO).await;
        serve_page(&server, (2, 6), vec![], 5, Duration::ZERO).await;

        let items: Vec<_> = drain(&clerk, 2, concurrency).await;

        let items: Vec<_> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            ids(&items),
            expected_ids([0, 1, 5]),
            "concurrency {concurrency}"
        );
        let offsets = sorted(offsets_requested(&server).await);
        if concurrency == 1 {
            assert_eq!(offsets, [0, 2], "nothing is asked after the short page");
        } else {
            assert!(
                offsets.starts_with(&[0, 2]) && offsets.len() <= 4,
                "{offsets:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_error_on_the_third_page_follows_the_earlier_items_and_ends_the_stream() {
    let (server, clerk) = mock_clerk().await;
    // Mounted first, so it takes precedence over the successful page at offset 4.
    fail_page(&server, (2, 4), Duration::ZERO).await;
    serve_list(&server, 2, 10).await;

    let results = drain(&clerk, 2, 2).await;

    assert_eq!(
        results.len(),
        5,
        "four items, then the error, then nothing: {results:?}"
    );
    let items: Vec<_> = results[..4]
        .iter()
        .map(|r| r.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(items, expected_ids(0..4));
    let error = results[4].as_ref().unwrap_err();
    assert!(matches!(error, Error::Api(_)), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(422));
    // With two pages in flight, the page after the failing one (offset 6) may have been sent,
    // but none after it.
    let offsets = offsets_requested(&server).await;
    assert!(offsets.iter().all(|&offset| offset <= 6), "{offsets:?}");
}

#[tokio::test]
async fn items_keep_the_server_order_when_later_pages_answer_first() {
    let (server, clerk) = mock_clerk().await;
    serve_page(&server, (2, 0), permissions(0..2), 10, Duration::ZERO).await;
    // With four pages in flight, each page answers sooner than the one before it.
    for (offset, delay_ms) in [(2, 400), (4, 300), (6, 200), (8, 100)] {
        let delay = Duration::from_millis(delay_ms);
        serve_page(
            &server,
            (2, offset),
            permissions(offset..offset + 2),
            10,
            delay,
        )
        .await;
    }

    let items: Vec<_> = drain(&clerk, 2, 4)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(ids(&items), expected_ids(0..10));
    assert_eq!(sorted(offsets_requested(&server).await), [0, 2, 4, 6, 8]);
}

#[tokio::test]
async fn concurrency_one_waits_for_each_page_before_asking_for_the_next() {
    for concurrency in [1, 3] {
        let (server, clerk) = mock_clerk().await;
        // The second page fails slowly: a sequential stream has sent nothing else by then.
        fail_page(&server, (2, 2), Duration::from_millis(500)).await;
        serve_list(&server, 2, 8).await;

        let results = drain(&clerk, 2, concurrency).await;

        assert!(results.last().unwrap().is_err(), "{results:?}");
        let offsets = offsets_requested(&server).await;
        if concurrency == 1 {
            assert_eq!(offsets, [0, 2]);
        } else {
            // Pages 2, 4 and 6 were all in flight while the second one was failing.
            assert_eq!(sorted(offsets), [0, 2, 4, 6]);
        }
    }
}

#[tokio::test]
async fn query_and_order_by_are_sent_with_every_page() {
    let (server, clerk) = mock_clerk().await;
    for offset in [0, 2, 4] {
        let end = (offset + 2).min(5);
        Mock::given(method("GET"))
            .and(path(PERMISSIONS))
            .and(query_param("query", "invoices"))
            .and(query_param("order_by", "+key"))
            .and(query_param("limit", "2"))
            .and(query_param("offset", offset.to_string()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(page(permissions(offset..end), 5)),
            )
            .expect(1)
            .mount(&server)
            .await;
    }

    let items = clerk
        .organization_permissions()
        .list()
        .query("invoices")
        .order_by("+key")
        .limit(2)
        .collect_all()
        .await;

    // A page without the filters would match no mock and fail the listing with a 404.
    assert_eq!(ids(&items.unwrap()), expected_ids(0..5));
    server.verify().await;
}

#[tokio::test]
async fn an_invalid_page_size_is_the_only_item_and_nothing_is_sent() {
    let (server, clerk) = mock_clerk().await;

    let results = drain(&clerk, 501, 4).await;

    assert_eq!(results.len(), 1);
    assert!(
        matches!(results[0], Err(Error::InvalidRequest(_))),
        "{results:?}"
    );
    assert!(offsets_requested(&server).await.is_empty());
}

#[tokio::test]
async fn dropping_the_stream_stops_asking_for_pages() {
    let (server, clerk) = mock_clerk().await;
    serve_list(&server, 2, 40).await;

    let mut stream = clerk
        .organization_permissions()
        .list()
        .limit(2)
        .concurrency(2)
        .stream();
    let first = stream.next().await.expect("one item").unwrap();
    drop(stream);
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(first.id, "perm_0");
    // The first page, and at most the two requests the stream had started before the drop.
    let offsets = sorted(offsets_requested(&server).await);
    assert!(
        offsets.len() <= 3 && offsets.iter().all(|&o| o <= 4),
        "{offsets:?}"
    );
}

#[tokio::test]
async fn the_stream_owns_its_client_and_can_run_on_another_task() {
    let (server, clerk) = mock_clerk().await;
    serve_list(&server, 500, 1_200).await;

    let stream = clerk.organization_permissions().list().stream();
    drop(clerk);
    let items: Vec<_> = tokio::spawn(stream.collect::<Vec<_>>()).await.unwrap();

    let items: Vec<_> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(ids(&items), expected_ids(0..1_200));
    assert_eq!(sorted(offsets_requested(&server).await), [0, 500, 1_000]);
}

#[tokio::test]
async fn roles_and_role_sets_stream_too() {
    let (server, clerk) = mock_clerk().await;
    let roles: Vec<_> = (0..3)
        .map(|i| crate::support::role(&format!("role_{i}"), "org:r", vec![]))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/organization_roles"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(roles, 3)))
        .expect(1)
        .mount(&server)
        .await;
    let sets = vec![crate::support::role_set("rs_1", "role_set:support")];
    Mock::given(method("GET"))
        .and(path("/v1/role_sets"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(sets, 1)))
        .expect(1)
        .mount(&server)
        .await;

    let roles = clerk
        .organization_roles()
        .list()
        .collect_all()
        .await
        .unwrap();
    let sets = clerk.role_sets().list().collect_all().await.unwrap();

    assert_eq!(
        roles.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["role_0", "role_1", "role_2"]
    );
    assert_eq!(sets[0].id, "rs_1");
    server.verify().await;
}
