//! Masking (脱敏) of granted fields, and which of two rules is stricter:
//! a grant may only make a field's default masking stricter, never lighter.

use serde::{Deserialize, Serialize};

/// Longest prefix or suffix a partial mask may keep visible.
pub const MAX_KEEP: i32 = 1000;

/// How a field's values are disguised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskingKind {
    /// Delivered as they are.
    None,
    /// Leading and trailing characters kept, the rest replaced.
    Partial,
    /// A keyed hash: joinable, not readable.
    Hash,
    /// Every character replaced.
    Redact,
    /// Delivered as NULL.
    Nullify,
}

impl MaskingKind {
    /// Position in the strictness order none < partial < hash < redact <
    /// nullify.
    fn rank(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Partial => 1,
            Self::Hash => 2,
            Self::Redact => 3,
            Self::Nullify => 4,
        }
    }
}

/// A masking rule exactly as its author wrote it (a default is handed on
/// unchanged, `mask_character` included).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MaskingRule {
    pub kind: MaskingKind,
    pub keep_first: i32,
    pub keep_last: i32,
    /// One character, or empty for the default `*`.
    pub mask_character: String,
}

impl MaskingRule {
    /// The rule of that kind with no parameters.
    pub fn of(kind: MaskingKind) -> Self {
        Self {
            kind,
            keep_first: 0,
            keep_last: 0,
            mask_character: String::new(),
        }
    }

    /// What is wrong with the rule, as (sub-field, problem) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let partial = self.kind == MaskingKind::Partial;
        for (name, keep) in [
            ("keep_first", self.keep_first),
            ("keep_last", self.keep_last),
        ] {
            if !(0..=MAX_KEEP).contains(&keep) {
                problems.push((name, format!("must be 0..{MAX_KEEP}")));
            } else if keep != 0 && !partial {
                problems.push((name, "is only meaningful for PARTIAL masking".to_string()));
            }
        }
        let characters = self.mask_character.chars().count();
        if characters > 1 {
            problems.push(("mask_character", "must be a single character".to_string()));
        } else if characters == 1
            && !matches!(self.kind, MaskingKind::Partial | MaskingKind::Redact)
        {
            problems.push((
                "mask_character",
                "is only meaningful for PARTIAL and REDACT masking".to_string(),
            ));
        }
        problems
    }

    /// Compares strictness: a higher kind is stricter, and between two
    /// partial masks the one keeping fewer characters visible is.
    fn strictness(&self) -> (u8, i64) {
        let hidden = if self.kind == MaskingKind::Partial {
            -(i64::from(self.keep_first) + i64::from(self.keep_last))
        } else {
            0
        };
        (self.kind.rank(), hidden)
    }
}

/// Whether a rule masks anything; an absent rule does not.
fn masks(rule: Option<&MaskingRule>) -> Option<&MaskingRule> {
    rule.filter(|rule| rule.kind != MaskingKind::None)
}

/// The masking a grant applies to a field: the stricter of the requested
/// rule and the field's default. The default wins only when it is strictly
/// stricter, and is then copied exactly; `None` means unmasked.
pub fn effective(
    requested: Option<&MaskingRule>,
    default: Option<&MaskingRule>,
) -> Option<MaskingRule> {
    match (masks(requested), masks(default)) {
        (None, None) => None,
        (Some(requested), None) => Some(requested.clone()),
        (None, Some(default)) => Some(default.clone()),
        (Some(requested), Some(default)) => {
            if default.strictness() > requested.strictness() {
                Some(default.clone())
            } else {
                Some(requested.clone())
            }
        }
    }
}

/// The strictest of several rules for one field (for a union of grants).
pub fn strictest<'a>(
    rules: impl IntoIterator<Item = Option<&'a MaskingRule>>,
) -> Option<MaskingRule> {
    rules
        .into_iter()
        .fold(None, |strictest, rule| effective(strictest.as_ref(), rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(keep_first: i32, keep_last: i32) -> MaskingRule {
        MaskingRule {
            keep_first,
            keep_last,
            ..MaskingRule::of(MaskingKind::Partial)
        }
    }

    #[test]
    fn the_order_is_none_partial_hash_redact_nullify() {
        let order = [
            MaskingKind::None,
            MaskingKind::Partial,
            MaskingKind::Hash,
            MaskingKind::Redact,
            MaskingKind::Nullify,
        ];
        for (i, lighter) in order.iter().enumerate() {
            for stricter in &order[i + 1..] {
                let (lighter, stricter) = (MaskingRule::of(*lighter), MaskingRule::of(*stricter));
                assert_eq!(
                    effective(Some(&lighter), Some(&stricter)).as_ref(),
                    masks(Some(&stricter))
                );
                assert_eq!(
                    effective(Some(&stricter), Some(&lighter)).as_ref(),
                    masks(Some(&stricter))
                );
            }
        }
    }

    #[test]
    fn a_partial_mask_keeping_fewer_characters_is_stricter() {
        let keep_four = partial(0, 4);
        let keep_two = partial(1, 1);
        assert_eq!(
            effective(Some(&keep_four), Some(&keep_two)),
            Some(keep_two.clone())
        );
        assert_eq!(effective(Some(&keep_two), Some(&keep_four)), Some(keep_two));
    }

    #[test]
    fn the_default_is_copied_exactly_when_it_wins() {
        let default = MaskingRule {
            mask_character: "#".into(),
            ..partial(0, 4)
        };
        assert_eq!(effective(None, Some(&default)), Some(default.clone()));
        let none = MaskingRule::of(MaskingKind::None);
        assert_eq!(effective(Some(&none), Some(&default)), Some(default));
    }

    #[test]
    fn equal_strictness_keeps_the_request_and_nothing_masks_nothing() {
        let requested = partial(4, 0);
        let default = partial(0, 4);
        assert_eq!(effective(Some(&requested), Some(&default)), Some(requested));
        assert_eq!(effective(None, None), None);
        let none = MaskingRule::of(MaskingKind::None);
        assert_eq!(effective(Some(&none), Some(&none)), None);
        let hash = MaskingRule::of(MaskingKind::Hash);
        assert_eq!(effective(Some(&hash), None), Some(hash));
    }

    #[test]
    fn strictest_of_many() {
        let rules = [
            Some(partial(0, 4)),
            None,
            Some(MaskingRule::of(MaskingKind::Redact)),
        ];
        assert_eq!(
            strictest(rules.iter().map(Option::as_ref)),
            Some(MaskingRule::of(MaskingKind::Redact))
        );
        assert_eq!(strictest([None, None]), None);
    }

    #[test]
    fn problems_name_the_offending_parameter() {
        assert!(partial(0, 4).problems().is_empty());
        assert_eq!(partial(-1, 0).problems()[0].0, "keep_first");
        let hash_keeping = MaskingRule {
            keep_last: 4,
            ..MaskingRule::of(MaskingKind::Hash)
        };
        assert_eq!(hash_keeping.problems()[0].0, "keep_last");
        let long_mask = MaskingRule {
            mask_character: "**".into(),
            ..MaskingRule::of(MaskingKind::Redact)
        };
        assert_eq!(long_mask.problems()[0].0, "mask_character");
        let redact = MaskingRule {
            mask_character: "某".into(),
            ..MaskingRule::of(MaskingKind::Redact)
        };
        assert!(redact.problems().is_empty());
    }
}
