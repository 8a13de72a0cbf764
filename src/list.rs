//! Listing: the [`List`] request builder and the [`Page`] it returns.

use std::{fmt, marker::PhantomData, num::NonZeroU64};

use serde::{Deserialize, Serialize};

use crate::{Clerk, Error, Permission, Result, Role, RoleSet, paginate::ListStream};
use sealed::ListParams;

/// The most items Clerk returns in one page.
pub const MAX_PAGE_SIZE: u32 = 500;

/// How many pages [`List::stream`] fetches at once unless told otherwise by
/// [`List::concurrency`]. Six keeps a long listing within a few percent of its round-trip ideal
/// (see `BENCHMARKS.md`) while staying gentle on Clerk's rate limits.
pub const DEFAULT_CONCURRENCY: usize = 6;

/// One page of a list: the items and how many match in all.
///
/// ```no_run
/// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
/// let page = clerk.organization_permissions().list().limit(100).send().await?;
/// println!("{} of {} permissions", page.data.len(), page.total_count);
/// for permission in page {
///     println!("{}", permission.key);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page, in the server's order.
    pub data: Vec<T>,
    /// How many items match the query across all pages. Signed because the API declares it a
    /// 64-bit signed integer; a negative count from a server is kept as sent, and
    /// [`List::stream`] then reads no page after the first.
    pub total_count: i64,
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.data.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.data.iter()
    }
}

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
        <T as sealed::Sealed>::fetch(self.clerk, &self.params).await
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
        futures::TryStreamExt::try_collect(self.stream()).await
    }
}

/// Resources that can be listed: [`Permission`], [`Role`] and [`RoleSet`].
///
/// Sealed: it only connects [`List`] to the generated list operations.
pub trait Listable: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// The filters and window of a list request, as sent in the query string.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct ListParams {
        pub query: Option<String>,
        pub order_by: Option<String>,
        pub limit: Option<NonZeroU64>,
        pub offset: Option<u64>,
        /// A `limit` outside 1..=500, reported by `send` so that the builder chain stays simple.
        pub invalid_limit: Option<u32>,
    }

    impl ListParams {
        /// Refuses parameters that must not be sent; both `send` and `stream` ask first.
        pub fn check(&self) -> Result<()> {
            match self.invalid_limit {
                Some(limit) => Err(Error::InvalidRequest(format!(
                    "`limit` must be between 1 and {MAX_PAGE_SIZE}, got {limit}"
                ))),
                None => Ok(()),
            }
        }
    }

    /// The generated list operation behind each listable resource. Items are plain data, so
    /// streams of them can move between tasks.
    pub trait Sealed: Sized + Send + Unpin + 'static {
        fn fetch(
            clerk: &Clerk,
            params: &ListParams,
        ) -> impl Future<Output = Result<Page<Self>>> + Send;
    }
}

/// One line per listable resource: which generated operation lists it.
macro_rules! listable {
    ($($item:ty => $operation:ident,)+) => {$(
        impl Listable for $item {}
        impl sealed::Sealed for $item {
            async fn fetch(clerk: &Clerk, p: &ListParams) -> Result<Page<Self>> {
                let api = clerk.generated();
                let (order_by, query) = (p.order_by.as_deref(), p.query.as_deref());
                clerk.send(|| api.$operation(p.limit, p.offset, order_by, query)).await
            }
        }
    )+};
}

listable! {
    Permission => list_organization_permissions,
    Role => list_organization_roles,
    RoleSet => list_role_sets,
}
