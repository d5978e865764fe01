//! Zhongtai e-certificates and presentation codes, verifiable offline.
