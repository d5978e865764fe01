//! Tests of the consents part.
