//! The shared counters in SQL: one guarded upsert per lease, so two
//! instances never both take the last of an allowance. The statements run
//! unchanged on PostgreSQL and SQLite ≥ 3.35 (`ON CONFLICT … DO UPDATE …
//! WHERE … RETURNING`); only the placeholder sign differs.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use uuid::Uuid;

use super::gcra::Gcra;
use crate::domain::{GatewayError, QuotaWindow};

/// Which counters: one app on one capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CounterKey {
    pub app_id: Uuid,
    pub capability: String,
}

/// Advances the shared TAT by `cells` calls if they all fit at `now_us`;
/// returns the new TAT, or `None` when they do not fit (nothing changed).
/// `cells` must be at most the burst, so a first row always fits.
pub async fn lease_rate(
    db: &DatabaseConnection,
    key: &CounterKey,
    gcra: &Gcra,
    now_us: i64,
    cells: u64,
) -> Result<Option<i64>, GatewayError> {
    // The TAT never falls behind now: an idle limit starts from now.
    const SQL: &str = r#"
        INSERT INTO rate_states (app_id, capability, theoretical_arrival_us)
        VALUES ($1, $2, $3 + $4)
        ON CONFLICT (app_id, capability) DO UPDATE
        SET theoretical_arrival_us = (CASE WHEN rate_states.theoretical_arrival_us > $3
            THEN rate_states.theoretical_arrival_us ELSE $3 END) + $4
        WHERE (CASE WHEN rate_states.theoretical_arrival_us > $3
            THEN rate_states.theoretical_arrival_us ELSE $3 END) + $4 - $3 <= $5
        RETURNING theoretical_arrival_us"#;
    let values = vec![
        key.app_id.to_string().into(),
        key.capability.clone().into(),
        now_us.into(),
        gcra.cost_us(cells).into(),
        gcra.capacity_us().into(),
    ];
    let row = db
        .query_one_raw(statement(db, SQL, values))
        .await
        .map_err(GatewayError::storage)?;
    row.map(|row| row.try_get_by_index::<i64>(0))
        .transpose()
        .map_err(GatewayError::storage)
}

/// The shared TAT, if the limit was ever used.
pub async fn rate_tat(
    db: &DatabaseConnection,
    key: &CounterKey,
) -> Result<Option<i64>, GatewayError> {
    const SQL: &str = "SELECT theoretical_arrival_us FROM rate_states \
        WHERE app_id = $1 AND capability = $2";
    let values = vec![key.app_id.to_string().into(), key.capability.clone().into()];
    let row = db
        .query_one_raw(statement(db, SQL, values))
        .await
        .map_err(GatewayError::storage)?;
    row.map(|row| row.try_get_by_index::<i64>(0))
        .transpose()
        .map_err(GatewayError::storage)
}

/// Gives back `cost_us` of the TAT (calls leased and not made).
pub async fn return_rate(
    db: &DatabaseConnection,
    key: &CounterKey,
    cost_us: i64,
) -> Result<(), GatewayError> {
    const SQL: &str = "UPDATE rate_states SET theoretical_arrival_us = theoretical_arrival_us - $3 \
        WHERE app_id = $1 AND capability = $2";
    let values = vec![
        key.app_id.to_string().into(),
        key.capability.clone().into(),
        cost_us.into(),
    ];
    execute(db, SQL, values).await
}

/// Adds `count` to the window's counter if it stays within `limit`;
/// returns the new count, or `None` when it would not (nothing changed).
/// `count` must be at most `limit`, so a first row always fits.
pub async fn lease_quota(
    db: &DatabaseConnection,
    key: &CounterKey,
    window: QuotaWindow,
    window_start: DateTime<Utc>,
    count: u64,
    limit: u64,
) -> Result<Option<u64>, GatewayError> {
    const SQL: &str = r#"
        INSERT INTO quota_counters (app_id, capability, "window", window_start, used)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (app_id, capability, "window", window_start) DO UPDATE
        SET used = quota_counters.used + $5
        WHERE quota_counters.used + $5 <= $6
        RETURNING used"#;
    let values = vec![
        key.app_id.to_string().into(),
        key.capability.clone().into(),
        window.as_str().into(),
        window_start.into(),
        signed(count).into(),
        signed(limit).into(),
    ];
    let row = db
        .query_one_raw(statement(db, SQL, values))
        .await
        .map_err(GatewayError::storage)?;
    row.map(|row| row.try_get_by_index::<i64>(0).map(unsigned))
        .transpose()
        .map_err(GatewayError::storage)
}

