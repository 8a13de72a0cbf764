//! Listing: the [`List`] request builder, which ends in one [`Page`] or a [`ListStream`] of
//! every page.

use std::{fmt, marker::PhantomData, num::NonZeroU64};

use crate::{
    Clerk, Result,
    page::{DEFAULT_CONCURRENCY, ListParams, Listable, MAX_PAGE_SIZE, Page},
    paginate::ListStream,
};

/// A list request being built; finish it with [`send`](List::send) for one page, or with
/// [`stream`](List::stream) or [`collect_all`](List::collect_all) for every page.
///
/// Unset options are left out of the query, so Clerk's defaults apply (10 items from offset 0,
/// newest first).
///
/// ```no_run
/// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
/// let admins = clerk
///     .organization_roles()
///     .list()
///     .query("admin")
///     .order_by("+name")
///     .limit(20)
///     .offset(40)
///     .send()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "a list request does nothing until `send` is awaited"]
pub struct List<'c, T> {
    clerk: &'c Clerk,
    params: ListParams,
    /// How many pages [`stream`](List::stream) may fetch at once.
    concurrency: usize,
    item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for List<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("List")
            .field("params", &self.params)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl<'c, T: Listable> List<'c, T> {
    pub(crate) fn new(clerk: &'c Clerk) -> Self {
        List {
            clerk,
            params: ListParams::default(),
            concurrency: DEFAULT_CONCURRENCY,
            item: PhantomData,
        }
    }

    /// Only items whose ID matches exactly, or whose name or key contains `query`.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.params.query = Some(query.into());
        self
    }

    /// Sort order: `created_at`, `name` or `key`, prefixed by `+` (ascending, the default when
    /// no sign is given) or `-` (descending). Clerk's default is `-created_at`.
    pub fn order_by(mut self, order: impl Into<String>) -> Self {
        self.params.order_by = Some(order.into());
        self
    }

    /// Page size, from 1 to [`MAX_PAGE_SIZE`]. Other values make `send` fail without sending
    /// (and [`stream`](List::stream) yield that error as its only item).
    ///
    /// For [`stream`](List::stream) this is the size of each page it requests, not a cap on
    /// the number of items; use `StreamExt::take` for that.
    pub fn limit(mut self, limit: u32) -> Self {
        match NonZeroU64::new(limit.into()).filter(|_| limit <= MAX_PAGE_SIZE) {
            Some(limit) => {
                self.params.limit = Some(limit);
                self.params.invalid_limit = None;
            }
            None => self.params.invalid_limit = Some(limit),
        }
        self
    }

    /// How many items to skip. [`stream`](List::stream) starts here too.
    pub fn offset(mut self, offset: u64) -> Self {
        self.params.offset = Some(offset);
        self
    }

    /// Fetches the page.
    pub async fn send(self) -> Result<Page<T>> {
        self.params.check()?;
        T::fetch(self.clerk, &self.params).await
    }

    /// How many pages [`stream`](List::stream) and [`collect_all`](List::collect_all) may have
    /// in flight at once after the first page: [`DEFAULT_CONCURRENCY`] unless set. `1` fetches
    /// one page after the other; `0` is taken as `1`. Has no effect on [`send`](List::send).
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    /// Every matching item, page after page, as a [`ListStream`]; see there for how pages are
    /// fetched and what happens when the list changes while it is being read.
    ///
    /// Keeps [`query`](List::query), [`order_by`](List::order_by) and the starting
    /// [`offset`](List::offset); pages hold [`limit`](List::limit) items, [`MAX_PAGE_SIZE`] by
    /// default. The stream owns a clone of the client, so it can outlive this builder.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    ///
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let mut roles = clerk.organization_roles().list().order_by("+key").stream();
    /// while let Some(role) = roles.try_next().await? {
    ///     println!("{} has {} permissions", role.key, role.permissions.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream(self) -> ListStream<T> {
        ListStream::new(self.clerk.clone(), self.params, self.concurrency)
    }

    /// Every matching item in one `Vec`, by way of [`stream`](List::stream); the first error
    /// wins. Meant for lists known to be small, since everything is held at once.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let permissions = clerk.organization_permissions().list().collect_all().await?;
    /// println!("{} permissions", permissions.len());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn collect_all(self) -> Result<Vec<T>> {
        futures_util::TryStreamExt::try_collect(self.stream()).await
    }
}
