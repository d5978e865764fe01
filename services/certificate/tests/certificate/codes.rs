//! Tests of the codes part.
