//! One table type for every kind of object: rows in creation order, found by ID or by key.
//!
//! The indexes are private, so no caller can let them drift from the rows: a row is changed
//! through [`Table::update`], which moves the key index along when the key changes, and IDs
//! never change.

use std::{
    collections::{BTreeMap, HashMap},
    ops::Index,
};

/// What a table needs from a row: the two ways the API names it, and what lists sort and
/// filter on.
pub(crate) trait Record {
    /// The object's ID; fixed at creation.
    fn id(&self) -> &str;
    /// The object's key; unique among rows of one table, may change.
    fn key(&self) -> &str;
    /// The display name lists search and sort by.
    fn name(&self) -> &str;
    /// Creation time in Unix milliseconds, the default sort order of lists.
    fn created_at(&self) -> i64;
}

/// Rows of one kind by creation sequence number (`seq`), with indexes by ID and key.
#[derive(Clone, Debug)]
pub(crate) struct Table<R> {
    rows: BTreeMap<u64, R>,
    by_id: HashMap<String, u64>,
    by_key: HashMap<String, u64>,
    next_seq: u64,
}

impl<R> Default for Table<R> {
    fn default() -> Self {
        Table {
            rows: BTreeMap::new(),
            by_id: HashMap::new(),
            by_key: HashMap::new(),
            next_seq: 1,
        }
    }
}

impl<R: Record> Table<R> {
    /// Adds a row after every existing one; the caller has checked that its ID and key are
    /// free. Returns its sequence number.
    pub(crate) fn insert(&mut self, row: R) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_id.insert(row.id().to_owned(), seq);
        self.by_key.insert(row.key().to_owned(), seq);
        self.rows.insert(seq, row);
        seq
    }

    /// The row with this sequence number.
    pub(crate) fn get(&self, seq: u64) -> Option<&R> {
        self.rows.get(&seq)
    }

    /// The sequence number of the row with this ID.
    pub(crate) fn seq_of_id(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    /// The sequence number of the row with this key.
    pub(crate) fn seq_of_key(&self, key: &str) -> Option<u64> {
        self.by_key.get(key).copied()
    }

    /// The row with this key.
    pub(crate) fn by_key(&self, key: &str) -> Option<&R> {
        self.seq_of_key(key).and_then(|seq| self.get(seq))
    }

    /// Whether a row has this key.
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// Whether a row has this ID.
    pub(crate) fn contains_id(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Changes one row; a changed key is re-indexed (the caller has checked that the new key
    /// is free). `None` when there is no such row.
    pub(crate) fn update<T>(&mut self, seq: u64, change: impl FnOnce(&mut R) -> T) -> Option<T> {
        let row = self.rows.get_mut(&seq)?;
        let old_key = row.key().to_owned();
        let out = change(row);
        debug_assert_eq!(self.by_id.get(row.id()), Some(&seq), "IDs never change");
        if row.key() != old_key {
            if self.by_key.get(&old_key) == Some(&seq) {
                self.by_key.remove(&old_key);
            }
            self.by_key.insert(row.key().to_owned(), seq);
        }
        Some(out)
    }

    /// Changes every row, in creation order (used for cascades that keep keys unique).
    pub(crate) fn update_all(&mut self, mut change: impl FnMut(&mut R)) {
        let seqs: Vec<u64> = self.rows.keys().copied().collect();
        for seq in seqs {
            self.update(seq, &mut change);
        }
    }

    /// Takes a row out, with its index entries.
    pub(crate) fn remove(&mut self, seq: u64) -> Option<R> {
        let row = self.rows.remove(&seq)?;
        self.by_id.remove(row.id());
        if self.by_key.get(row.key()) == Some(&seq) {
            self.by_key.remove(row.key());
        }
        Some(row)
    }

    /// Rows with their sequence numbers, in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &R)> {
        self.rows.iter().map(|(seq, row)| (*seq, row))
    }

    /// Rows in creation order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &R> {
        self.rows.values()
    }

    /// How many rows there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// `table[seq]`: the row, for a sequence number just looked up (panics otherwise; the server
/// turns a panic into a 500 for that one request).
impl<R: Record> Index<u64> for Table<R> {
    type Output = R;

    fn index(&self, seq: u64) -> &R {
        &self.rows[&seq]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Row {
        id: String,
        key: String,
    }

    impl Record for Row {
        fn id(&self) -> &str {
            &self.id
        }
        fn key(&self) -> &str {
            &self.key
        }
        fn name(&self) -> &str {
            &self.key
        }
        fn created_at(&self) -> i64 {
            0
        }
    }

    fn row(id: &str, key: &str) -> Row {
        Row {
            id: id.into(),
            key: key.into(),
        }
    }

    #[test]
    fn indexes_follow_inserts_key_changes_and_removals() {
        let mut table = Table::default();
        let a = table.insert(row("a_1", "k:a"));
        let b = table.insert(row("b_1", "k:b"));
        assert!(a < b);
        assert_eq!(table.seq_of_id("b_1"), Some(b));
        assert_eq!(table.by_key("k:a").map(|r| r.id.as_str()), Some("a_1"));

        table.update(a, |r| r.key = "k:z".into());
        assert!(!table.contains_key("k:a"));
        assert_eq!(table.seq_of_key("k:z"), Some(a));
        // Two rows trading keys one after the other keep both indexed.
        table.update(b, |r| r.key = "k:a".into());
        table.update(a, |r| r.key = "k:b".into());
        assert_eq!(
            (table.seq_of_key("k:a"), table.seq_of_key("k:b")),
            (Some(b), Some(a))
        );

        let removed = table.remove(a).unwrap();
        assert_eq!(removed.id, "a_1");
        assert!(!table.contains_id("a_1") && !table.contains_key("k:b"));
        assert_eq!(table.len(), 1);
        assert_eq!(table.update(a, |_| ()), None);
        // Sequence numbers are never reused.
        assert!(table.insert(row("c_1", "k:c")) > b);
    }
}
