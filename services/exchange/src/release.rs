//! A deleted log line gives its source back what it took: the replication
//! slot (which would otherwise pin the department's WAL for ever) and the
//! publication, when the line created them. Done in the background, by
//! whichever instance gets there first, and retried until the source
//! answers; dropping twice is harmless.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use zhongtai_kit::BackgroundTask;

use crate::capture::LogCapture;
use crate::domain::{ExchangeError, SourceSpec};
use crate::store::SeaLines;

/// How often deleted lines are looked for.
const INTERVAL: Duration = Duration::from_secs(5);

pub fn background(
    store: Arc<SeaLines>,
    capture: LogCapture,
    stop: CancellationToken,
) -> Vec<BackgroundTask> {
    vec![Box::pin(async move {
        zhongtai_kit::timers::every("exchange.release-sources", INTERVAL, stop, move || {
            let (store, capture) = (store.clone(), capture.clone());
            async move { release_deleted(&store, &capture).await }
        })
        .await;
    })]
}

/// Releases what it can; the count is of lines released this round.
async fn release_deleted(store: &SeaLines, capture: &LogCapture) -> Result<usize, ExchangeError> {
    let mut released = 0;
    for line in store.lines_awaiting_release().await? {
        let SourceSpec::Log(spec) = &line.source else {
            continue;
        };
        match capture.drop_source_objects(line.id, spec).await {
            Ok(()) => {
                tracing::info!(line.id = %line.id, "deleted line's slot and publication dropped");
                store.mark_source_released(line.id).await?;
                released += 1;
            }
            Err(error) => {
                tracing::warn!(line.id = %line.id, %error, "cannot drop a deleted line's slot yet");
            }
        }
    }
    Ok(released)
}
