//! Zhongtai approval center.

#![forbid(unsafe_code)]
