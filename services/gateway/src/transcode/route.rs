//! The route table: which published capability an HTTP request addresses.
//! A trie per method keeps lookups proportional to the path's length.

use std::borrow::Cow;
use std::collections::HashMap;

use super::percent;
use super::template::{MAX_SEGMENTS, Segment, Template};
use crate::domain::HttpMethod;

/// Compiled route table of published capabilities.
#[derive(Debug, Clone)]
pub struct RouteTable<K> {
    roots: HashMap<HttpMethod, Node<K>>,
}

#[derive(Debug, Clone)]
struct Node<K> {
    literals: HashMap<String, Node<K>>,
    /// Placeholder edges by verb suffix ("" for none), longest suffix first.
    placeholders: Vec<(String, Node<K>)>,
    route: Option<Route<K>>,
}

#[derive(Debug, Clone)]
struct Route<K> {
    key: K,
    /// Field paths of the placeholders, in path order.
    fields: Vec<String>,
    template: String,
}

impl<K> Default for Node<K> {
    fn default() -> Self {
        Self {
            literals: HashMap::new(),
            placeholders: Vec::new(),
            route: None,
        }
    }
}

impl<K: Clone> Default for RouteTable<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone> RouteTable<K> {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            roots: HashMap::new(),
        }
    }

    /// Adds a route. Err on a template that does not parse or a clash with
    /// an existing route of the same shape (placeholder names aside).
    pub fn insert(&mut self, method: HttpMethod, template: &str, key: K) -> Result<(), String> {
        let parsed = Template::parse(template)?;
        let mut node = self.roots.entry(method).or_default();
        for segment in &parsed.segments {
            node = match segment {
                Segment::Literal(literal) => node.literals.entry(literal.clone()).or_default(),
                Segment::Field { verb, .. } => {
                    let index = match node.placeholders.iter().position(|(v, _)| v == verb) {
                        Some(index) => index,
                        None => {
                            let index = node
                                .placeholders
                                .iter()
                                .position(|(v, _)| v.len() < verb.len())
                                .unwrap_or(node.placeholders.len());
                            node.placeholders
                                .insert(index, (verb.clone(), Node::default()));
                            index
                        }
                    };
                    &mut node.placeholders[index].1
                }
            };
        }
        if let Some(existing) = &node.route {
            return Err(format!(
                "{} {template} clashes with {} {}",
                method.as_str(),
                method.as_str(),
                existing.template
            ));
        }
        node.route = Some(Route {
            key,
            fields: parsed.fields().map(str::to_string).collect(),
            template: template.to_string(),
        });
        Ok(())
    }

    /// The route matching (method, path) with its placeholder values
    /// (percent-decoded). Literal segments beat placeholders; a verb suffix
    /// like `:verify` is part of the last segment. A query string on `path`
    /// is ignored.
    pub fn find(&self, method: HttpMethod, path: &str) -> Option<(&K, Vec<(String, String)>)> {
        let root = self.roots.get(&method)?;
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let rest = path.strip_prefix('/')?;
        let segments = rest
            .split('/')
            .map(|segment| percent::decode(segment, false))
            .collect::<Option<Vec<_>>>()?;
        if segments.len() > MAX_SEGMENTS {
            return None;
        }
        let mut values = Vec::new();
        let route = root.find(&segments, &mut values)?;
        let bound = route
            .fields
            .iter()
            .cloned()
            .zip(values.into_iter().rev())
            .collect();
        Some((&route.key, bound))
    }
}

