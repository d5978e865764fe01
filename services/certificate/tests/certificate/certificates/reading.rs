//! Reading certificates: the holder and the issuing department's readers
//! see them, nobody else; QR images on request; lists filtered and paged.

use tonic::Code;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::{Caller, Role};

use super::violations;
use crate::support::*;

const NANNY: &str = "33110019900101123X";

async fn get(
    h: &Harness,
    caller: &Caller,
    request: pb::GetCertificateRequest,
) -> Result<pb::GetCertificateResponse, tonic::Status> {
    Ok(h.api
        .get_certificate(by(caller, request))
        .await?
        .into_inner())
}

async fn list(
    h: &Harness,
    caller: &Caller,
    request: pb::ListCertificatesRequest,
) -> Result<Vec<pb::Certificate>, tonic::Status> {
    Ok(h.api
        .list_certificates(by(caller, request))
        .await?
        .into_inner()
        .certificates)
}

fn by_id(id: &str) -> pb::GetCertificateRequest {
    pb::GetCertificateRequest {
        id: id.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_holder_and_the_issuers_readers_get_a_certificate_others_do_not() {
    let h = Harness::postgres().await;
    let certificate = issue_health_certificate(&h, NANNY, "李娟").await;
    for reader in [
        citizen(NANNY),
        staff("clerk", HEALTH, &[Role::Viewer]),
        issuer_operator(HEALTH),
    ] {
        let got = get(&h, &reader, by_id(&certificate.id)).await.unwrap();
        assert_eq!(
            got.certificate.unwrap().token,
            certificate.token,
            "{reader:?}"
        );
    }
    for stranger in [
        citizen("330102199001011234"),
        staff("clerk", MARKET, &[Role::Viewer]),
    ] {
        let refused = get(&h, &stranger, by_id(&certificate.id))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{stranger:?}");
    }
    let refused = get(&h, &citizen(NANNY), by_id("nope")).await.unwrap_err();
    assert_eq!(violations(&refused), ["id"]);
}

#[tokio::test]
async fn a_qr_image_is_rendered_on_request() {
    let h = Harness::postgres().await;
    let certificate = issue_health_certificate(&h, NANNY, "李娟").await;
    let holder = citizen(NANNY);
    let plain = get(&h, &holder, by_id(&certificate.id)).await.unwrap();
    assert!(plain.qr_image.is_none());
    let png = get(
        &h,
        &holder,
        pb::GetCertificateRequest {
            id: certificate.id.clone(),
            qr_image_format: pb::QrImageFormat::Png as i32,
            qr_image_size: 0,
        },
    )
    .await
    .unwrap()
    .qr_image
    .unwrap();
    assert_eq!(png.size, 512);
    assert!(png.data.starts_with(b"\x89PNG"));
    let svg = get(
        &h,
        &holder,
        pb::GetCertificateRequest {
            id: certificate.id.clone(),
            qr_image_format: pb::QrImageFormat::Svg as i32,
            qr_image_size: 1024,
        },
    )
    .await
    .unwrap()
    .qr_image
    .unwrap();
    assert!(String::from_utf8(svg.data).unwrap().starts_with("<svg"));
    for size in [63, 2049, -1] {
        let refused = get(
            &h,
            &holder,
            pb::GetCertificateRequest {
                id: certificate.id.clone(),
                qr_image_format: pb::QrImageFormat::Png as i32,
                qr_image_size: size,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(violations(&refused), ["qr_image_size"], "{size}");
    }
}

#[tokio::test]
async fn holders_list_their_own_and_staff_their_departments() {
    let h = Harness::postgres().await;
    let nanny_health = issue_health_certificate(&h, NANNY, "李娟").await;
    let other_health = issue_health_certificate(&h, "330102199001011234", "王芳").await;
    let licence = issue_licence(&h).await;
    revoke(&h, HEALTH, &other_health.id, "复检不合格").await;

    let own = list(&h, &citizen(NANNY), pb::ListCertificatesRequest::default())
        .await
        .unwrap();
    assert_eq!(
        own.iter().map(|c| &c.id).collect::<Vec<_>>(),
        [&nanny_health.id]
    );
    let someone_else = list(
        &h,
        &citizen(NANNY),
        pb::ListCertificatesRequest {
            holder: Some(person("王芳", "330102199001011234")),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(someone_else.code(), Code::PermissionDenied);

    let clerk = staff("clerk", HEALTH, &[Role::Viewer]);
    let department = list(&h, &clerk, pb::ListCertificatesRequest::default())
        .await
        .unwrap();
    assert_eq!(
        department.iter().map(|c| &c.id).collect::<Vec<_>>(),
        [&other_health.id, &nanny_health.id],
        "newest first, only the department's"
    );
    let revoked = list(
        &h,
        &clerk,
        pb::ListCertificatesRequest {
            statuses: vec![pb::CertificateStatus::Revoked as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].id, other_health.id);
    let by_holder = list(
        &h,
        &clerk,
        pb::ListCertificatesRequest {
            holder: Some(person("李娟", NANNY)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_holder.len(), 1);
    let market = list(
        &h,
        &staff("clerk", MARKET, &[Role::Viewer]),
        pb::ListCertificatesRequest {
            certificate_type: "business-licence".into(),
            issuer_id: licence.issuer_id.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(market.len(), 1);
    let company = list(
        &h,
        &staff("clerk", HEALTH, &[Role::Viewer]),
        pb::ListCertificatesRequest {
            holder: Some(organization(COMPANY, COMPANY_CREDIT_CODE)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        company.is_empty(),
        "a holder filter does not widen the scope"
    );

    let refused = list(
        &h,
        &clerk,
        pb::ListCertificatesRequest {
            issuer_id: "x".into(),
            statuses: vec![99],
            holder: Some(common::Holder::default()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violations(&refused), ["issuer_id", "statuses[0]"]);
}

#[tokio::test]
async fn lists_page_newest_first() {
    let h = Harness::postgres().await;
    let mut issued = Vec::new();
    for n in 0..5 {
        issued.push(
            issue_health_certificate(&h, NANNY, &format!("李娟{n}"))
                .await
                .id,
        );
    }
    issued.reverse();
    let clerk = staff("clerk", HEALTH, &[Role::Viewer]);
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = h
            .api
            .list_certificates(by(
                &clerk,
                pb::ListCertificatesRequest {
                    page: Some(common::PageRequest {
                        page_size: 2,
                        page_token: token.clone(),
                    }),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.certificates.into_iter().map(|c| c.id));
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, issued);
}
