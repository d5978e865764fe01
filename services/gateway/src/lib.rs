//! Zhongtai gateway center.

#![forbid(unsafe_code)]
