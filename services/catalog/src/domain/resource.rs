//! Data resources (数据资源): datasets a department owns and may share,
//! described well enough to find them, judge them and request them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::{Actor, TenantId};

use super::masking::MaskingRule;
use super::names::stored_names;

/// Layer of the data platform a resource belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceLayer {
    /// Raw data as collected (原始库).
    Raw,
    /// Cleaned, standardised core data (基础库).
    Base,
    /// Data assembled for a subject (主题库).
    Theme,
}
stored_names!(ResourceLayer { Raw => "raw", Base => "base", Theme => "theme" });

/// Lifecycle of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceState {
    /// Listed and requestable.
    Published,
    /// Hidden from search and not requestable; grants continue.
    Retired,
}
stored_names!(ResourceState { Published => "published", Retired => "retired" });

/// Sharing attribute (共享属性).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// Any department may use it; requests may be approved by policy.
    Unconditional,
    /// Every request is reviewed.
    Conditional,
    /// Not shared: invisible to other tenants, requests refused.
    NotShared,
}
stored_names!(Sharing {
    Unconditional => "unconditional",
    Conditional => "conditional",
    NotShared => "not_shared",
});

/// Open attribute (开放属性): whether the data may reach the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenAttribute {
    Open,
    Restricted,
    Closed,
}
stored_names!(OpenAttribute { Open => "open", Restricted => "restricted", Closed => "closed" });

/// How often the data changes at the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateFrequency {
    RealTime,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
    Irregular,
}
stored_names!(UpdateFrequency {
    RealTime => "real_time",
    Hourly => "hourly",
    Daily => "daily",
    Weekly => "weekly",
    Monthly => "monthly",
    Quarterly => "quarterly",
    Yearly => "yearly",
    Irregular => "irregular",
});

/// Value type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Integer,
    Decimal,
    Double,
    Boolean,
    Date,
    Timestamp,
    Bytes,
    Json,
}

/// Sensitivity level (分级), least sensitive first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    Public,
    Internal,
    Sensitive,
    HighlySensitive,
}

/// One field (column) of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceField {
    /// Column name at the source, lowercase snake_case.
    pub name: String,
    pub title: String,
    pub description: String,
    pub field_type: FieldType,
    pub sensitivity: Sensitivity,
    pub primary_key: bool,
    pub nullable: bool,
    /// Masking a grant gets unless it asks for something stricter.
    pub default_masking: Option<MaskingRule>,
}

/// What the owner describes about a resource: everything but its identity,
/// state and revision. Updates replace parts of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDetails {
    pub title: String,
    pub description: String,
    pub fields: Vec<ResourceField>,
    pub layer: ResourceLayer,
    pub sharing: Sharing,
    /// Only kept for [`Sharing::Conditional`].
    pub sharing_conditions: String,
    pub open: OpenAttribute,
    pub update_frequency: UpdateFrequency,
    /// The exchange line feeding the resource.
    pub line_id: Option<Uuid>,
    /// `schema.table` the line reads; empty without one.
    pub source_table: String,
    pub tags: Vec<String>,
}

impl ResourceDetails {
    pub fn field(&self, name: &str) -> Option<&ResourceField> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// A registered data resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub id: Uuid,
    pub owner: TenantId,
    /// Natural key within the owner, e.g. `marriage-registration`.
    pub code: String,
    pub details: ResourceDetails,
    pub state: ResourceState,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The parts of [`ResourceDetails`] an update may replace, by their
/// contract names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetailField {
    Title,
    Description,
    Fields,
    Layer,
    Sharing,
    SharingConditions,
    Open,
    UpdateFrequency,
    LineId,
    SourceTable,
    Tags,
}
stored_names!(DetailField {
    Title => "title",
    Description => "description",
    Fields => "fields",
    Layer => "layer",
    Sharing => "sharing",
    SharingConditions => "sharing_conditions",
    Open => "open",
    UpdateFrequency => "update_frequency",
    LineId => "line_id",
    SourceTable => "source_table",
    Tags => "tags",
});

impl ResourceDetails {
    /// `self` with `parts` taken from `new`.
    pub fn with_parts(&self, new: &ResourceDetails, parts: &[DetailField]) -> ResourceDetails {
        let mut merged = self.clone();
        for part in parts {
            match part {
                DetailField::Title => merged.title = new.title.clone(),
                DetailField::Description => merged.description = new.description.clone(),
                DetailField::Fields => merged.fields = new.fields.clone(),
                DetailField::Layer => merged.layer = new.layer,
                DetailField::Sharing => merged.sharing = new.sharing,
                DetailField::SharingConditions => {
                    merged.sharing_conditions = new.sharing_conditions.clone();
                }
                DetailField::Open => merged.open = new.open,
                DetailField::UpdateFrequency => merged.update_frequency = new.update_frequency,
                DetailField::LineId => merged.line_id = new.line_id,
                DetailField::SourceTable => merged.source_table = new.source_table.clone(),
                DetailField::Tags => merged.tags = new.tags.clone(),
            }
        }
        merged
    }

    /// The parts in which `self` and `other` differ, in contract order.
    pub fn differences(&self, other: &ResourceDetails) -> Vec<DetailField> {
        DetailField::ALL
            .iter()
            .copied()
            .filter(|part| {
                let only = [*part];
                self.with_parts(other, &only) != *self
            })
            .collect()
    }
}

/// One entry of a resource's history: the resource as a change left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceVersion {
    pub resource: Resource,
    /// Parts changed relative to the previous version; empty for 1, and
    /// `state` is reported as its own entry by retirement.
    pub changed_fields: Vec<String>,
    pub changed_by: Actor,
    pub change_note: String,
    pub time: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for layer in ResourceLayer::ALL {
            assert_eq!(ResourceLayer::from_name(layer.as_str()), Some(*layer));
        }
        for sharing in Sharing::ALL {
            assert_eq!(Sharing::from_name(sharing.as_str()), Some(*sharing));
        }
        assert_eq!(Sharing::NotShared.as_str(), "not_shared");
        assert_eq!(ResourceLayer::from_name("Base"), None);
        assert_eq!(ResourceState::from_name("archived"), None);
        assert_eq!(
            UpdateFrequency::from_name("real_time"),
            Some(UpdateFrequency::RealTime)
        );
    }

    fn details(title: &str) -> ResourceDetails {
        ResourceDetails {
            title: title.into(),
            description: String::new(),
            fields: Vec::new(),
            layer: ResourceLayer::Base,
            sharing: Sharing::Conditional,
            sharing_conditions: String::new(),
            open: OpenAttribute::Closed,
            update_frequency: UpdateFrequency::Daily,
            line_id: None,
            source_table: String::new(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn merges_only_the_named_parts_and_names_the_differences() {
        let old = details("old");
        let mut new = details("new");
        new.layer = ResourceLayer::Theme;
        let merged = old.with_parts(&new, &[DetailField::Title]);
        assert_eq!(merged.title, "new");
        assert_eq!(merged.layer, ResourceLayer::Base);
        assert_eq!(old.differences(&merged), [DetailField::Title]);
        assert_eq!(
            old.differences(&new),
            [DetailField::Title, DetailField::Layer]
        );
    }
}
