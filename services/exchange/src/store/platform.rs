//! Entry points to the tables no tenant owns: the catalog's grants as the
//! center heard them, and the runtime rows keyed by line. Callers reach
//! them through a line or grant they already resolved.

#![allow(clippy::disallowed_methods)] // platform-wide tables, no tenant columns

use sea_orm::{EntityTrait, Select, UpdateMany};

use super::entities::{grant, line_runtime};

pub(super) fn grants() -> Select<grant::Entity> {
    grant::Entity::find()
}

pub(super) fn update_grants() -> UpdateMany<grant::Entity> {
    grant::Entity::update_many()
}

pub(super) fn runtimes() -> Select<line_runtime::Entity> {
    line_runtime::Entity::find()
}

pub(super) fn update_runtimes() -> UpdateMany<line_runtime::Entity> {
    line_runtime::Entity::update_many()
}