/// Calls counted in the window so far (leases included).
pub async fn quota_used(
    db: &DatabaseConnection,
    key: &CounterKey,
    window: QuotaWindow,
    window_start: DateTime<Utc>,
) -> Result<u64, GatewayError> {
    const SQL: &str = r#"SELECT used FROM quota_counters
        WHERE app_id = $1 AND capability = $2 AND "window" = $3 AND window_start = $4"#;
    let values = vec![
        key.app_id.to_string().into(),
        key.capability.clone().into(),
        window.as_str().into(),
        window_start.into(),
    ];
    let row = db
        .query_one_raw(statement(db, SQL, values))
        .await
        .map_err(GatewayError::storage)?;
    match row {
        Some(row) => row
            .try_get_by_index::<i64>(0)
            .map(unsigned)
            .map_err(GatewayError::storage),
        None => Ok(0),
    }
}

/// Takes `count` leased and unspent calls off the window's counter.
pub async fn return_quota(
    db: &DatabaseConnection,
    key: &CounterKey,
    window: QuotaWindow,
    window_start: DateTime<Utc>,
    count: u64,
) -> Result<(), GatewayError> {
    const SQL: &str = r#"UPDATE quota_counters SET used = used - $5
        WHERE app_id = $1 AND capability = $2 AND "window" = $3 AND window_start = $4
        AND used >= $5"#;
    let values = vec![
        key.app_id.to_string().into(),
        key.capability.clone().into(),
        window.as_str().into(),
        window_start.into(),
        signed(count).into(),
    ];
    execute(db, SQL, values).await
}

/// Remembers every (app key, nonce) of `claims` not seen before, in one
/// statement; returns the pairs that were new.
pub async fn insert_nonces(
    db: &DatabaseConnection,
    claims: &[(String, String, DateTime<Utc>)],
) -> Result<std::collections::HashSet<(String, String)>, GatewayError> {
    if claims.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let mut sql = String::from("INSERT INTO request_nonces (app_key, nonce, expires_at) VALUES ");
    let mut values = Vec::with_capacity(claims.len() * 3);
    for (i, (app_key, nonce, expires_at)) in claims.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let n = i * 3;
        sql.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
        values.push(app_key.clone().into());
        values.push(nonce.clone().into());
        values.push((*expires_at).into());
    }
    sql.push_str(" ON CONFLICT (app_key, nonce) DO NOTHING RETURNING app_key, nonce");
    let rows = db
        .query_all_raw(statement(db, &sql, values))
        .await
        .map_err(GatewayError::storage)?;
    rows.into_iter()
        .map(|row| {
            Ok((
                row.try_get_by_index::<String>(0)
                    .map_err(GatewayError::storage)?,
                row.try_get_by_index::<String>(1)
                    .map_err(GatewayError::storage)?,
            ))
        })
        .collect()
}

/// Forgets nonces that expired by `now`; returns how many.
pub async fn delete_expired_nonces(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<u64, GatewayError> {
    const SQL: &str = "DELETE FROM request_nonces WHERE expires_at <= $1";
    let result = db
        .execute_raw(statement(db, SQL, vec![now.into()]))
        .await
        .map_err(GatewayError::storage)?;
    Ok(result.rows_affected())
}

async fn execute(
    db: &DatabaseConnection,
    sql: &str,
    values: Vec<Value>,
) -> Result<(), GatewayError> {
    db.execute_raw(statement(db, sql, values))
        .await
        .map(|_| ())
        .map_err(GatewayError::storage)
}

/// The statement with `$n` placeholders as the backend spells them (SQLite:
/// `?n`, which also allows one parameter to be used several times).
fn statement(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Counts are stored as BIGINT; anything beyond is clamped, not wrapped.
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
