//! The files under examples/exchange read as what their commands send.

use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::line::Source;

use super::super::message_file::parse_message;

fn read(name: &str) -> String {
    let path = format!(
        "{}/../../examples/exchange/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_line_files_are_lines_with_their_sources() {
    let log: pb::Line = parse_message(&read("marriage-registration-line.yaml")).unwrap();
    let Some(Source::LogSource(source)) = log.source else {
        panic!("the marriage line reads a log");
    };
    assert_eq!(source.connection_ref, "civil-affairs-prod");
    assert_eq!(source.tables[0].name, "marriage_registration");
    assert_eq!(source.heartbeat_interval.map(|d| d.seconds), Some(10));
    let push: pb::Line = parse_message(&read("building-permit-push-line.yaml")).unwrap();
    let Some(Source::PushSource(source)) = push.source else {
        panic!("the permit line is pushed");
    };
    assert_eq!(source.tables[0].key_columns, ["permit_id"]);
}

#[test]
fn the_pushed_changes_are_json_lines_of_pushed_changes() {
    let text = read("building-permit-changes.jsonl");
    let sequences: Vec<u64> = text
        .lines()
        .map(|line| {
            parse_message::<pb::PushedChange>(line)
                .unwrap_or_else(|e| panic!("{line}: {e}"))
                .sequence
        })
        .collect();
    assert_eq!(sequences, [1, 2, 3, 4]);
}

#[test]
fn the_enclave_files_are_a_table_its_rows_and_a_backflow_rule() {
    let table: pb::CreateEnclaveTableRequest =
        parse_message(&read("household-subsidy-table.yaml")).unwrap();
    assert_eq!(table.key_columns, ["household_id"]);
    let rule: pb::BackflowRule = parse_message(&read("backflow-331100-to-331121.yaml")).unwrap();
    assert_eq!(
        rule.target_tenant.map(|t| t.division_code).as_deref(),
        Some("331121")
    );
    assert_eq!(rule.row_filter.map(|f| f.conditions.len()), Some(1));
    // The rows are checked against the table's column types as the command does.
    let as_created = pb::EnclaveTable {
        name: table.name,
        columns: table.columns,
        key_columns: table.key_columns,
        ..Default::default()
    };
    let rows =
        crate::client::enclaves::parse_rows(&read("household-subsidy-rows.yaml"), &as_created)
            .unwrap_or_else(|e| panic!("household-subsidy-rows.yaml: {e}"));
    assert_eq!((rows.0, rows.1), (3, 1));
}
