//! Terms of catalog text, Chinese and English alike. Chinese has no spaces,
//! so words come from jieba's dictionary segmentation; ASCII words are
//! lowercased and split at connectors (`id_number` → `id`, `number`).
//!
//! Documents are cut in search mode, which keeps each word and also its
//! dictionary sub-words (婚姻登记 → 婚姻, 登记, 婚姻登记), while queries
//! are cut in precise mode: every query word then finds documents holding
//! it either whole or inside a longer word. Documents are also indexed
//! under each Han character of their words, because people type one
//! character (婚) or a fragment jieba splits into characters and expect
//! the words holding them.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use jieba_rs::Jieba;

/// The dictionary loads once per process (it takes a moment).
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Words too common to tell documents apart.
const STOP_WORDS: &[&str] = &[
    "的", "了", "和", "与", "及", "或", "之", "在", "是", "a", "an", "and", "of", "or", "the", "to",
];

/// Longest term kept, in characters; longer tokens are noise.
const MAX_TERM_CHARS: usize = 64;

/// Terms a document is indexed under (deduplicated, sorted).
pub fn document_terms(text: &str) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    for token in JIEBA.cut_for_search(text, true) {
        let word = token.word.to_lowercase();
        let parts = ascii_parts(&word);
        if parts.len() > 1 {
            keep(&mut terms, &word);
        }
        for part in parts {
            keep(&mut terms, part);
        }
        if word.chars().nth(1).is_some() {
            for han in word.chars().filter(|c| is_han(*c)) {
                keep(&mut terms, han.encode_utf8(&mut [0; 4]));
            }
        }
    }
    terms
}

/// CJK unified ideographs, the basic block and extension A.
fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// Terms of a query, each of which a match must hold (deduplicated, in
/// query order).
pub fn query_terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for token in JIEBA.cut(text, true) {
        let word = token.word.to_lowercase();
        for part in ascii_parts(&word) {
            if is_term(part) && !terms.iter().any(|t| t == part) {
                terms.push(part.to_string());
            }
        }
    }
    terms
}

/// An ASCII token split at everything but letters and digits; other
/// tokens whole.
fn ascii_parts(word: &str) -> Vec<&str> {
    if word.is_ascii() {
        word.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|part| !part.is_empty())
            .collect()
    } else {
        vec![word]
    }
}

fn is_term(word: &str) -> bool {
    word.chars().any(char::is_alphanumeric)
        && word.chars().count() <= MAX_TERM_CHARS
        && !STOP_WORDS.contains(&word)
}

fn keep(terms: &mut BTreeSet<String>, word: &str) {
    if is_term(word) {
        terms.insert(word.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_words_are_found_inside_longer_ones() {
        let terms = document_terms("婚姻登记信息");
        assert!(terms.contains("婚姻"), "{terms:?}");
        assert!(terms.contains("登记"), "{terms:?}");
        for term in query_terms("婚姻登记信息") {
            assert!(terms.contains(&term), "{term} missing from {terms:?}");
        }
        assert_eq!(query_terms("婚姻"), ["婚姻"]);
    }

    #[test]
    fn single_characters_find_the_words_holding_them() {
        let terms = document_terms("婚姻登记信息");
        for term in query_terms("婚") {
            assert!(terms.contains(&term), "{term} missing from {terms:?}");
        }
        assert!(
            !document_terms("婚姻的登记").contains("的"),
            "stop words stay out"
        );
    }

    #[test]
    fn ascii_is_lowercased_and_split_at_connectors() {
        let terms = document_terms("Husband_ID_Number of the Housing-Fund");
        for expected in [
            "husband_id_number",
            "husband",
            "id",
            "number",
            "housing",
            "fund",
        ] {
            assert!(
                terms.contains(expected),
                "{expected} missing from {terms:?}"
            );
        }
        assert!(!terms.contains("the"), "stop words are dropped: {terms:?}");
        assert_eq!(
            query_terms("husband_ID_number"),
            ["husband", "id", "number"]
        );
    }

    #[test]
    fn punctuation_and_sql_are_just_text() {
        assert!(query_terms("%").is_empty());
        assert!(query_terms("_").is_empty());
        assert!(query_terms("  ，。！ ").is_empty());
        assert_eq!(
            query_terms("'; DROP TABLE resources; --"),
            ["drop", "table", "resources"]
        );
    }

    #[test]
    fn mixed_text_keeps_both_scripts() {
        let terms = query_terms("公积金 loan 婚姻");
        assert!(terms.contains(&"loan".to_string()), "{terms:?}");
        assert!(terms.contains(&"婚姻".to_string()), "{terms:?}");
    }
}
