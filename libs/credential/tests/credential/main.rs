//! The credential library as a verifier and the certificate center use it:
//! tokens signed here and checked against a signed trust list.

#![allow(clippy::unwrap_used)] // test helpers

mod batches;
mod fixtures;
mod malformed;
mod qr_codes;
mod trust_list;
mod verification;
