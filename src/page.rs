//! What listing is made of, below the [`List`](crate::List) builder and the
//! [`ListStream`](crate::ListStream): the [`Page`] a list request returns, the parameters it is
//! sent with, and which generated operation lists each resource.

use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::{
    Clerk, Error, Permission, Result, Role, RoleSet,
    call::{CallFuture, boxed},
};

/// The most items Clerk returns in one page.
pub const MAX_PAGE_SIZE: u32 = 500;

/// How many pages [`List::stream`](crate::List::stream) fetches at once unless told otherwise by
/// [`List::concurrency`](crate::List::concurrency). Six keeps a long listing within a few percent of its round-trip ideal
/// (see `docs/benchmarks.md`) while staying gentle on Clerk's rate limits.
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
    /// [`List::stream`](crate::List::stream) then reads no page after the first.
    pub total_count: i64,
}

impl<T> Page<T> {
    /// A page of `data` out of `total_count` matching items: what a server or a test double
    /// answers a list request with (the struct is non-exhaustive, so this is how to build one).
    pub fn new(data: Vec<T>, total_count: i64) -> Self {
        Page { data, total_count }
    }
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

/// Resources that can be listed: [`Permission`], [`Role`] and [`RoleSet`].
///
/// Sealed: it only connects [`List`](crate::List) to the generated list operations.
pub trait Listable: sealed::Sealed {}

pub(crate) use sealed::ListParams;

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
        fn fetch<'a>(clerk: &'a Clerk, params: &'a ListParams) -> CallFuture<'a, Page<Self>>;
    }
}

/// One line per listable resource: which generated operation lists it.
macro_rules! listable {
    ($($item:ty => $operation:ident,)+) => {$(
        impl Listable for $item {}
        impl sealed::Sealed for $item {
            fn fetch<'a>(clerk: &'a Clerk, p: &'a ListParams) -> CallFuture<'a, Page<Self>> {
                boxed(async move {
                    let (order_by, query) = (p.order_by.as_deref(), p.query.as_deref());
                    clerk
                        .send(&|api| Box::pin(api.$operation(p.limit, p.offset, order_by, query)))
                        .await
                })
            }
        }
    )+};
}

listable! {
    Permission => list_organization_permissions,
    Role => list_organization_roles,
    RoleSet => list_role_sets,
}