impl<K> Node<K> {
    /// Depth-first, literals before placeholders; `values` collects the
    /// placeholder values in reverse path order on the way back up.
    fn find(&self, segments: &[Cow<'_, str>], values: &mut Vec<String>) -> Option<&Route<K>> {
        let Some((segment, rest)) = segments.split_first() else {
            return self.route.as_ref();
        };
        if let Some(route) = self
            .literals
            .get(segment.as_ref())
            .and_then(|child| child.find(rest, values))
        {
            return Some(route);
        }
        for (verb, child) in &self.placeholders {
            let Some(value) = segment.strip_suffix(verb.as_str()) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            if let Some(route) = child.find(rest, values) {
                values.push(value.to_string());
                return Some(route);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable<&'static str> {
        let mut table = RouteTable::new();
        for (method, template, key) in [
            (HttpMethod::Get, "/v1/certificates/{id}", "get"),
            (HttpMethod::Get, "/v1/certificates/types", "types"),
            (HttpMethod::Post, "/v1/certificates:verify", "verify"),
            (HttpMethod::Post, "/v1/certificates/{id}:revoke", "revoke"),
            (HttpMethod::Post, "/v1/certificates/{id}", "post-one"),
            (
                HttpMethod::Get,
                "/v1/consents/{consent_id}/data/{request_id}",
                "read",
            ),
        ] {
            table.insert(method, template, key).unwrap();
        }
        table
    }

    #[test]
    fn placeholders_bind_percent_decoded_values() {
        let table = table();
        let (key, values) = table
            .find(HttpMethod::Get, "/v1/certificates/a%2Fb%20c")
            .unwrap();
        assert_eq!(*key, "get");
        assert_eq!(values, vec![("id".to_string(), "a/b c".to_string())]);
        let (key, values) = table
            .find(HttpMethod::Get, "/v1/consents/c-1/data/r-2?x=1")
            .unwrap();
        assert_eq!(*key, "read");
        assert_eq!(
            values,
            vec![
                ("consent_id".to_string(), "c-1".to_string()),
                ("request_id".to_string(), "r-2".to_string())
            ]
        );
    }

    #[test]
    fn literals_beat_placeholders() {
        let table = table();
        let (key, values) = table
            .find(HttpMethod::Get, "/v1/certificates/types")
            .unwrap();
        assert_eq!(*key, "types");
        assert!(values.is_empty());
    }

    #[test]
    fn verbs_belong_to_the_last_segment() {
        let table = table();
        let (key, _) = table
            .find(HttpMethod::Post, "/v1/certificates:verify")
            .unwrap();
        assert_eq!(*key, "verify");
        let (key, values) = table
            .find(HttpMethod::Post, "/v1/certificates/c-9:revoke")
            .unwrap();
        assert_eq!(*key, "revoke");
        assert_eq!(values, vec![("id".to_string(), "c-9".to_string())]);
        let (key, values) = table
            .find(HttpMethod::Post, "/v1/certificates/c-9")
            .unwrap();
        assert_eq!(*key, "post-one");
        assert_eq!(values[0].1, "c-9");
        assert!(
            table
                .find(HttpMethod::Post, "/v1/certificates:revoke")
                .is_none()
        );
    }

    #[test]
    fn unmatched_requests_find_nothing() {
        let table = table();
        for (method, path) in [
            (HttpMethod::Delete, "/v1/certificates/c-1"),
            (HttpMethod::Get, "/v1/certificates"),
            (HttpMethod::Get, "/v1/certificates/"),
            (HttpMethod::Get, "/v1/certificates/c-1/extra"),
            (HttpMethod::Get, "v1/certificates/c-1"),
            (HttpMethod::Get, "/v1/certificates/%zz"),
            (HttpMethod::Post, "/v1/certificates:verify2"),
        ] {
            assert!(
                table.find(method, path).is_none(),
                "{method:?} {path} matched"
            );
        }
    }

    #[test]
    fn same_shapes_clash_and_bad_templates_are_refused() {
        let mut table = table();
        let clash = table
            .insert(HttpMethod::Get, "/v1/certificates/{serial}", "other")
            .unwrap_err();
        assert!(
            clash.contains("clashes with GET /v1/certificates/{id}"),
            "{clash}"
        );
        assert!(
            table
                .insert(HttpMethod::Delete, "/v1/certificates/{id}", "del")
                .is_ok()
        );
        let bad = table.insert(HttpMethod::Get, "/v1/{id", "bad").unwrap_err();
        assert!(bad.contains("not closed"), "{bad}");
    }
}
