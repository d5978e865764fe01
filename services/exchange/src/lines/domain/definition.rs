//! What a valid line definition is: name, description, source.

use crate::domain::{EnclaveSourceSpec, LogSourceSpec, PushSourceSpec, SourceSpec, SourceTable};

use super::Violation;

pub const NAME_MIN_CHARS: usize = 3;
pub const NAME_MAX_CHARS: usize = 64;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const MAX_TABLES: usize = 200;
pub const MAX_KEY_COLUMNS: usize = 32;
pub const CONNECTION_REF_MAX_CHARS: usize = 64;
pub const PRODUCER_SUBJECT_MAX_CHARS: usize = 256;
pub const HEARTBEAT_MIN_MS: u64 = 1_000;
pub const HEARTBEAT_MAX_MS: u64 = 600_000;
pub const HEARTBEAT_DEFAULT_MS: u64 = 10_000;
/// PostgreSQL truncates longer identifiers (NAMEDATALEN − 1 bytes).
pub const IDENTIFIER_MAX_BYTES: usize = 63;

/// Lowercase letters, digits and hyphens, 3..64 characters, starting with a
/// letter or digit: usable in URLs and CLI arguments as is.
pub fn name_problem(name: &str) -> Option<String> {
    let chars = name.chars().count();
    if !(NAME_MIN_CHARS..=NAME_MAX_CHARS).contains(&chars) {
        return Some(format!(
            "must be {NAME_MIN_CHARS} to {NAME_MAX_CHARS} characters (got {chars})"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("may contain only lowercase letters, digits and '-'".into());
    }
    if name.starts_with('-') {
        return Some("must start with a letter or a digit".into());
    }
    None
}

pub fn description_problem(description: &str) -> Option<String> {
    let chars = description.chars().count();
    (chars > DESCRIPTION_MAX_CHARS)
        .then(|| format!("must be at most {DESCRIPTION_MAX_CHARS} characters (got {chars})"))
}

/// An unquoted SQL identifier: a letter or `_`, then letters, digits, `_`
/// or `$`, at most 63 bytes. Quoting is never needed downstream.
pub fn identifier_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("must not be empty".into());
    };
    if name.len() > IDENTIFIER_MAX_BYTES {
        return Some(format!("must be at most {IDENTIFIER_MAX_BYTES} bytes"));
    }
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Some(format!("{name:?} is not a valid identifier"));
    }
    None
}

/// `[a-z0-9_-]{1,64}`: a key of the center's `[exchange.sources]`.
pub fn connection_ref_problem(connection_ref: &str) -> Option<String> {
    if connection_ref.is_empty() {
        return Some("is required".into());
    }
    if connection_ref.len() > CONNECTION_REF_MAX_CHARS {
        return Some(format!(
            "must be at most {CONNECTION_REF_MAX_CHARS} characters"
        ));
    }
    if !connection_ref
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Some("may contain only lowercase letters, digits, '_' and '-'".into());
    }
    None
}

/// Every problem of a source, with paths under `prefix` (e.g. `line`).
pub fn source_violations(prefix: &str, source: &SourceSpec) -> Vec<Violation> {
    let mut out = Vec::new();
    match source {
        SourceSpec::Log(log) => log_violations(&format!("{prefix}.log_source"), log, &mut out),
        SourceSpec::Push(push) => push_violations(&format!("{prefix}.push_source"), push, &mut out),
        SourceSpec::Enclave(enclave) => {
            enclave_violations(&format!("{prefix}.enclave_source"), enclave, &mut out)
        }
    }
    out
}

fn log_violations(prefix: &str, log: &LogSourceSpec, out: &mut Vec<Violation>) {
    if let Some(problem) = connection_ref_problem(&log.connection_ref) {
        out.push((format!("{prefix}.connection_ref"), problem));
    }
    for (field, value) in [("publication", &log.publication), ("slot", &log.slot)] {
        if !value.is_empty()
            && let Some(problem) = identifier_problem(value)
        {
            out.push((format!("{prefix}.{field}"), problem));
        }
    }
    tables_violations(&format!("{prefix}.tables"), &log.tables, false, out);
    if !(HEARTBEAT_MIN_MS..=HEARTBEAT_MAX_MS).contains(&log.heartbeat_interval_ms) {
        out.push((
            format!("{prefix}.heartbeat_interval"),
            "must be between 1 second and 10 minutes".into(),
        ));
    }
}

fn push_violations(prefix: &str, push: &PushSourceSpec, out: &mut Vec<Violation>) {
    tables_violations(&format!("{prefix}.tables"), &push.tables, true, out);
    if push.producer_subject.trim().is_empty() {
        out.push((format!("{prefix}.producer_subject"), "is required".into()));
    } else if push.producer_subject.chars().count() > PRODUCER_SUBJECT_MAX_CHARS {
        out.push((
            format!("{prefix}.producer_subject"),
            format!("must be at most {PRODUCER_SUBJECT_MAX_CHARS} characters"),
        ));
    }
}

fn enclave_violations(prefix: &str, enclave: &EnclaveSourceSpec, out: &mut Vec<Violation>) {
    if enclave.enclave_id.is_nil() {
        out.push((format!("{prefix}.enclave_id"), "is required".into()));
    }
    let field = format!("{prefix}.tables");
    count_violation(&field, enclave.tables.len(), out);
    for (i, table) in enclave.tables.iter().enumerate() {
        if let Some(problem) = identifier_problem(table) {
            out.push((format!("{field}[{i}]"), problem));
        }
        if enclave.tables[..i].contains(table) {
            out.push((format!("{field}[{i}]"), format!("{table} is listed twice")));
        }
    }
}

