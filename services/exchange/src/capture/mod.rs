//! (part of the exchange center; see the crate docs)
