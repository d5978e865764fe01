//! Tests of the certificates part.
