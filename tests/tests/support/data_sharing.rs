//! S1's data-sharing set-up, shared by the scenarios that need a grant:
//! the data bureau's joint review, civil affairs' marriage dataset, and
//! approving the housing-fund centre's request. It runs against anything
//! [`Reachable`]: the in-process [`Mesh`] of most scenarios, or `zhongtai
//! serve` processes found through etcd.

use prost_types::Duration as ProtoDuration;
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_contracts::catalog::v1 as catalog;
use zhongtai_contracts::catalog::v1::catalog_service_client::CatalogServiceClient;
use zhongtai_contracts::common::v1::{MaskingKind, MaskingRule, Tenant};
use zhongtai_kit::Role;
use zhongtai_mesh::MeshChannel;
use zhongtai_scenarios::Security;

use super::{Mesh, with_token};

/// A running platform the set-up can call, with the security material its
/// services trust.
pub trait Reachable {
    fn channel(&self, service: &str) -> MeshChannel;
    fn security(&self) -> &Security;
}

impl Reachable for Mesh {
    fn channel(&self, service: &str) -> MeshChannel {
        Mesh::channel(self, service)
    }

    fn security(&self) -> &Security {
        &self.security
    }
}

pub const CIVIL_AFFAIRS: &str = "331100/civil-affairs";
pub const DATA_BUREAU: &str = "331100/data-bureau";
pub const HOUSING_FUND: &str = "331100/housing-fund";

pub fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap();
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn approval_client(mesh: &impl Reachable) -> ApprovalServiceClient<MeshChannel> {
    ApprovalServiceClient::new(mesh.channel("approval"))
}

pub fn catalog_client(mesh: &impl Reachable) -> CatalogServiceClient<MeshChannel> {
    CatalogServiceClient::new(mesh.channel("catalog"))
}

/// The data bureau's one-off set-up: a joint review by the resource's owner
/// (bound per request) and the bureau itself, behind a data-access item.
pub async fn set_up_data_access_review(mesh: &impl Reachable) {
    set_up_data_access_review_of(mesh, DATA_BUREAU).await;
}

