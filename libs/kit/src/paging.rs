//! Cursor paging shared by every list RPC: a bounded page size and an opaque
//! token that encodes where the previous page ended (keyset paging: stable
//! under concurrent inserts, cheap at any depth).

use crate::status::ApiError;

/// Page size when the caller asks for none.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 500;
const TOKEN_VERSION: &str = "v1:";

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Items to return.
    pub size: u64,
    /// Sort key of the last item of the previous page; `None` for the first.
    pub after: Option<String>,
}

impl PageQuery {
    /// Validates `page_size` and decodes `page_token` (from
    /// `zhongtai.common.v1.PageRequest`).
    pub fn parse(page_size: i32, page_token: &str) -> Result<Self, ApiError> {
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => {
                return Err(ApiError::invalid_field(
                    "page.page_size",
                    "must not be negative",
                ));
            }
            n => (n as u64).min(MAX_PAGE_SIZE),
        };
        let after = if page_token.is_empty() {
            None
        } else {
            Some(decode_token(page_token).ok_or_else(|| {
                ApiError::invalid_field("page.page_token", "is not a token this API issued")
            })?)
        };
        Ok(Self { size, after })
    }

    pub fn first(size: u64) -> Self {
        Self { size, after: None }
    }

    /// Rows to fetch: one more than the page, to learn whether another page
    /// follows without counting.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Token for the next page; empty on the last page.
    pub next_page_token: String,
}

impl<T> Page<T> {
    /// Builds a page from up to `query.fetch_limit()` rows in sort order;
    /// `key` gives an item's sort key.
    pub fn from_rows(mut rows: Vec<T>, query: &PageQuery, key: impl Fn(&T) -> String) -> Self {
        let has_more = rows.len() as u64 > query.size;
        rows.truncate(query.size as usize);
        let next_page_token = match (has_more, rows.last()) {
            (true, Some(last)) => encode_token(&key(last)),
            _ => String::new(),
        };
        Self {
            items: rows,
            next_page_token,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_page_token: self.next_page_token,
        }
    }
}

fn encode_token(key: &str) -> String {
    let mut token = String::with_capacity(TOKEN_VERSION.len() + key.len() * 2);
    token.push_str(TOKEN_VERSION);
    for byte in key.as_bytes() {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}

fn decode_token(token: &str) -> Option<String> {
    let hex = token.strip_prefix(TOKEN_VERSION)?;
    if hex.len() % 2 != 0 || hex.len() > 1024 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_caps_the_size() {
        assert_eq!(
            PageQuery::parse(0, "").map(|q| q.size).ok(),
            Some(DEFAULT_PAGE_SIZE)
        );
        assert_eq!(
            PageQuery::parse(10_000, "").map(|q| q.size).ok(),
            Some(MAX_PAGE_SIZE)
        );
        assert!(PageQuery::parse(-1, "").is_err());
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let query = PageQuery::first(2);
        let page = Page::from_rows(vec!["a", "b", "c"], &query, |s| s.to_string());
        assert_eq!(page.items, vec!["a", "b"]);
        let next = PageQuery::parse(2, &page.next_page_token).expect("own token");
        assert_eq!(next.after.as_deref(), Some("b"));
        for bad in ["x", "v1:zz", "v1:abc", "v2:61"] {
            assert!(PageQuery::parse(2, bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn last_page_has_no_token() {
        let page = Page::from_rows(vec![1, 2], &PageQuery::first(2), |n| n.to_string());
        assert!(page.next_page_token.is_empty());
    }
}
