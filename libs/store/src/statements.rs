//! Sizing multi-row statements so that none waits on the wire.
//!
//! Over TLS, the PostgreSQL client (sqlx 0.9.0) writes each TLS record
//! (16 KB at most) with its own write, on a socket without `TCP_NODELAY`:
//! a statement larger than one record leaves its last record waiting for
//! the server's delayed ACK, about 40 ms on Linux, whatever the statement
//! does. Measured on loopback with `SELECT length($1::text)` and
//! `sslmode=require`: a 14 KB parameter answers in 0.2 ms, 16 KB to 128 KB in
//! 44 ms (in plain text: 0.3 to 0.9 ms). Several statements below one
//! record cost a round trip each, a small fraction of one wait.

/// Most bytes of row values one statement should carry (room is left in
/// the record for the statement's framing).
pub const STATEMENT_BYTES: usize = 12 * 1024;

/// Splits `items` into consecutive runs of at most `max_rows` items whose
/// `size_of` adds up to at most `max_bytes`. An item larger than
/// `max_bytes` makes a run of its own; no run is empty.
pub fn chunks_within<T, F>(
    items: &[T],
    max_rows: usize,
    max_bytes: usize,
    size_of: F,
) -> Chunks<'_, T, F>
where
    F: Fn(&T) -> usize,
{
    Chunks {
        rest: items,
        max_rows: max_rows.max(1),
        max_bytes,
        size_of,
    }
}

/// The runs of [`chunks_within`].
pub struct Chunks<'a, T, F> {
    rest: &'a [T],
    max_rows: usize,
    max_bytes: usize,
    size_of: F,
}

impl<'a, T, F> Iterator for Chunks<'a, T, F>
where
    F: Fn(&T) -> usize,
{
    type Item = &'a [T];

    fn next(&mut self) -> Option<&'a [T]> {
        if self.rest.is_empty() {
            return None;
        }
        let mut bytes = 0usize;
        let mut len = 0;
        for item in self.rest.iter().take(self.max_rows) {
            let size = (self.size_of)(item);
            if len > 0 && bytes.saturating_add(size) > self.max_bytes {
                break;
            }
            bytes = bytes.saturating_add(size);
            len += 1;
        }
        let (run, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(sizes: &[usize], max_rows: usize, max_bytes: usize) -> Vec<Vec<usize>> {
        chunks_within(sizes, max_rows, max_bytes, |size| *size)
            .map(<[usize]>::to_vec)
            .collect()
    }

    #[test]
    fn runs_stay_within_the_byte_budget_in_order() {
        assert_eq!(
            runs(&[4, 4, 4, 4, 4], 100, 10),
            vec![vec![4, 4], vec![4, 4], vec![4]]
        );
    }

    #[test]
    fn runs_stay_within_the_row_limit() {
        assert_eq!(
            runs(&[1, 1, 1, 1, 1], 2, 100),
            vec![vec![1, 1], vec![1, 1], vec![1]]
        );
    }

    #[test]
    fn an_item_above_the_budget_travels_alone() {
        assert_eq!(runs(&[3, 50, 3], 100, 10), vec![vec![3], vec![50], vec![3]]);
    }

    #[test]
    fn nothing_gives_no_runs_and_a_zero_row_limit_still_progresses() {
        assert!(runs(&[], 10, 10).is_empty());
        assert_eq!(runs(&[1, 1], 0, 10), vec![vec![1], vec![1]]);
    }
}
