//! The certificates part's rules, free of gRPC and storage: what an issue
//! request must satisfy and how it is signed, which status changes are
//! allowed, how status lists are laid out and published, how an online
//! verification is decided, and who may do what.

pub mod access;
pub mod draft;
pub mod form;
pub mod lifecycle;
pub mod lists;
pub mod verdict;
