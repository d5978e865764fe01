//! PushChanges and GetPushCursor: a source that cannot expose its log
//! pushes its changes with its own sequence numbers; the line's confirmed
//! position is the cursor it resumes from.

use chrono::Utc;
use futures::{Stream, StreamExt};
use prost::Message;
use tonic::{Request, Response, Status};
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::{ApiError, Caller};

use super::{LineHandlers, id_of};
use crate::convert::{column, operation, time};
use crate::domain::{Change, Line, LineState, PushSourceSpec, SourceBatch, SourceSpec};
use crate::lines::domain::push::{
    Admission, DELIVERY_BATCH, PushRefusal, PushStream, PushedChange,
};

impl LineHandlers {
    /// `request` is the client stream (`tonic::Streaming` in the server);
    /// any stream of messages works, so the stream can be tested directly.
    pub async fn push_changes<S>(
        &self,
        request: Request<S>,
    ) -> Result<Response<pb::PushChangesResponse>, Status>
    where
        S: Stream<Item = Result<pb::PushChangesRequest, Status>> + Send + Unpin,
    {
        let caller = caller(&request)?;
        let mut messages = request.into_inner();
        let header = match messages.next().await {
            Some(Ok(pb::PushChangesRequest {
                message: Some(pb::push_changes_request::Message::Header(header)),
            })) => header,
            Some(Err(status)) => return Err(status),
            _ => {
                return Err(ApiError::invalid_field(
                    "header",
                    "the first message of a push must be its header",
                )
                .into());
            }
        };
        if header.producer_id.chars().count() > 128 {
            return Err(ApiError::invalid_field(
                "header.producer_id",
                "must be at most 128 characters",
            )
            .into());
        }
        let line_id = id_of("header.line_id", &header.line_id)?;
        let (line, spec) = self.producer_line(&caller, line_id).await?;
        let mut cursor = self.store.line_runtime(line.id).await?.confirmed_position;
        let batch_size = DELIVERY_BATCH
            .min(usize::try_from(self.config.batch_max_changes).unwrap_or(DELIVERY_BATCH))
            .max(1);
        let mut stream = PushStream::default();
        let mut batch: Vec<Change> = Vec::new();
        let (mut accepted, mut duplicates) = (0_i64, 0_i64);
        while let Some(message) = messages.next().await {
            let message = message?;
            let size = message.encoded_len();
            let change = match message.message {
                Some(pb::push_changes_request::Message::Change(change)) => change,
                Some(pb::push_changes_request::Message::Header(_)) => {
                    return Err(refused(
                        PushRefusal::Invalid("header".into(), "a stream has one header".into()),
                        cursor,
                    ));
                }
                None => continue,
            };
            stream.count(size).map_err(|r| refused(r, cursor))?;
            let pushed = pushed_change(change).map_err(|r| refused(r, cursor))?;
            match stream
                .admit(line.id, &spec, pushed, cursor, Utc::now())
                .map_err(|r| refused(r, cursor))?
            {
                Admission::Duplicate => duplicates += 1,
                Admission::Accept(change) => {
                    accepted += 1;
                    batch.push(*change);
                }
            }
            if batch.len() >= batch_size {
                cursor = self
                    .deliver(&line, std::mem::take(&mut batch), cursor)
                    .await?;
            }
        }
        if !batch.is_empty() {
            cursor = self.deliver(&line, batch, cursor).await?;
        }
        tracing::debug!(line = %line.id, producer = %header.producer_id, accepted, duplicates, cursor, "push stream ended");
        Ok(Response::new(pb::PushChangesResponse {
            acked_sequence: cursor,
            accepted_count: accepted,
            duplicate_count: duplicates,
        }))
    }

