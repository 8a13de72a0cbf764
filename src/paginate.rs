//! [`ListStream`]: every page of a list, a few requests at a time, handed out as one stream of
//! items.

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll, ready},
    vec,
};

use futures_util::{
    Stream, StreamExt,
    future::BoxFuture,
    stream::{BoxStream, FusedStream},
};

use crate::{
    Clerk, Error, Result,
    page::{ListParams, MAX_PAGE_SIZE, Page, sealed::Sealed},
};

/// Every item of a list, from [`List::stream`](crate::List::stream).
///
/// # How pages are fetched
/// The first page is requested alone, at the caller's starting offset (0 by default). Its
/// `total_count` fixes which other pages exist: one request per page-sized step from there up
/// to that total. Those are sent with at most [`concurrency`](crate::List::concurrency) in
/// flight ([`DEFAULT_CONCURRENCY`](crate::DEFAULT_CONCURRENCY) by default), and their items come out in the server's order whatever order the
/// responses arrive in. At most about `concurrency + 2` pages are held at once: the one being
/// handed out, one that is ready next, and those in flight. Each page is a normal request, so
/// the client's timeout and retry policy apply to each page on its own.
///
/// The stream ends after the last page, after the first page that holds fewer items than the
/// page size (a short or empty page), or after an error, which is yielded as an item in its
/// place (after all items of the pages before it). Dropping the stream drops the requests in
/// flight.
///
/// # When the list changes while it is read
/// Offsets are positions in a list that may move under the stream; no listing by offset can
/// promise a consistent snapshot. What this one promises: no panic, no endless loop, and no
/// request beyond the `total_count` of the first page.
/// - Items added: the stream does not look for more pages than the first total announced, so
///   it makes exactly as many requests as it planned. Depending on where the new items sort,
///   some items may come out twice (pushed across a page boundary) and the last ones of the
///   grown list are not fetched. The items of every page are handed out as the server sent
///   them, so the stream may yield a few more items than the first total.
/// - Items removed: later items move towards the front, so some may be skipped; the first short
///   or empty page ends the stream and the pages still in flight are dropped.
///
/// Either way, read again when a complete and exact view matters (for example, sort by
/// `+created_at` so that new items land at the end, or compare against a second listing).
///
/// ```no_run
/// use futures::StreamExt;
///
/// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
/// let mut permissions = clerk
///     .organization_permissions()
///     .list()
///     .query("invoices")
///     .concurrency(2)
///     .stream();
/// while let Some(permission) = permissions.next().await {
///     println!("{}", permission?.key);
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "a stream fetches nothing until it is polled"]
pub struct ListStream<T> {
    /// An error found before sending anything (an invalid `limit`), yielded first and alone.
    early_error: Option<Error>,
    /// The request for the first page, until it has answered.
    first: Option<BoxFuture<'static, Result<Page<T>>>>,
    /// What the other pages' requests are built from; used once, when the first page arrives.
    plan: Option<Plan>,
    /// The other pages' requests, in offset order, at most `concurrency` at once.
    rest: Option<BoxStream<'static, Result<Page<T>>>>,
    /// A page (or error) that arrived while the previous page was still being handed out.
    next: Option<Result<Page<T>>>,
    /// The items of the page being handed out.
    items: vec::IntoIter<T>,
    page_size: u64,
}

/// The client and filters the pages after the first one are requested with.
struct Plan {
    clerk: Clerk,
    params: ListParams,
    start: u64,
    concurrency: usize,
}

impl<T: Sealed> ListStream<T> {
    pub(crate) fn new(clerk: Clerk, params: ListParams, concurrency: usize) -> Self {
        let page_size = params
            .limit
            .map_or(u64::from(MAX_PAGE_SIZE), |limit| limit.get());
        let start = params.offset.unwrap_or(0);
        let mut stream = ListStream {
            early_error: None,
            first: None,
            plan: None,
            rest: None,
            next: None,
            items: Vec::new().into_iter(),
            page_size,
        };
        if let Err(error) = params.check() {
            stream.early_error = Some(error);
            return stream;
        }
        let first = fetch(clerk.clone(), page_params(&params, page_size, start));
        stream.first = Some(first);
        stream.plan = Some(Plan {
            clerk,
            params,
            start,
            concurrency: concurrency.max(1),
        });
        stream
    }

