//! Zhongtai catalog center.

#![forbid(unsafe_code)]
