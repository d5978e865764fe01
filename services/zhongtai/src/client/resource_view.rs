//! How a resource reads: its description and attributes, then its field
//! schema with sensitivity and default masking.

use std::process::ExitCode;

use zhongtai_contracts::catalog::v1 as pb;

use super::flags;
use super::labels;
use super::output::{print_details, print_proto_json, print_section, print_table};

pub fn layer(resource: &pb::Resource) -> String {
    labels::short(resource.layer().as_str_name(), "RESOURCE_LAYER_")
}

pub fn sharing(resource: &pb::Resource) -> String {
    labels::short(resource.sharing().as_str_name(), "SHARING_ATTRIBUTE_")
}

pub fn open(resource: &pb::Resource) -> String {
    labels::short(resource.open().as_str_name(), "OPEN_ATTRIBUTE_")
}

pub fn state(resource: &pb::Resource) -> String {
    labels::short(resource.state().as_str_name(), "RESOURCE_STATE_")
}

pub fn show(resource: &pb::Resource, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(resource)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", resource.id.clone()),
        ("owner", labels::tenant(resource.owner.as_ref())),
        ("code", resource.code.clone()),
        ("title", resource.title.clone()),
        ("description", labels::clip(&resource.description, 100)),
        ("layer", layer(resource)),
        ("sharing", sharing(resource)),
        (
            "conditions",
            labels::clip(&resource.sharing_conditions, 100),
        ),
        ("open", open(resource)),
        (
            "updates",
            labels::short(
                resource.update_frequency().as_str_name(),
                "UPDATE_FREQUENCY_",
            ),
        ),
        ("source table", resource.source_table.clone()),
        ("line", resource.line_id.clone()),
        ("tags", labels::list(&resource.tags)),
        ("version", resource.version.to_string()),
        ("state", state(resource)),
        ("registered", labels::time(resource.create_time.as_ref())),
        ("updated", labels::time(resource.update_time.as_ref())),
    ]);
    print_section("Fields");
    let rows: Vec<Vec<String>> = resource
        .fields
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.title.clone(),
                labels::short(f.r#type().as_str_name(), "FIELD_TYPE_"),
                labels::short(f.sensitivity().as_str_name(), "SENSITIVITY_LEVEL_"),
                if f.primary_key { "PK" } else { "" }.to_string(),
                if f.nullable { "yes" } else { "no" }.to_string(),
                f.default_masking
                    .as_ref()
                    .and_then(flags::masking_spec)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "TITLE",
            "TYPE",
            "SENSITIVITY",
            "KEY",
            "NULLABLE",
            "DEFAULT MASKING",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}