/// The same review, set up by the data bureau `bureau` (a tenant key) for
/// the resources of its division.
pub async fn set_up_data_access_review_of(mesh: &impl Reachable, bureau: &str) {
    let token = mesh.security().token(bureau, &[Role::Operator]);
    let mut approval = approval_client(mesh);
    let process = approval
        .create_process_definition(with_token(
            approval::CreateProcessDefinitionRequest {
                request_id: request_id(),
                key: "data-access-review".into(),
                name: "数据共享审批".into(),
                stages: vec![approval::StageDefinition {
                    key: "joint-review".into(),
                    name: "联合审核".into(),
                    kind: approval::StageKind::Joint as i32,
                    assignees: vec![
                        approval::Assignee {
                            target: Some(approval::assignee::Target::Slot("owner".into())),
                        },
                        approval::Assignee {
                            target: Some(approval::assignee::Target::DepartmentRole(
                                approval::DepartmentRole {
                                    tenant: Some(tenant(bureau)),
                                    role: "approver".into(),
                                },
                            )),
                        },
                    ],
                    sla: Some(approval::StageSla {
                        duration: Some(ProtoDuration {
                            seconds: 5 * 24 * 3600,
                            nanos: 0,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    approval
        .create_service_item(with_token(
            approval::CreateServiceItemRequest {
                request_id: request_id(),
                code: "data-access".into(),
                name: "数据共享申请".into(),
                kind: approval::ServiceItemKind::DataAccess as i32,
                process: Some(approval::ProcessRef {
                    process_definition_id: process.id,
                    version: 0,
                }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap();
}

pub fn field(
    name: &str,
    title: &str,
    sensitivity: catalog::SensitivityLevel,
) -> catalog::ResourceField {
    catalog::ResourceField {
        name: name.into(),
        title: title.into(),
        r#type: catalog::FieldType::String as i32,
        sensitivity: sensitivity as i32,
        ..Default::default()
    }
}

pub fn keep_last(n: i32) -> MaskingRule {
    MaskingRule {
        kind: MaskingKind::Partial as i32,
        keep_last: n,
        ..Default::default()
    }
}

pub async fn register_marriage_data(mesh: &impl Reachable) -> catalog::Resource {
    use catalog::SensitivityLevel::{HighlySensitive, Internal, Sensitive};
    let token = mesh.security().token(CIVIL_AFFAIRS, &[Role::Operator]);
    let mut id_number = field("husband_id_number", "男方身份证号", HighlySensitive);
    id_number.default_masking = Some(keep_last(4));
    let mut registration_id = field("registration_id", "登记编号", Internal);
    registration_id.primary_key = true;
    catalog_client(mesh)
        .register_resource(with_token(
            catalog::RegisterResourceRequest {
                request_id: request_id(),
                resource: Some(catalog::Resource {
                    code: "marriage-registration".into(),
                    title: "婚姻登记信息".into(),
                    description: "民政部门办理的结婚、离婚登记记录".into(),
                    fields: vec![
                        registration_id,
                        field("husband_name", "男方姓名", Sensitive),
                        id_number,
                        field("registration_date", "登记日期", Internal),
                    ],
                    layer: catalog::ResourceLayer::Base as i32,
                    sharing: catalog::SharingAttribute::Conditional as i32,
                    sharing_conditions: "仅用于法定职责".into(),
                    open: catalog::OpenAttribute::Closed as i32,
                    update_frequency: catalog::UpdateFrequency::RealTime as i32,
                    source_table: "public.marriage_registration".into(),
                    tags: vec!["民政".into()],
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap()
}

/// The caller's one pending task in `application_id`.
pub async fn my_task(mesh: &impl Reachable, token: &str, application_id: &str) -> String {
    let tasks = approval_client(mesh)
        .list_my_tasks(with_token(approval::ListMyTasksRequest::default(), token))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    let mine: Vec<_> = tasks
        .into_iter()
        .filter(|t| {
            t.task
                .as_ref()
                .is_some_and(|task| task.application_id == application_id)
        })
        .collect();
    assert_eq!(mine.len(), 1, "exactly one pending task: {mine:#?}");
    mine[0].task.as_ref().unwrap().id.clone()
}

pub async fn approve(mesh: &impl Reachable, token: &str, application_id: &str) {
    let task_id = my_task(mesh, token, application_id).await;
    approval_client(mesh)
        .approve_application(with_token(
            approval::ApproveApplicationRequest {
                request_id: request_id(),
                application_id: application_id.into(),
                task_id,
                comment: "同意".into(),
            },
            token,
        ))
        .await
        .unwrap();
}

/// Requests `fields` (masking as the owner defaults) of `resource_id` for
/// the caller of `requester` (a token), rows per `row_filter`, for a year;
/// the data bureau and `owner` (a tenant key) approve it jointly. Returns
/// the grant id once the catalog has approved the request.
pub async fn grant_access(
    mesh: &impl Reachable,
    requester: &str,
    owner: &str,
    resource_id: &str,
    fields: &[&str],
    row_filter: Option<zhongtai_contracts::common::v1::RowFilter>,
) -> String {
    let requested = request_access(mesh, requester, resource_id, fields, row_filter).await;
    let application_id = requested.application_id.clone();
    approve(
        mesh,
        &mesh
            .security()
            .token(&data_bureau_of(owner), &[Role::Approver]),
        &application_id,
    )
    .await;
    approve(
        mesh,
        &mesh.security().token(owner, &[Role::Approver]),
        &application_id,
    )
    .await;
    granted(mesh, requester, &requested.id).await
}

/// Asks for `fields` (masking as the owner defaults) of `resource_id` for
/// the caller of `requester` (a token), rows per `row_filter`, for a year.
pub async fn request_access(
    mesh: &impl Reachable,
    requester: &str,
    resource_id: &str,
    fields: &[&str],
    row_filter: Option<zhongtai_contracts::common::v1::RowFilter>,
) -> catalog::AccessRequest {
    let now = chrono::Utc::now().timestamp();
    catalog_client(mesh)
        .request_access(with_token(
            catalog::RequestAccessRequest {
                request_id: request_id(),
                resource_id: resource_id.into(),
                fields: fields
                    .iter()
                    .map(|name| zhongtai_contracts::common::v1::FieldAccess {
                        field: (*name).into(),
                        masking: None,
                    })
                    .collect(),
                purpose: "provident-fund loan".into(),
                period: Some(zhongtai_contracts::common::v1::Period {
                    start_time: None,
                    end_time: Some(prost_types::Timestamp {
                        seconds: now + 365 * 24 * 3600,
                        nanos: 0,
                    }),
                }),
                row_filter,
                ..Default::default()
            },
            requester,
        ))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap()
}

/// The grant id of access request `request_id`, once the catalog has
/// approved it (it hears of the approval as an event).
pub async fn granted(mesh: &impl Reachable, requester: &str, request_id: &str) -> String {
    zhongtai_testkit::eventually(
        std::time::Duration::from_secs(30),
        "access request approved",
        || {
            let mut client = catalog_client(mesh);
            let request = with_token(
                catalog::GetAccessRequestRequest {
                    id: request_id.to_string(),
                },
                requester,
            );
            async move {
                let access = client
                    .get_access_request(request)
                    .await
                    .ok()?
                    .into_inner()
                    .access_request?;
                (access.state() == catalog::AccessRequestState::Approved
                    && !access.grant_id.is_empty())
                .then_some(access.grant_id)
            }
        },
    )
    .await
}

/// Registers a resource of `owner` (a tenant key) with text `fields`, the
/// first of them its primary key, read from `source_table`.
pub async fn register_resource(
    mesh: &impl Reachable,
    owner: &str,
    code: &str,
    title: &str,
    fields: &[(&str, &str)],
    source_table: &str,
) -> catalog::Resource {
    let token = mesh.security().token(owner, &[Role::Operator]);
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, (name, title))| {
            let mut field = field(name, title, catalog::SensitivityLevel::Internal);
            field.primary_key = i == 0;
            field
        })
        .collect();
    catalog_client(mesh)
        .register_resource(with_token(
            catalog::RegisterResourceRequest {
                request_id: request_id(),
                resource: Some(catalog::Resource {
                    code: code.into(),
                    title: title.into(),
                    description: format!("{title}（测试数据）"),
                    fields,
                    layer: catalog::ResourceLayer::Base as i32,
                    sharing: catalog::SharingAttribute::Conditional as i32,
                    sharing_conditions: "仅用于法定职责".into(),
                    open: catalog::OpenAttribute::Closed as i32,
                    update_frequency: catalog::UpdateFrequency::RealTime as i32,
                    source_table: source_table.into(),
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap()
}

/// The data bureau of `owner`'s division, which reviews its resources.
pub fn data_bureau_of(owner: &str) -> String {
    let division = owner
        .split_once('/')
        .map_or(owner, |(division, _)| division);
    format!("{division}/data-bureau")
}
