//! Full-text search over the catalog: the terms a resource is indexed
//! under (written with the resource, in its transaction), the query a
//! caller's text becomes, and the hits returned.

pub mod highlight;
pub mod tokenize;

use std::collections::BTreeMap;

use zhongtai_kit::TenantId;

use super::resource::{
    OpenAttribute, Resource, ResourceDetails, ResourceLayer, Sharing, UpdateFrequency,
};

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most tags one query may require.
pub const MAX_FILTER_TAGS: usize = 50;
/// Most values any other filter of one query may list.
pub const MAX_FILTER_VALUES: usize = 100;

/// What a match in each part of a resource is worth: a title says more
/// about a resource than a field's description does.
const TITLE: i32 = 8;
const TAG: i32 = 5;
const FIELD_NAME: i32 = 3;
const FIELD_TITLE: i32 = 3;
const DESCRIPTION: i32 = 2;
const FIELD_DESCRIPTION: i32 = 1;

/// One row of the inverted index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedTerm {
    pub term: String,
    /// Sum of the weights of the parts the term occurs in.
    pub weight: i32,
}

/// The terms a resource is found by, each weighted by where it occurs.
pub fn index_terms(details: &ResourceDetails) -> Vec<IndexedTerm> {
    let mut weights: BTreeMap<String, i32> = BTreeMap::new();
    let mut add = |text: &str, weight: i32| {
        for term in tokenize::document_terms(text) {
            *weights.entry(term).or_default() += weight;
        }
    };
    add(&details.title, TITLE);
    add(&details.description, DESCRIPTION);
    for tag in &details.tags {
        add(tag, TAG);
    }
    for field in &details.fields {
        add(&field.name, FIELD_NAME);
        add(&field.title, FIELD_TITLE);
        add(&field.description, FIELD_DESCRIPTION);
    }
    weights
        .into_iter()
        .map(|(term, weight)| IndexedTerm { term, weight })
        .collect()
}

/// Restrictions on what a search or list returns; empty lists restrict
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Owned by one of these; a division alone matches all its departments.
    pub owners: Vec<TenantId>,
    pub layers: Vec<ResourceLayer>,
    pub sharing: Vec<Sharing>,
    pub open: Vec<OpenAttribute>,
    /// Carrying every one of these tags.
    pub tags: Vec<String>,
    pub update_frequencies: Vec<UpdateFrequency>,
}

/// A search as the store runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Every one must occur in a match; none lists everything filtered.
    pub terms: Vec<String>,
    pub filter: SearchFilter,
}

impl SearchFilter {
    /// Filters listing more values than a query may, by field name.
    pub fn oversized(&self) -> Vec<(&'static str, usize)> {
        [
            ("owners", self.owners.len(), MAX_FILTER_VALUES),
            ("layers", self.layers.len(), MAX_FILTER_VALUES),
            ("sharing", self.sharing.len(), MAX_FILTER_VALUES),
            ("open", self.open.len(), MAX_FILTER_VALUES),
            ("tags", self.tags.len(), MAX_FILTER_TAGS),
            (
                "update_frequencies",
                self.update_frequencies.len(),
                MAX_FILTER_VALUES,
            ),
        ]
        .into_iter()
        .filter(|(_, count, max)| count > max)
        .map(|(field, _, max)| (field, max))
        .collect()
    }
}

impl SearchQuery {
    /// The query of a caller's text.
    pub fn parse(text: &str, filter: SearchFilter) -> Self {
        Self {
            terms: tokenize::query_terms(text),
            filter,
        }
    }

    /// Text that holds no searchable word (only punctuation, say) matches
    /// nothing rather than everything.
    pub fn matches_nothing(text: &str, query: &SearchQuery) -> bool {
        !text.trim().is_empty() && query.terms.is_empty()
    }
}

/// A resource the store found, with the sum of its matched terms' weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredResource {
    pub resource: Resource,
    pub score: i64,
}

/// One search result as the caller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub resource: Resource,
    pub score: f64,
    pub highlights: Vec<String>,
    /// The caller's tenant holds a usable grant on it.
    pub granted: bool,
}

impl SearchHit {
    pub fn of(found: ScoredResource, terms: &[String], granted: bool) -> Self {
        let highlights = highlight::highlights(&found.resource.details, terms);
        Self {
            score: found.score as f64,
            highlights,
            granted,
            resource: found.resource,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::resource::{FieldType, ResourceField, Sensitivity};

    fn details() -> ResourceDetails {
        ResourceDetails {
            title: "婚姻登记信息".into(),
            description: "民政部门办理的结婚登记记录".into(),
            fields: vec![ResourceField {
                name: "husband_name".into(),
                title: "男方姓名".into(),
                description: String::new(),
                field_type: FieldType::String,
                sensitivity: Sensitivity::Sensitive,
                primary_key: false,
                nullable: false,
                default_masking: None,
            }],
            layer: ResourceLayer::Base,
            sharing: Sharing::Conditional,
            sharing_conditions: String::new(),
            open: OpenAttribute::Closed,
            update_frequency: UpdateFrequency::RealTime,
            line_id: None,
            source_table: String::new(),
            tags: vec!["民政".into()],
        }
    }

    fn weight(terms: &[IndexedTerm], term: &str) -> Option<i32> {
        terms.iter().find(|t| t.term == term).map(|t| t.weight)
    }

    #[test]
    fn weights_add_up_by_where_terms_occur() {
        let terms = index_terms(&details());
        assert_eq!(weight(&terms, "婚姻"), Some(TITLE));
        assert_eq!(weight(&terms, "登记"), Some(TITLE + DESCRIPTION));
        assert_eq!(weight(&terms, "husband"), Some(FIELD_NAME));
        assert_eq!(weight(&terms, "姓名"), Some(FIELD_TITLE));
        assert_eq!(weight(&terms, "民政"), Some(TAG + DESCRIPTION));
    }

    #[test]
    fn punctuation_only_text_matches_nothing() {
        let query = SearchQuery::parse("%", SearchFilter::default());
        assert!(SearchQuery::matches_nothing("%", &query));
        let everything = SearchQuery::parse("", SearchFilter::default());
        assert!(!SearchQuery::matches_nothing("", &everything));
    }
}
