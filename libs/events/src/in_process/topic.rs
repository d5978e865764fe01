//! AMQP topic matching: routing keys and patterns are dot-separated words;
//! `*` matches exactly one word, `#` zero or more.

/// True when `routing_key` matches the binding `pattern`.
pub(crate) fn matches(pattern: &str, routing_key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = routing_key.split('.').collect();
    matches_words(&pattern, &key)
}

fn matches_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"#", rest)) => {
            // Consecutive `#` behave like one; skipping them keeps the
            // search from multiplying.
            let rest_start = rest.iter().take_while(|w| **w == "#").count();
            let rest = &rest[rest_start..];
            (0..=key.len()).any(|skip| matches_words(rest, &key[skip..]))
        }
        Some((&"*", rest)) => !key.is_empty() && matches_words(rest, &key[1..]),
        Some((word, rest)) => key.first() == Some(word) && matches_words(rest, &key[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(matches(
            "approval.application.approved",
            "approval.application.approved"
        ));
        assert!(!matches(
            "approval.application.approved",
            "approval.application.rejected"
        ));
        assert!(!matches(
            "approval.application",
            "approval.application.approved"
        ));
    }

    #[test]
    fn star_matches_exactly_one_word() {
        assert!(matches(
            "approval.application.*",
            "approval.application.approved"
        ));
        assert!(matches(
            "*.application.approved",
            "approval.application.approved"
        ));
        assert!(!matches("approval.application.*", "approval.application"));
        assert!(!matches("approval.*", "approval.application.approved"));
        assert!(matches("*.*.*", "a.b.c"));
    }

    #[test]
    fn hash_matches_zero_or_more_words() {
        assert!(matches("#", "approval.application.approved"));
        assert!(matches("approval.#", "approval.application.approved"));
        assert!(matches("approval.#", "approval"));
        assert!(matches("#.approved", "approval.application.approved"));
        assert!(matches("approval.#.approved", "approval.approved"));
        assert!(matches("approval.#.approved", "approval.a.b.c.approved"));
        assert!(!matches("approval.#.approved", "approval.a.b.c.rejected"));
        assert!(!matches("certificate.#", "approval.application.approved"));
        assert!(matches("#.#.x", "x"));
        assert!(matches("a.#.*", "a.b"));
        assert!(!matches("a.#.*", "a"));
    }
}
