//! Trust list.