    pub async fn get_push_cursor(
        &self,
        request: Request<pb::GetPushCursorRequest>,
    ) -> Result<Response<pb::GetPushCursorResponse>, Status> {
        let caller = caller(&request)?;
        let line_id = id_of("line_id", &request.get_ref().line_id)?;
        let line = self
            .store
            .find_line(line_id)
            .await?
            .ok_or_else(|| ApiError::not_found("line", &line_id.to_string()))?;
        let producer = matches!(&line.source, SourceSpec::Push(push) if push.producer_subject == caller.subject);
        if !producer && !caller.read_scope().permits(&line.owner) {
            return Err(ApiError::not_found("line", &line_id.to_string()).into());
        }
        let cursor = self.store.line_runtime(line.id).await?.confirmed_position;
        Ok(Response::new(pb::GetPushCursorResponse {
            acked_sequence: cursor,
        }))
    }

    /// The push line `caller` may push to: its producer alone, while the
    /// line runs.
    async fn producer_line(
        &self,
        caller: &Caller,
        line_id: uuid::Uuid,
    ) -> Result<(Line, PushSourceSpec), ApiError> {
        let line = self
            .store
            .find_line(line_id)
            .await?
            .ok_or_else(|| ApiError::not_found("line", &line_id.to_string()))?;
        let SourceSpec::Push(spec) = &line.source else {
            return Err(ApiError::failed_precondition(format!(
                "line {} reads its source itself; only push lines take pushed changes",
                line.name
            )));
        };
        if spec.producer_subject != caller.subject {
            return Err(ApiError::permission_denied(
                "NOT_LINE_PRODUCER",
                format!(
                    "{} is not the producer of line {}",
                    caller.subject, line.name
                ),
            ));
        }
        if !line.is_runnable() {
            let why = match line.state {
                LineState::Paused => "paused",
                LineState::Deleted => "deleted",
                _ => "failed",
            };
            return Err(ApiError::failed_precondition(format!(
                "line {} is {why} and takes no changes",
                line.name
            )));
        }
        let spec = spec.clone();
        Ok((line, spec))
    }

    /// Hands one batch to delivery; the cursor moves only once it is
    /// durably downstream.
    async fn deliver(&self, line: &Line, changes: Vec<Change>, cursor: u64) -> Result<u64, Status> {
        let Some(last) = changes.last().map(|c| c.position) else {
            return Ok(cursor);
        };
        let batch = SourceBatch {
            changes,
            confirm_position: last,
        };
        match self.delivery.deliver(line, batch).await {
            Ok(()) => Ok(last),
            Err(error) => {
                tracing::warn!(line = %line.id, %error, cursor, "pushed changes not delivered");
                Err(Status::unavailable(format!(
                    "delivery failed ({error}); acked sequence {cursor}: resume after it \
                     (GetPushCursor)"
                )))
            }
        }
    }
}

fn pushed_change(change: pb::PushedChange) -> Result<PushedChange, PushRefusal> {
    let columns = |field: &str, values: &[pb::ColumnValue]| {
        values
            .iter()
            .map(column)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|problem| PushRefusal::Invalid(format!("change.{field}"), problem))
    };
    let commit_time = match &change.commit_time {
        Some(at) => Some(time(at).ok_or_else(|| {
            PushRefusal::Invalid("change.commit_time".into(), "is out of range".into())
        })?),
        None => None,
    };
    Ok(PushedChange {
        sequence: change.sequence,
        operation: operation(change.operation),
        key: columns("key", &change.key)?,
        before: columns("before", &change.before)?,
        after: columns("after", &change.after)?,
        table: change.table,
        commit_time,
        transaction_id: change.transaction_id,
    })
}

/// The status a refused stream ends with; the cursor tells the producer
/// where to resume.
fn refused(refusal: PushRefusal, cursor: u64) -> Status {
    match refusal {
        PushRefusal::Invalid(field, problem) => {
            ApiError::invalid_field(field, format!("{problem} (acked sequence {cursor})")).into()
        }
        PushRefusal::TooLarge(message) => {
            Status::resource_exhausted(format!("{message}; acked sequence {cursor}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The server hands `tonic::Streaming`; the call must be a `Send`
    /// future for the service trait.
    #[allow(dead_code)]
    fn server_streams_are_accepted(
        handlers: &LineHandlers,
        request: Request<tonic::Streaming<pb::PushChangesRequest>>,
    ) {
        let call = handlers.push_changes(request);
        assert_send(&call);
    }
}
