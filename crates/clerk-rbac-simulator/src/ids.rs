//! Object IDs in Clerk's form: a type prefix, `_`, and 27 base62 characters. They come from one
//! seeded generator, so two simulators differ unless given the same seed.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// The length of the random tail of Clerk's IDs (e.g. `org_2bVkD...`).
const TAIL: usize = 27;

#[derive(Clone, Debug)]
pub(crate) struct Ids {
    rng: fastrand::Rng,
}

impl Ids {
    pub(crate) fn new(seed: u64) -> Self {
        Ids {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// A generator of its own, seeded from this one.
    pub(crate) fn fork(&mut self) -> Ids {
        Ids::new(self.rng.u64(..))
    }

    /// A fresh ID with this prefix (`perm`, `role`, `rs`, ...).
    pub(crate) fn next(&mut self, prefix: &str) -> String {
        let mut id = String::with_capacity(prefix.len() + 1 + TAIL);
        id.push_str(prefix);
        id.push('_');
        for _ in 0..TAIL {
            id.push(char::from(BASE62[self.rng.usize(..BASE62.len())]));
        }
        id
    }

    /// A trace id as Clerk puts in `clerk_trace_id`: 32 lowercase hex digits.
    pub(crate) fn trace_id(&mut self) -> String {
        format!("{:032x}", self.rng.u128(..))
    }

    /// The tail of a secret key (`sk_test_<tail>`).
    pub(crate) fn key_tail(&mut self) -> String {
        (0..40)
            .map(|_| char::from(BASE62[self.rng.usize(..BASE62.len())]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_clerks_shape_and_follow_the_seed() {
        let mut a = Ids::new(7);
        let mut b = Ids::new(7);
        let id = a.next("perm");
        assert_eq!(id, b.next("perm"));
        assert!(id.starts_with("perm_"));
        assert_eq!(id.len(), "perm_".len() + TAIL);
        assert!(id[5..].bytes().all(|c| c.is_ascii_alphanumeric()), "{id}");
        assert_ne!(Ids::new(8).next("perm"), id);
        let trace = a.trace_id();
        assert_eq!(trace.len(), 32);
        assert!(trace.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
