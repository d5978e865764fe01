//! Snippets of matching text with the matched terms wrapped in
//! `<em>…</em>`. The rest of the text is HTML-escaped so a snippet can be
//! shown as markup without letting a resource's text inject any.

use crate::domain::resource::ResourceDetails;

/// Most snippets per result.
pub const MAX_HIGHLIGHTS: usize = 5;
/// Snippets of longer texts are cut to about this many characters.
const SNIPPET_CHARS: usize = 120;
/// Characters of context kept before the first match of a cut snippet.
const LEAD_CHARS: usize = 30;

/// Snippets from the resource's searchable texts that hold a query term,
/// in the order title, description, tags, fields.
pub fn highlights(details: &ResourceDetails, terms: &[String]) -> Vec<String> {
    if terms.is_empty() {
        return Vec::new();
    }
    let texts = std::iter::once(details.title.as_str())
        .chain(std::iter::once(details.description.as_str()))
        .chain(details.tags.iter().map(String::as_str))
        .chain(details.fields.iter().flat_map(|field| {
            [
                field.name.as_str(),
                field.title.as_str(),
                field.description.as_str(),
            ]
        }));
    texts
        .filter_map(|text| highlight(text, terms))
        .take(MAX_HIGHLIGHTS)
        .collect()
}

/// `text` (or a window of it) with every occurrence of a term wrapped;
/// `None` when no term occurs. ASCII terms match case-insensitively and
/// only as whole words, so `id` does not light up inside `valid`.
pub fn highlight(text: &str, terms: &[String]) -> Option<String> {
    // ASCII lowercasing keeps every byte offset, so ranges found in it
    // apply to `text` as well.
    let lower = text.to_ascii_lowercase();
    let mut ranges = Vec::new();
    for term in terms.iter().filter(|term| !term.is_empty()) {
        let mut from = 0;
        while let Some(found) = lower[from..].find(term.as_str()) {
            let (start, end) = (from + found, from + found + term.len());
            if !term.is_ascii() || is_whole_word(&lower, start, end) {
                ranges.push((start, end));
            }
            from = end;
        }
    }
    ranges.sort_unstable();
    let merged =
        ranges
            .into_iter()
            .fold(Vec::<(usize, usize)>::new(), |mut merged, (start, end)| {
                match merged.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => merged.push((start, end)),
                }
                merged
            });
    let &(first_match, _) = merged.first()?;
    let (window_start, window_end) = window(text, first_match);
    let mut snippet = String::new();
    if window_start > 0 {
        snippet.push('…');
    }
    let mut at = window_start;
    for (start, end) in merged {
        if start >= window_end {
            break;
        }
        let end = end.min(window_end);
        escape_into(&mut snippet, &text[at..start]);
        snippet.push_str("<em>");
        escape_into(&mut snippet, &text[start..end]);
        snippet.push_str("</em>");
        at = end;
    }
    escape_into(&mut snippet, &text[at..window_end]);
    if window_end < text.len() {
        snippet.push('…');
    }
    Some(snippet)
}

fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
    let after = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
    before && after
}

/// Byte range of the part of `text` to show: all of a short text, else a
/// window starting a little before the first match.
fn window(text: &str, first_match: usize) -> (usize, usize) {
    if text.chars().count() <= SNIPPET_CHARS {
        return (0, text.len());
    }
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let first = boundaries.partition_point(|&i| i < first_match);
    let start = first.saturating_sub(LEAD_CHARS);
    let end = (start + SNIPPET_CHARS).min(boundaries.len() - 1);
    (boundaries[start], boundaries[end])
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn wraps_every_match() {
        assert_eq!(
            highlight("婚姻登记信息", &terms(&["婚姻"])).as_deref(),
            Some("<em>婚姻</em>登记信息")
        );
        assert_eq!(
            highlight("Housing fund loans", &terms(&["fund", "housing"])).as_deref(),
            Some("<em>Housing</em> <em>fund</em> loans")
        );
        assert_eq!(highlight("valid", &terms(&["id"])), None);
        assert_eq!(
            highlight("husband_id_number", &terms(&["id"])).as_deref(),
            Some("husband_<em>id</em>_number")
        );
    }

    #[test]
    fn overlapping_matches_merge_and_markup_is_escaped() {
        assert_eq!(
            highlight("<b>婚姻登记</b>", &terms(&["婚姻登记", "登记"])).as_deref(),
            Some("&lt;b&gt;<em>婚姻登记</em>&lt;/b&gt;")
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{}婚姻{}", "甲".repeat(200), "乙".repeat(200));
        let snippet = highlight(&text, &terms(&["婚姻"])).unwrap_or_default();
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        assert!(snippet.contains("<em>婚姻</em>"), "{snippet}");
        assert!(snippet.chars().count() < 140, "{snippet}");
    }
}
