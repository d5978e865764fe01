//! Use cases on applications: submitting and reading them. The actions on
//! running applications are in [`super::actions`].
//!
//! Who may see an application: any caller whose read scope contains one of
//! its parties (the handling tenant, the applicant's tenant, the tenant of
//! any department-role assignee), or a user it assigned a task by name.
//! Everybody else gets NOT_FOUND.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::{Caller, Page, PageQuery, TenantId, TenantScope, audit_trail};

use super::application::{
    Acting, Application, HistoryEntry, ItemSelector, SubmissionDraft, Task, TaskStatus,
};
use super::error::ApprovalError;
use super::ports::{
    ApplicationFilter, ApplicationRepository, CreateOutcome, ItemLookup, ProcessRepository,
    ServiceItemRepository, TaskHolder, Viewer,
};
use super::process::{ProcessDefinition, ProcessState};
use super::service_item::{ItemKind, ItemState, ServiceItem};
use super::service_items::{check_request_id, tenant_mismatch};

/// History entries GetApplication returns at most.
pub const HISTORY_IN_GET: u64 = 1000;

/// Application operations on behalf of a caller.
#[derive(Clone)]
pub struct Applications {
    pub(super) repository: Arc<dyn ApplicationRepository>,
    items: Arc<dyn ServiceItemRepository>,
    processes: Arc<dyn ProcessRepository>,
}

impl Applications {
    pub fn new(
        repository: Arc<dyn ApplicationRepository>,
        items: Arc<dyn ServiceItemRepository>,
        processes: Arc<dyn ProcessRepository>,
    ) -> Self {
        Self {
            repository,
            items,
            processes,
        }
    }

    /// Submits an application, once per request id and submitting actor:
    /// a repeat returns the first application whatever else it contains.
    pub async fn submit(
        &self,
        caller: &Caller,
        draft: &SubmissionDraft,
    ) -> Result<Application, ApprovalError> {
        check_request_id(&draft.request_id)?;
        let own = caller.write_scope();
        if let Some(first) = self
            .repository
            .find_submission(&own, &caller.subject, &draft.request_id)
            .await?
        {
            return Ok(first);
        }
        let applicant_tenant = match &draft.applicant.tenant {
            Some((division, department)) if !division.is_empty() => {
                let tenant = TenantId::parse(division, department)
                    .map_err(|e| ApprovalError::invalid("applicant.tenant", e.to_string()))?;
                if tenant != caller.tenant {
                    return Err(tenant_mismatch(caller, &tenant));
                }
                tenant
            }
            _ => caller.tenant.clone(),
        };
        let item = self.item_to_apply_for(&own, &draft.item).await?;
        if item.state != ItemState::Active {
            return Err(ApprovalError::FailedPrecondition(format!(
                "service item {} is not accepting applications ({:?})",
                item.code.as_str(),
                item.state
            )));
        }
        let process = self.process_of(&item).await?;
        let now = Utc::now().trunc_subsecs(6);
        let acting = Acting::caller(caller, &draft.request_id, now);
        let (application, transitions) =
            Application::submit(&acting, applicant_tenant, &item, &process, draft)?;
        let audit = audit_trail::allowed(
            caller,
            "approval.application.submit",
            format!("application/{}", application.id),
        );
        match self
            .repository
            .insert(&application, &transitions, &audit)
            .await?
        {
            CreateOutcome::Created(()) => {
                tracing::info!(
                    application = %application.id,
                    item = item.code.as_str(),
                    applicant = %application.applicant.tenant,
                    "application submitted"
                );
                Ok(application)
            }
            CreateOutcome::AlreadyCreated(()) => self
                .repository
                .find_submission(&own, &caller.subject, &draft.request_id)
                .await?
                .ok_or_else(|| ApprovalError::Storage("a concurrent submission vanished".into())),
        }
    }

