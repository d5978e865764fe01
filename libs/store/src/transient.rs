//! Telling a database that is unreachable right now (restarting, failing
//! over, the pool exhausted) from one that refused the statement: the
//! first is worth a retry and answers `UNAVAILABLE`, the second is a bug or a
//! conflict and answers what it means.

use sea_orm::sqlx::Error as SqlxError;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

/// SQLSTATE classes of a server going away: 08 connection exception, 57P
/// operator intervention (admin or crash shutdown, cannot connect now).
const UNAVAILABLE_SQLSTATES: [&str; 2] = ["08", "57P"];

/// Whether `error` means the database could not be reached (or went away
/// mid-statement), as opposed to refusing the statement itself.
pub fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            true
        }
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => {
            runtime_unavailable(runtime)
        }
        _ => false,
    }
}

/// [`is_unavailable`] for a failure of any type: true only for a database
/// error that means the database could not be reached. Lets a service's
/// one storage-failure helper take database and other errors alike.
pub fn is_unavailable_failure(failure: &dyn std::any::Any) -> bool {
    failure
        .downcast_ref::<DbErr>()
        .or_else(|| {
            failure
                .downcast_ref::<sea_orm::TransactionError<DbErr>>()
                .map(|error| match error {
                    sea_orm::TransactionError::Connection(error)
                    | sea_orm::TransactionError::Transaction(error) => error,
                })
        })
        .is_some_and(is_unavailable)
}

fn runtime_unavailable(error: &RuntimeErr) -> bool {
    let RuntimeErr::SqlxError(error) = error else {
        return false;
    };
    match error.as_ref() {
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed => true,
        SqlxError::Database(database) => database.code().is_some_and(|code| {
            UNAVAILABLE_SQLSTATES
                .iter()
                .any(|class| code.starts_with(class))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn sqlx(error: SqlxError) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error)))
    }

    #[test]
    fn only_database_failures_can_be_unavailable() {
        let lost = sqlx(SqlxError::PoolTimedOut);
        assert!(is_unavailable_failure(&lost));
        assert!(!is_unavailable_failure(&DbErr::RecordNotFound("x".into())));
        assert!(!is_unavailable_failure(&"pool timed out"));
        assert!(is_unavailable_failure(
            &sea_orm::TransactionError::<DbErr>::Connection(lost)
        ));
    }

    #[test]
    fn lost_connections_and_pool_timeouts_are_unavailable() {
        let reset = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "got 0 bytes at EOF");
        assert!(is_unavailable(&sqlx(SqlxError::Io(reset))));
        assert!(is_unavailable(&sqlx(SqlxError::PoolTimedOut)));
        assert!(is_unavailable(&DbErr::ConnectionAcquire(
            ConnAcquireErr::Timeout
        )));
    }

    #[test]
    fn refused_statements_are_not() {
        assert!(!is_unavailable(&sqlx(SqlxError::RowNotFound)));
        assert!(!is_unavailable(&DbErr::RecordNotFound("item".into())));
        assert!(!is_unavailable(&DbErr::Custom("bad row".into())));
    }

    #[tokio::test]
    async fn a_server_that_is_gone_is_unavailable() {
        let port = zhongtai_testkit::free_port();
        let mut options =
            sea_orm::ConnectOptions::new(format!("postgres://nobody@127.0.0.1:{port}/none"));
        options
            .connect_timeout(std::time::Duration::from_secs(1))
            .acquire_timeout(std::time::Duration::from_secs(1));
        let db = sea_orm::Database::connect(options).await;
        let Err(error) = db else {
            panic!("nothing listens on port {port}, yet a connection was made");
        };
        assert!(is_unavailable(&error), "{error:?}");
    }
}
