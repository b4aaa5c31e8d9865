use crate::support::*;
use provisio_engine::model::EnvironmentType;

#[tokio::test]
async fn environment_type_is_unset_on_a_new_installation_and_blocks_runs() {
    let f = fresh().await;
    assert_eq!(f.engine.settings().await.unwrap().environment_type, None);
    let e = f.engine.require_environment().await.unwrap_err();
    assert!(matches!(
        e.remedy(),
        Some(provisio_engine::error::Remedy::SetSetting { key, .. }) if key == "environment_type"
    ));
    let e = message(e);
    assert!(e.contains("environment_type") && e.contains("is not set"), "{e}");
}

#[tokio::test]
async fn settings_are_saved_and_survive_a_reopen() {
    let f = fresh().await;
    f.engine
        .set_settings(&[
            ("environment_type".into(), "prod".into()),
            ("cache_clear_hours".into(), "12,6".into()),
            ("workers".into(), "2".into()),
        ])
        .await
        .unwrap();
    let reopened = provisio_engine::Engine::open(f.engine.data_dir()).await.unwrap();
    let s = reopened.settings().await.unwrap();
    assert_eq!(s.environment_type, Some(EnvironmentType::Prod));
    assert_eq!(s.cache_clear_hours, vec![6, 12]);
    assert_eq!(s.workers, 2);
    assert_eq!(
        reopened.require_environment().await.unwrap(),
        EnvironmentType::Prod
    );
}

#[tokio::test]
async fn bad_settings_are_refused_with_what_to_write_and_nothing_changes() {
    let f = fresh().await;
    let cases = [
        ("environment_type", "staging", "use one of test, prod, demo, dev"),
        ("cache_clear_hours", "25", "0–23"),
        ("workers", "0", "from 1 to 64"),
        ("colour", "blue", "is not a setting"),
    ];
    for (key, value, expected) in cases {
        let e = message(
            f.engine
                .set_settings(&[(key.into(), value.into())])
                .await
                .unwrap_err(),
        );
        assert!(e.contains(expected), "{key}={value}: {e}");
    }
    // A valid change next to an invalid one is not applied either.
    let _ = f
        .engine
        .set_settings(&[("workers".into(), "3".into()), ("workers".into(), "x".into())])
        .await
        .unwrap_err();
    assert_eq!(f.engine.settings().await.unwrap().workers, 4);
}
