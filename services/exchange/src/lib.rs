//! Zhongtai exchange center.

#![forbid(unsafe_code)]
