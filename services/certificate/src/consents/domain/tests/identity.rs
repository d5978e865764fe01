use super::*;
use crate::consents::domain::identity::{Parties, actor_of, caller_app_id};
use crate::shared::CertificateError;
use zhongtai_kit::ActorKind;

fn parties() -> Parties {
    Parties::new(Some(tenant(PLATFORM)))
}

#[test]
fn apps_are_callers_with_an_app_subject() {
    let app = caller("app:home-service", "331100/home-service", &[Role::Operator]);
    assert_eq!(caller_app_id(&app), Some("home-service"));
    assert_eq!(actor_of(&app).kind, ActorKind::App);
    for subject in ["app:", "home-service", "person:resident-id-card:1"] {
        let other = caller(subject, "331100", &[Role::Operator]);
        assert_eq!(caller_app_id(&other), None, "{subject}");
        assert_eq!(actor_of(&other).kind, ActorKind::User);
    }
}

#[test]
fn each_party_is_exactly_who_the_rules_say() {
    let consent = pending();
    let parties = parties();
    let custodian_admin = caller("hr-admin", CUSTODIAN, &[Role::Admin]);
    let custodian_operator = caller("hr-op", CUSTODIAN, &[Role::Operator]);
    let other_admin = caller("x-admin", "331100/health", &[Role::Admin]);
    let division_admin = caller("city-admin", "331100", &[Role::Admin]);
    let platform_admin = caller("p-admin", PLATFORM, &[Role::Admin]);
    let platform_viewer = caller("p-viewer", PLATFORM, &[Role::Viewer]);
    let holder = citizen(NANNY_ID);
    let stranger = citizen("331102199202023456");
    let app = caller("app:home-service", "331100/home-service", &[Role::Operator]);

    let may = |who: &Caller, party| parties.may_act_for(who, party, &consent);
    assert!(may(&custodian_admin, Party::Custodian));
    for who in [
        &custodian_operator,
        &other_admin,
        &division_admin,
        &platform_admin,
        &holder,
        &app,
    ] {
        assert!(!may(who, Party::Custodian), "{}", who.subject);
    }
    assert!(may(&platform_admin, Party::Platform));
    for who in [&platform_viewer, &custodian_admin, &holder, &app] {
        assert!(!may(who, Party::Platform), "{}", who.subject);
    }
    assert!(may(&holder, Party::Holder));
    for who in [&stranger, &custodian_admin, &platform_admin, &app] {
        assert!(!may(who, Party::Holder), "{}", who.subject);
    }
    let refused = parties.require(&custodian_admin, Party::Holder, &consent);
    assert!(matches!(
        refused,
        Err(CertificateError::Denied {
            reason: "NOT_CONSENT_PARTY",
            ..
        })
    ));
}

#[test]
fn without_a_usable_platform_tenant_nobody_is_the_platform() {
    let parties = Parties::new(None);
    let admin = caller("p-admin", PLATFORM, &[Role::Admin]);
    assert!(!parties.may_act_for(&admin, Party::Platform, &pending()));
}

#[test]
fn the_parties_and_the_app_see_a_consent_and_nobody_else() {
    let consent = pending();
    let parties = parties();
    let sees = |who: &Caller| parties.viewer(who).sees(&consent);
    assert!(sees(&caller("hr-admin", CUSTODIAN, &[Role::Admin])));
    assert!(sees(&caller("p-admin", PLATFORM, &[Role::Admin])));
    assert!(sees(&citizen(NANNY_ID)));
    assert!(sees(&caller(
        "app:home-service",
        "331100/home-service",
        &[Role::Operator]
    )));
    assert!(!sees(&caller("hr-op", CUSTODIAN, &[Role::Operator])));
    assert!(!sees(&caller("x-admin", "331100/health", &[Role::Admin])));
    assert!(!sees(&citizen("331102199202023456")));
    assert!(!sees(&caller(
        "app:other",
        "331100/home-service",
        &[Role::Operator]
    )));
}
