//! The production [`SourceOpener`]: PostgreSQL logical replication.

use async_trait::async_trait;
use uuid::Uuid;

use super::{LogResume, SourceOpener};
use crate::capture::{LogCapture, Resume};
use crate::domain::flow::{ChangeSource, FlowError};
use crate::domain::line::LogSourceSpec;

#[async_trait]
impl SourceOpener for LogCapture {
    async fn open(
        &self,
        line_id: Uuid,
        spec: &LogSourceSpec,
        resume: LogResume,
    ) -> Result<Box<dyn ChangeSource>, FlowError> {
        let resume = Resume {
            confirmed_position: resume.confirmed_position,
            snapshot: resume.snapshot,
            batch_max_changes: usize::try_from(resume.batch_max_changes).unwrap_or(usize::MAX),
        };
        LogCapture::open(self, line_id, spec, resume).await
    }
}
