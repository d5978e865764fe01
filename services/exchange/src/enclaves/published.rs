//! The events enclaves publish, built from domain values: routing key,
//! tenant, subject (the enclave id) and the contract payload.

use chrono::{DateTime, Utc};
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::Actor;
use zhongtai_kit::proto::{actor_message, tenant_message, timestamp};

use super::convert::{enclave_message, rule_message, table_message};
use super::domain::{BackflowRule, Enclave, TableDef};

pub fn enclave_created(enclave: &Enclave, actor: &Actor) -> Event {
    Event::new(
        "exchange.enclave.created",
        enclave.tenant.key(),
        enclave.id.to_string(),
        &events::EnclaveCreated {
            enclave: Some(enclave_message(enclave, &[], &[])),
            actor: Some(actor_message(actor)),
        },
    )
}

pub fn table_created(enclave: &Enclave, table: &TableDef, actor: &Actor) -> Event {
    Event::new(
        "exchange.enclave.table_created",
        enclave.tenant.key(),
        enclave.id.to_string(),
        &events::EnclaveTableCreated {
            enclave_id: enclave.id.to_string(),
            tenant: Some(tenant_message(&enclave.tenant)),
            table: Some(table_message(table)),
            actor: Some(actor_message(actor)),
        },
    )
}

pub fn rule_added(enclave: &Enclave, rule: &BackflowRule, actor: &Actor) -> Event {
    Event::new(
        "exchange.enclave.backflow_rule_added",
        enclave.tenant.key(),
        enclave.id.to_string(),
        &events::EnclaveBackflowRuleAdded {
            enclave_id: enclave.id.to_string(),
            tenant: Some(tenant_message(&enclave.tenant)),
            rule: Some(rule_message(rule)),
            actor: Some(actor_message(actor)),
        },
    )
}

pub fn rule_removed(enclave: &Enclave, rule: &BackflowRule, actor: &Actor) -> Event {
    Event::new(
        "exchange.enclave.backflow_rule_removed",
        enclave.tenant.key(),
        enclave.id.to_string(),
        &events::EnclaveBackflowRuleRemoved {
            enclave_id: enclave.id.to_string(),
            tenant: Some(tenant_message(&enclave.tenant)),
            rule: Some(rule_message(rule)),
            actor: Some(actor_message(actor)),
        },
    )
}

/// Published to the enclave's tenant, who should learn of the attempt.
pub fn access_refused(
    enclave: &Enclave,
    actor: &Actor,
    operation: &str,
    table: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Event {
    Event::new(
        "exchange.enclave.access_refused",
        enclave.tenant.key(),
        enclave.id.to_string(),
        &events::EnclaveAccessRefused {
            enclave_id: enclave.id.to_string(),
            enclave_tenant: Some(tenant_message(&enclave.tenant)),
            actor: Some(actor_message(actor)),
            operation: operation.to_string(),
            table: table.to_string(),
            reason: reason.to_string(),
            time: Some(timestamp(at)),
        },
    )
}
