//! Route templates: `/v1/certificates/{id}`, `/v1/certificates:verify`,
//! `/v1/consents/{consent_id}:read`. A placeholder fills a whole segment and
//! names a request field (dotted for nested messages); the last segment may
//! end in a verb (`:verify`).

/// Longest template accepted, in bytes.
const MAX_TEMPLATE_LEN: usize = 512;

/// Most segments a template may have.
pub(crate) const MAX_SEGMENTS: usize = 32;

/// One `/`-separated part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Matched exactly (verb included, e.g. `certificates:verify`).
    Literal(String),
    /// A request field, optionally followed by a verb (`:verify`).
    Field { path: String, verb: String },
}

/// A parsed route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) segments: Vec<Segment>,
}

impl Template {
    /// Parses `text`; the error says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_TEMPLATE_LEN {
            return Err(format!("must be at most {MAX_TEMPLATE_LEN} bytes"));
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("must start with `/`, got `{text}`"));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() > MAX_SEGMENTS {
            return Err(format!("must have at most {MAX_SEGMENTS} segments"));
        }
        let last = parts.len() - 1;
        let mut segments = Vec::with_capacity(parts.len());
        for (index, part) in parts.into_iter().enumerate() {
            segments.push(parse_segment(part, index == last)?);
        }
        let template = Self { segments };
        let fields: Vec<&str> = template.fields().collect();
        for (index, field) in fields.iter().enumerate() {
            if fields[..index].contains(field) {
                return Err(format!("placeholder {{{field}}} appears twice"));
            }
        }
        Ok(template)
    }

    /// The placeholders' field paths, in order.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Field { path, .. } => Some(path.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

fn parse_segment(part: &str, is_last: bool) -> Result<Segment, String> {
    if part.is_empty() {
        return Err("must not contain empty segments (`//` or a trailing `/`)".into());
    }
    if let Some(inner) = part.strip_prefix('{') {
        let Some((path, after)) = inner.split_once('}') else {
            return Err(format!("placeholder `{part}` is not closed with `}}`"));
        };
        if !is_field_path(path) {
            return Err(format!(
                "placeholder {{{path}}} must name a request field, e.g. {{id}} or {{holder.id}}"
            ));
        }
        let verb = match after {
            "" => String::new(),
            verb if verb.starts_with(':') => check_verb(verb, is_last)?,
            other => {
                return Err(format!(
                    "a placeholder must fill its whole segment; `{other}` follows {{{path}}}"
                ));
            }
        };
        return Ok(Segment::Field {
            path: path.to_string(),
            verb,
        });
    }
    let (name, verb) = match part.split_once(':') {
        Some((name, verb)) => (name, check_verb(&format!(":{verb}"), is_last)?),
        None => (part, String::new()),
    };
    if name.is_empty() || !name.chars().all(is_literal_char) {
        return Err(format!(
            "segment `{part}` must be letters, digits, `-`, `_`, `.` or `~`, or a {{field}}"
        ));
    }
    Ok(Segment::Literal(format!("{name}{verb}")))
}

fn check_verb(verb: &str, is_last: bool) -> Result<String, String> {
    if !is_last {
        return Err(format!("verb `{verb}` may only end the last segment"));
    }
    let name = &verb[1..];
    if name.is_empty() || !name.chars().all(is_literal_char) {
        return Err(format!(
            "verb `{verb}` must be `:` then letters, digits, `-`, `_`, `.` or `~`"
        ));
    }
    Ok(verb.to_string())
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
}

fn is_field_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|name| {
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_placeholders_and_verbs() {
        let template = Template::parse("/v1/consents/{consent_id}:read").unwrap();
        assert_eq!(
            template.segments,
            vec![
                Segment::Literal("v1".into()),
                Segment::Literal("consents".into()),
                Segment::Field {
                    path: "consent_id".into(),
                    verb: ":read".into()
                },
            ]
        );
        let verify = Template::parse("/v1/certificates:verify").unwrap();
        assert_eq!(
            verify.segments[1],
            Segment::Literal("certificates:verify".into())
        );
        let nested = Template::parse("/v1/holders/{holder.person.id_number}").unwrap();
        assert_eq!(
            nested.fields().collect::<Vec<_>>(),
            ["holder.person.id_number"]
        );
    }

    #[test]
    fn refuses_malformed_templates_with_the_reason() {
        for (template, expected) in [
            ("v1/certificates", "must start with `/`"),
            ("/v1//certificates", "empty segments"),
            ("/v1/certificates/", "empty segments"),
            ("/v1/{id", "not closed"),
            ("/v1/{}", "must name a request field"),
            ("/v1/{name=things}", "must name a request field"),
            ("/v1/x-{id}", "must be letters"),
            ("/v1/{id}x", "whole segment"),
            ("/v1:verify/x", "only end the last segment"),
            ("/v1/{id}/{id}", "appears twice"),
            ("/v1/things:", "verb `:`"),
        ] {
            let error = Template::parse(template).unwrap_err();
            assert!(error.contains(expected), "{template}: {error}");
        }
    }
}
