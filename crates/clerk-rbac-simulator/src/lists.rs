//! Lists: `limit`, `offset`, `query` and `order_by`, as the three list operations of the spec
//! describe them (ListOrganizationPermissions, ListOrganizationRoles, ListRoleSets).

use std::cmp::Ordering;

use super::{table::Record, wire::Failure};

/// The `limit` Clerk applies when none is given (spec: `LimitParameter.default`).
const DEFAULT_LIMIT: usize = 10;
/// The largest `limit` (spec: `LimitParameter.maximum`).
const MAX_LIMIT: usize = 500;

/// What a list can be ordered by. Spec: each list's `order_by` names `created_at`, `name`
/// and `key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    CreatedAt,
    Name,
    Key,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Order {
    pub field: Field,
    pub descending: bool,
}

/// Spec: roles and role sets default to `-created_at`. Assumption: permissions too (their
/// `order_by` documents no default), so that the three lists behave alike.
pub(crate) const NEWEST_FIRST: Order = Order {
    field: Field::CreatedAt,
    descending: true,
};

/// A parsed list request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub query: Option<String>,
    pub order: Order,
    pub limit: usize,
    pub offset: usize,
}

impl ListQuery {
    /// Reads the query string's pairs; the first of repeated parameters wins, unknown ones are
    /// ignored. Bad values are refused with 422, which every list operation documents.
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Self, Failure> {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.trim().parse::<i64>() {
                // Clerk's `FormParameterValueTooLarge`.
                Ok(n) if n > MAX_LIMIT as i64 => {
                    return Err(Failure::new(
                        422,
                        "form_param_value_too_large",
                        "too large",
                        format!("`limit` is at most {MAX_LIMIT}, got {n}."),
                    )
                    .param("limit"));
                }
                Ok(n) if n >= 1 => n as usize,
                _ => {
                    return Err(Failure::value(
                        "limit",
                        format!("limit must be an integer from 1 to {MAX_LIMIT}, got `{raw}`"),
                    ));
                }
            },
        };
        let offset = match get("offset") {
            None => 0,
            Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
                Failure::value(
                    "offset",
                    format!("offset must be a non-negative integer, got `{raw}`"),
                )
            })?,
        };
        let order = match get("order_by") {
            None | Some("") => NEWEST_FIRST,
            Some(raw) => parse_order(raw)?,
        };
        Ok(ListQuery {
            query: get("query").filter(|q| !q.is_empty()).map(str::to_owned),
            order,
            limit,
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
        })
    }
}

/// `[+|-]field`; no sign means `+` (spec). A leading space is read as `+`: it is what an
/// unencoded `+` becomes in a query string.
fn parse_order(raw: &str) -> Result<Order, Failure> {
    let (descending, name) = match raw.as_bytes().first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+' | b' ') => (false, &raw[1..]),
        _ => (false, raw),
    };
    let field = match name {
        "created_at" => Field::CreatedAt,
        "name" => Field::Name,
        "key" => Field::Key,
        // Assumption: an unknown field is refused as an invalid value (422), which all three
        // list operations document, rather than silently ignored.
        _ => {
            return Err(Failure::value(
                "order_by",
                format!(
                    "`{raw}` is not a sort order here: use created_at, name or key, optionally after + or -."
                ),
            ));
        }
    };
    Ok(Order { field, descending })
}

/// Filters, orders and cuts one page of `rows` (with their creation sequence numbers, which
/// break ties between equal values); returns the page and how many rows matched.
pub(crate) fn select<'a, T: Record>(
    rows: impl Iterator<Item = (u64, &'a T)>,
    q: &ListQuery,
) -> (Vec<&'a T>, usize) {
    // Spec: each list's `query` matches an ID whole, and a name or key in part. Assumption:
    // the partial match ignores case.
    let needle = q.query.as_deref().map(str::to_lowercase);
    let mut matched: Vec<(u64, &T)> = rows
        .filter(|(_, item)| match (&q.query, &needle) {
            (Some(query), Some(needle)) => {
                item.id() == query
                    || item.name().to_lowercase().contains(needle.as_str())
                    || item.key().to_lowercase().contains(needle.as_str())
            }
            _ => true,
        })
        .collect();
    let total = matched.len();
    let ascending = |(a_seq, a): &(u64, &T), (b_seq, b): &(u64, &T)| -> Ordering {
        let by_field = match q.order.field {
            Field::CreatedAt => a.created_at().cmp(&b.created_at()),
            Field::Name => a.name().cmp(b.name()),
            Field::Key => a.key().cmp(b.key()),
        };
        by_field.then(a_seq.cmp(b_seq))
    };
    if q.order.descending {
        matched.sort_unstable_by(|a, b| ascending(b, a));
    } else {
        matched.sort_unstable_by(ascending);
    }
    let page = matched
        .into_iter()
        .skip(q.offset)
        .take(q.limit)
        .map(|(_, item)| item)
        .collect();
    (page, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_bounds() {
        let q = ListQuery::parse(&[]).unwrap();
        assert_eq!((q.limit, q.offset, q.order), (10, 0, NEWEST_FIRST));
        assert_eq!(
            ListQuery::parse(&pairs(&[("limit", "500")])).unwrap().limit,
            500
        );
        for bad in ["0", "-1", "x", "1.5", ""] {
            let err = ListQuery::parse(&pairs(&[("limit", bad)])).unwrap_err();
            assert_eq!(err.code, "form_param_value_invalid", "{bad}");
        }
        let err = ListQuery::parse(&pairs(&[("limit", "501")])).unwrap_err();
        assert_eq!((err.status, err.code), (422, "form_param_value_too_large"));
        let err = ListQuery::parse(&pairs(&[("offset", "-3")])).unwrap_err();
        assert_eq!(err.meta["param_name"], "offset");
    }

    #[test]
    fn order_by_takes_a_sign_and_a_documented_field() {
        let order = |raw: &str| ListQuery::parse(&pairs(&[("order_by", raw)])).map(|q| q.order);
        assert_eq!(
            order("name").unwrap(),
            Order {
                field: Field::Name,
                descending: false
            }
        );
        assert_eq!(
            order("-key").unwrap(),
            Order {
                field: Field::Key,
                descending: true
            }
        );
        assert!(!order(" created_at").unwrap().descending);
        for bad in ["id", "-updated_at", "+", "name;drop", "--name"] {
            assert_eq!(
                order(bad).unwrap_err().code,
                "form_param_value_invalid",
                "{bad}"
            );
        }
    }
}