fn count_violation(field: &str, count: usize, out: &mut Vec<Violation>) {
    if count == 0 {
        out.push((field.to_string(), "at least one table is required".into()));
    } else if count > MAX_TABLES {
        out.push((
            field.to_string(),
            format!("at most {MAX_TABLES} tables (got {count})"),
        ));
    }
}

/// Tables of a log or push source; push tables must name their keys (there
/// is no catalog to read the primary key from).
pub fn tables_violations(
    field: &str,
    tables: &[SourceTable],
    keys_required: bool,
    out: &mut Vec<Violation>,
) {
    count_violation(field, tables.len(), out);
    if tables.len() > MAX_TABLES {
        return;
    }
    for (i, table) in tables.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(problem) = identifier_problem(&table.schema) {
            out.push((format!("{at}.schema"), problem));
        }
        if let Some(problem) = identifier_problem(&table.name) {
            out.push((format!("{at}.name"), problem));
        }
        if tables[..i]
            .iter()
            .any(|other| other.qualified() == table.qualified())
        {
            out.push((at.clone(), format!("{} is listed twice", table.qualified())));
        }
        if keys_required && table.key_columns.is_empty() {
            out.push((
                format!("{at}.key_columns"),
                "a pushed table needs its key columns".into(),
            ));
        }
        if table.key_columns.len() > MAX_KEY_COLUMNS {
            out.push((
                format!("{at}.key_columns"),
                format!("at most {MAX_KEY_COLUMNS} key columns"),
            ));
            continue;
        }
        for (k, column) in table.key_columns.iter().enumerate() {
            if let Some(problem) = identifier_problem(column) {
                out.push((format!("{at}.key_columns[{k}]"), problem));
            }
            if table.key_columns[..k].contains(column) {
                out.push((
                    format!("{at}.key_columns[{k}]"),
                    format!("{column} is listed twice"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn table(name: &str, keys: &[&str]) -> SourceTable {
        SourceTable {
            schema: "public".into(),
            name: name.into(),
            key_columns: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn log(tables: Vec<SourceTable>) -> SourceSpec {
        SourceSpec::Log(LogSourceSpec {
            connection_ref: "civil-affairs".into(),
            publication: String::new(),
            slot: String::new(),
            tables,
            snapshot: true,
            heartbeat_interval_ms: HEARTBEAT_DEFAULT_MS,
        })
    }

    fn fields(violations: Vec<Violation>) -> Vec<String> {
        violations.into_iter().map(|(field, _)| field).collect()
    }

    #[test]
    fn names_are_lowercase_slugs() {
        assert_eq!(name_problem("marriage-cdc"), None);
        assert_eq!(name_problem("m2b"), None);
        for bad in [
            "ab",
            "Marriage",
            "has space",
            "-lead",
            "中文名字",
            &"a".repeat(65),
        ] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn descriptions_count_characters() {
        assert_eq!(description_problem(&"婚".repeat(2000)), None);
        assert!(description_problem(&"婚".repeat(2001)).is_some());
    }

    #[test]
    fn identifiers_are_unquoted_sql_names() {
        for good in ["person", "_x", "t$1", "A1"] {
            assert_eq!(identifier_problem(good), None, "{good}");
        }
        for bad in ["", "1t", "a-b", "a b", "a;drop", &"a".repeat(64)] {
            assert!(identifier_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn a_good_log_source_passes() {
        assert!(source_violations("line", &log(vec![table("person", &[])])).is_empty());
    }

    #[test]
    fn log_source_problems_are_named_by_path() {
        let mut spec = log(vec![
            table("person", &[]),
            table("person", &[]),
            table("1x", &[]),
        ]);
        if let SourceSpec::Log(log) = &mut spec {
            log.connection_ref = "Civil Affairs".into();
            log.heartbeat_interval_ms = 500;
        }
        assert_eq!(
            fields(source_violations("line", &spec)),
            [
                "line.log_source.connection_ref",
                "line.log_source.tables[1]",
                "line.log_source.tables[2].name",
                "line.log_source.heartbeat_interval",
            ]
        );
        assert_eq!(
            fields(source_violations("line", &log(vec![]))),
            ["line.log_source.tables"]
        );
        let many = (0..201).map(|i| table(&format!("t{i}"), &[])).collect();
        assert_eq!(
            fields(source_violations("line", &log(many))),
            ["line.log_source.tables"]
        );
    }

    #[test]
    fn push_sources_need_keys_and_a_producer() {
        let spec = SourceSpec::Push(PushSourceSpec {
            tables: vec![table("person", &[]), table("licence", &["id", "id"])],
            producer_subject: " ".into(),
        });
        assert_eq!(
            fields(source_violations("line", &spec)),
            [
                "line.push_source.tables[0].key_columns",
                "line.push_source.tables[1].key_columns[1]",
                "line.push_source.producer_subject",
            ]
        );
    }

    #[test]
    fn enclave_sources_need_an_enclave_and_tables() {
        let spec = SourceSpec::Enclave(EnclaveSourceSpec {
            enclave_id: Uuid::nil(),
            tables: vec![],
        });
        assert_eq!(
            fields(source_violations("line", &spec)),
            [
                "line.enclave_source.enclave_id",
                "line.enclave_source.tables"
            ]
        );
    }
}
