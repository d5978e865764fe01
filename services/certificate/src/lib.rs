//! Zhongtai certificate center.

#![forbid(unsafe_code)]
