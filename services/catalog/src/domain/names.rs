//! Stored names of the domain's enumerations: the text the database keeps,
//! so a renamed variant never silently changes what rows mean.

/// Implements `ALL`, `as_str` and `from_name` for a fieldless enum from a
/// `Variant => "name"` table.
macro_rules! stored_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            /// Inverse of `as_str`.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == name)
            }
        }
    };
}

pub(crate) use stored_names;