    /// Plans the requests for the pages after `first`, unless `first` is already the last.
    fn plan_rest(&mut self, first: &Page<T>) {
        let Some(Plan {
            clerk,
            params,
            start,
            concurrency,
        }) = self.plan.take()
        else {
            return;
        };
        if self.is_short(first) {
            return;
        }
        let page_size = self.page_size;
        // `page_size` is at most MAX_PAGE_SIZE, so it fits any usize.
        // A negative total (which no real answer carries) plans no further page.
        let total = u64::try_from(first.total_count).unwrap_or(0);
        let offsets = (start.saturating_add(page_size)..total).step_by(page_size as usize);
        let pages = futures_util::stream::iter(offsets)
            .map(move |offset| fetch(clerk.clone(), page_params(&params, page_size, offset)))
            .buffered(concurrency);
        self.rest = Some(pages.boxed());
    }

    /// Starts handing out `page`; a short page is the last one, so the requests after it go.
    fn hand_out(&mut self, page: Page<T>) {
        if self.is_short(&page) {
            self.rest = None;
        }
        self.items = page.data.into_iter();
    }

    fn is_short(&self, page: &Page<T>) -> bool {
        (page.data.len() as u64) < self.page_size
    }

    /// Ends the stream after an error: nothing more is requested or yielded.
    fn stop(&mut self) {
        self.first = None;
        self.plan = None;
        self.rest = None;
        self.next = None;
        self.items = Vec::new().into_iter();
    }
}

/// The filters of the caller's request with this page's window.
fn page_params(params: &ListParams, page_size: u64, offset: u64) -> ListParams {
    ListParams {
        limit: std::num::NonZeroU64::new(page_size),
        offset: Some(offset),
        ..params.clone()
    }
}

/// One page request that owns what it needs, so the stream can outlive the builder.
fn fetch<T: Sealed>(clerk: Clerk, params: ListParams) -> BoxFuture<'static, Result<Page<T>>> {
    Box::pin(async move { T::fetch(&clerk, &params).await })
}

impl<T: Sealed> Stream for ListStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(error) = this.early_error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        loop {
            // Keep the later pages' requests moving while this page is handed out; one
            // finished page may wait in `next`.
            if this.next.is_none()
                && let Some(rest) = &mut this.rest
            {
                match rest.poll_next_unpin(cx) {
                    Poll::Ready(Some(page)) => this.next = Some(page),
                    Poll::Ready(None) => this.rest = None,
                    Poll::Pending => {}
                }
            }
            if let Some(item) = this.items.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            if let Some(first) = &mut this.first {
                let page = ready!(first.as_mut().poll(cx));
                this.first = None;
                match page {
                    Ok(page) => {
                        this.plan_rest(&page);
                        this.hand_out(page);
                        continue;
                    }
                    Err(error) => {
                        this.stop();
                        return Poll::Ready(Some(Err(error)));
                    }
                }
            }
            match this.next.take() {
                Some(Ok(page)) => this.hand_out(page),
                Some(Err(error)) => {
                    this.stop();
                    return Poll::Ready(Some(Err(error)));
                }
                // `rest` was polled above and is waiting for a response.
                None if this.rest.is_some() => return Poll::Pending,
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let ready = self.items.len() + usize::from(self.early_error.is_some());
        let no_more_pages = self.first.is_none() && self.rest.is_none() && self.next.is_none();
        (ready, no_more_pages.then_some(ready))
    }
}

impl<T: Sealed> FusedStream for ListStream<T> {
    fn is_terminated(&self) -> bool {
        self.early_error.is_none()
            && self.first.is_none()
            && self.rest.is_none()
            && self.next.is_none()
            && self.items.as_slice().is_empty()
    }
}

impl<T> fmt::Debug for ListStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListStream")
            .field("page_size", &self.page_size)
            .field("first_page_pending", &self.first.is_some())
            .field("more_pages", &self.rest.is_some())
            .field("items_ready", &self.items.len())
            .finish_non_exhaustive()
    }
}
