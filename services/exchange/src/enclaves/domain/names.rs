//! Names that end up in SQL: checked before they get near a statement,
//! and the identifiers derived from enclave ids.

use uuid::Uuid;

/// Longest table or column name (PostgreSQL's identifier limit).
pub const MAX_NAME_LEN: usize = 63;
/// Column names the platform keeps for itself.
pub const RESERVED_PREFIX: &str = "_zt_";

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_NAME_LEN} characters")]
    TooLong,
    #[error("must be lowercase snake_case: a letter, then letters, digits or '_'")]
    Format,
}

/// A table or column name: `^[a-z][a-z0-9_]{0,62}$`.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    let Some(first) = bytes.first() else {
        return Err(NameError::Empty);
    };
    if bytes.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    let rest_ok = bytes[1..]
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if first.is_ascii_lowercase() && rest_ok {
        Ok(())
    } else {
        Err(NameError::Format)
    }
}

/// `enclave_<id without hyphens>`: the PostgreSQL schema and role of an
/// enclave, and the table-name prefix on SQLite.
pub fn enclave_ident(enclave_id: Uuid) -> String {
    format!("enclave_{}", enclave_id.simple())
}

/// The SQLite table holding `table` of an enclave: SQLite has no schemas,
/// so the enclave's identifier prefixes the name.
pub fn prefixed_table(enclave_id: Uuid, table: &str) -> String {
    format!("{}__{table}", enclave_ident(enclave_id))
}

/// The table name part of a (possibly schema-qualified) source table.
pub fn unqualified(table: &str) -> &str {
    table.rsplit('.').next().unwrap_or(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_snake_case_only() {
        for good in ["a", "region_code", "t2", &"a".repeat(63)] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        assert_eq!(check_name(""), Err(NameError::Empty));
        assert_eq!(check_name(&"a".repeat(64)), Err(NameError::TooLong));
        for bad in ["A", "1a", "_a", "a-b", "a b", "a\"b", "名字", "a;drop"] {
            assert_eq!(check_name(bad), Err(NameError::Format), "{bad}");
        }
    }

    #[test]
    fn identifiers_come_from_the_id() {
        let id = Uuid::nil();
        assert_eq!(
            enclave_ident(id),
            "enclave_00000000000000000000000000000000"
        );
        assert!(prefixed_table(id, "t").ends_with("__t"));
        assert_eq!(unqualified("public.people"), "people");
        assert_eq!(unqualified("people"), "people");
    }
}