    /// The item named by id or by tenant and code, if the caller may apply
    /// for it: an item of another tenant that is not a data-access item is
    /// not found.
    async fn item_to_apply_for(
        &self,
        own: &TenantScope,
        selector: &ItemSelector,
    ) -> Result<ServiceItem, ApprovalError> {
        let (lookup, shown) = match selector {
            ItemSelector::Id(id) => {
                let uuid = Uuid::parse_str(id)
                    .map_err(|_| ApprovalError::invalid("service_item_id", "must be a UUID"))?;
                (ItemLookup::Id(uuid), id.clone())
            }
            ItemSelector::Key { tenant, code } => {
                let mut violations = Vec::new();
                let tenant = match tenant {
                    Some((division, department)) => TenantId::parse(division, department)
                        .map_err(|e| {
                            violations.push(("service_item_key.tenant".into(), e.to_string()))
                        })
                        .ok(),
                    None => {
                        violations.push(("service_item_key.tenant".into(), "is required".into()));
                        None
                    }
                };
                if let Err(problem) = super::service_item::ItemCode::parse(code) {
                    violations.push(("service_item_key.code".into(), problem));
                }
                let Some(tenant) = tenant.filter(|_| violations.is_empty()) else {
                    return Err(ApprovalError::Invalid(violations));
                };
                let shown = format!("{tenant}/{code}");
                (
                    ItemLookup::Key {
                        tenant,
                        code: code.clone(),
                    },
                    shown,
                )
            }
            ItemSelector::Missing => {
                return Err(ApprovalError::invalid(
                    "service_item_id",
                    "name the item by service_item_id or service_item_key",
                ));
            }
        };
        let item = self
            .items
            .find_for_submission(own, &lookup)
            .await?
            .ok_or(ApprovalError::ItemNotFound(shown))?;
        // The repository admits only these two; checked again because it
        // decides who may apply.
        if item.tenant != *own.own() && item.kind != ItemKind::DataAccess {
            return Err(ApprovalError::ItemNotFound(item.id.to_string()));
        }
        Ok(item)
    }

    /// The version an application of `item` runs on: the pinned one, or
    /// the latest; a deprecated one is refused.
    async fn process_of(&self, item: &ServiceItem) -> Result<ProcessDefinition, ApprovalError> {
        let Some(reference) = &item.process else {
            return Err(ApprovalError::FailedPrecondition(format!(
                "service item {} has no approving process",
                item.code.as_str()
            )));
        };
        let id = Uuid::parse_str(&reference.process_definition_id).map_err(|_| {
            ApprovalError::Storage(format!("item {} has a bad process id", item.id))
        })?;
        // The process belongs to the item, which the caller was admitted to.
        let handling = TenantScope::tenant(item.tenant.clone());
        let version = (reference.version > 0).then_some(reference.version);
        let process = self
            .processes
            .get(&handling, id, version)
            .await?
            .ok_or_else(|| {
                ApprovalError::FailedPrecondition(format!(
                    "the process of service item {} no longer exists",
                    item.code.as_str()
                ))
            })?;
        if process.state == ProcessState::Deprecated {
            return Err(ApprovalError::FailedPrecondition(format!(
                "version {} of process {} is deprecated; new applications cannot use it",
                process.version,
                process.key.as_str()
            )));
        }
        Ok(process)
    }

    /// An application the caller may see, with the start of its history.
    pub async fn get(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Application, Vec<HistoryEntry>), ApprovalError> {
        let application = self.visible(caller, "id", id).await?;
        let history = self
            .repository
            .history(&application, &PageQuery::first(HISTORY_IN_GET))
            .await?;
        Ok((application, history.items))
    }

    pub async fn list(
        &self,
        caller: &Caller,
        filter: &ApplicationFilter,
        page: &PageQuery,
    ) -> Result<Page<Application>, ApprovalError> {
        self.repository.list(&viewer(caller), filter, page).await
    }

    pub async fn history(
        &self,
        caller: &Caller,
        id: &str,
        page: &PageQuery,
    ) -> Result<Page<HistoryEntry>, ApprovalError> {
        let application = self.visible(caller, "application_id", id).await?;
        self.repository.history(&application, page).await
    }

    /// The caller's tasks in `statuses` (pending ones when empty).
    pub async fn my_tasks(
        &self,
        caller: &Caller,
        statuses: &[TaskStatus],
        page: &PageQuery,
    ) -> Result<Page<(Task, Application)>, ApprovalError> {
        let statuses = if statuses.is_empty() {
            vec![TaskStatus::Pending]
        } else {
            statuses.to_vec()
        };
        let holder = TaskHolder {
            scope: caller.write_scope(),
            roles: caller.roles.iter().copied().collect(),
            subject: caller.subject.clone(),
        };
        self.repository.tasks_of(&holder, &statuses, page).await
    }

    /// The application `id` (a request's `field`), if the caller may see it.
    pub(super) async fn visible(
        &self,
        caller: &Caller,
        field: &str,
        id: &str,
    ) -> Result<Application, ApprovalError> {
        let uuid =
            Uuid::parse_str(id).map_err(|_| ApprovalError::invalid(field, "must be a UUID"))?;
        self.repository
            .load(&viewer(caller), uuid)
            .await?
            .ok_or_else(|| ApprovalError::ApplicationNotFound(id.to_string()))
    }
}

fn viewer(caller: &Caller) -> Viewer {
    Viewer {
        scope: caller.read_scope(),
        subject: caller.subject.clone(),
    }
}
