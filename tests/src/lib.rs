//! Shared harness for the cross-service scenario tests.
