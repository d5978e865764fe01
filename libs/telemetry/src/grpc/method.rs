//! Per-method metric handles of one layer, looked up by request path without
//! allocating, with a cap so arbitrary paths sent by a client cannot grow the
//! label set without bound.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::metrics::grpc::{MethodMetrics, Side};

/// Distinct methods tracked per layer before further ones share one label.
/// Real services have a few dozen.
const MAX_METHODS: usize = 256;

/// The `method` label of calls beyond [`MAX_METHODS`].
const OVERFLOW_METHOD: &str = "other";

pub(crate) struct MethodTable {
    side: Side,
    service: Arc<str>,
    methods: RwLock<HashMap<Box<str>, Arc<MethodMetrics>>>,
    overflow: Arc<MethodMetrics>,
}

impl MethodTable {
    pub(crate) fn new(side: Side, service: Arc<str>) -> Self {
        let overflow = Arc::new(MethodMetrics::new(
            side,
            service.clone(),
            OVERFLOW_METHOD.to_string(),
        ));
        Self {
            side,
            service,
            methods: RwLock::new(HashMap::new()),
            overflow,
        }
    }

    /// The service label of this table (server: itself; client: the target).
    pub(crate) fn service(&self) -> &str {
        &self.service
    }

    /// The handles for the call to `path` (`/package.Service/Method`).
    pub(crate) fn get(&self, path: &str) -> Arc<MethodMetrics> {
        {
            let methods = self.methods.read().unwrap_or_else(|p| p.into_inner());
            if let Some(metrics) = methods.get(path) {
                return metrics.clone();
            }
        }
        let mut methods = self.methods.write().unwrap_or_else(|p| p.into_inner());
        if let Some(metrics) = methods.get(path) {
            return metrics.clone();
        }
        if methods.len() >= MAX_METHODS {
            return self.overflow.clone();
        }
        let metrics = Arc::new(MethodMetrics::new(
            self.side,
            self.service.clone(),
            method_label(path).to_string(),
        ));
        methods.insert(path.into(), metrics.clone());
        metrics
    }
}

/// `package.Service/Method` from the request path.
fn method_label(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// `(package.Service, Method)` from the request path; an unexpected shape
/// puts the whole path in the method.
pub(crate) fn split_path(path: &str) -> (&str, &str) {
    method_label(path).split_once('/').unwrap_or(("", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_grpc_paths() {
        assert_eq!(
            split_path("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(split_path("/weird"), ("", "/weird"));
        assert_eq!(method_label("/a.B/C"), "a.B/C");
    }

    #[test]
    fn same_path_same_handles_and_capped_growth() {
        let table = MethodTable::new(Side::Server, Arc::from("method-table-test"));
        let first = table.get("/a.B/C");
        assert!(Arc::ptr_eq(&first, &table.get("/a.B/C")));
        for i in 0..(MAX_METHODS + 10) {
            table.get(&format!("/scan.Attack/M{i}"));
        }
        let len = table.methods.read().map(|m| m.len()).unwrap_or_default();
        assert_eq!(len, MAX_METHODS);
        assert!(Arc::ptr_eq(
            &table.get("/scan.Attack/Another"),
            &table.overflow
        ));
        assert!(Arc::ptr_eq(&first, &table.get("/a.B/C")));
    }
}
