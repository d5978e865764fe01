//! The `zhongtai.exchange.v1.EnclaveService`.

use zhongtai_contracts::exchange::v1::enclave_service_server::EnclaveService;

/// Every method answers UNIMPLEMENTED for now.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnclaveApi;

#[tonic::async_trait]
impl EnclaveService for EnclaveApi {}
